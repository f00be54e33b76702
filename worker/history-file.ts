import { readFile } from 'node:fs/promises';
import type { HistoryAndWorkflowId } from '@temporalio/client';
import proto from '@temporalio/proto';

// A clone history saved to a file, to replay later: the workflow id and the history as a
// protobufjs plain object (enums by name, 64-bit numbers and bytes as strings), readable in
// review and read back by the same generated code that wrote it. The SDK's proto3-JSON helpers
// are not used: they break when npm installs two copies of protobufjs, as it does beside grpc-js.

const History = proto.temporal.api.history.v1.History;
const OBJECT_OPTIONS = { longs: String, enums: String, bytes: String, defaults: false };

/** A history file that cannot be read as one; `path` names it. */
export class HistoryFileError extends Error {
  override readonly name = 'HistoryFileError';

  constructor(
    readonly path: string,
    message: string
  ) {
    super(message);
  }
}

export function historyFileContent(
  workflowId: string,
  history: proto.temporal.api.history.v1.IHistory
): string {
  const saved = {
    workflowId,
    savedAt: new Date().toISOString(),
    history: History.toObject(History.fromObject(history), OBJECT_OPTIONS),
  };
  return `${JSON.stringify(saved, null, 1)}\n`;
}

export async function readHistoryFile(path: string): Promise<HistoryAndWorkflowId> {
  let saved: { workflowId?: unknown; history?: unknown };
  try {
    saved = JSON.parse(await readFile(path, 'utf8')) as typeof saved;
  } catch (error) {
    throw new HistoryFileError(
      path,
      `cannot read history file ${path}: ${(error as Error).message}`
    );
  }
  if (typeof saved.workflowId !== 'string' || typeof saved.history !== 'object') {
    throw new HistoryFileError(
      path,
      `${path} is not a saved clone history: it needs a workflowId and a history`
    );
  }
  return {
    workflowId: saved.workflowId,
    history: History.fromObject(saved.history as Record<string, unknown>),
  };
}
