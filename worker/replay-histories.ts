import type { HistoryAndWorkflowId } from '@temporalio/client';
import { Worker, type ReplayResult, type ReplayWorkerOptions } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { workflowSource } from './workflow-bundle.js';

// Replays recorded clone histories against the workflow code of this build. A history that no
// longer replays means running clones would break on a deploy of this code: their next
// workflow task would fail with a nondeterminism error.

export interface ReplayVerdict {
  workflowId: string;
  runId: string;
  /** `nondeterminism` when the code issues other commands than the history recorded. */
  outcome: 'ok' | 'nondeterminism' | 'error';
  message?: string;
}

/** Replays each history in turn, calling `onVerdict` as each one is decided. */
export async function replayHistories(
  histories: AsyncIterable<HistoryAndWorkflowId> | Iterable<HistoryAndWorkflowId>,
  onVerdict: (verdict: ReplayVerdict) => void,
  /** The workflow code to replay against: this build's unless a test swaps it. */
  workflows: ReplayWorkerOptions = workflowSource()
): Promise<ReplayVerdict[]> {
  const verdicts: ReplayVerdict[] = [];
  const results = Worker.runReplayHistories(workflows, histories);

  for await (const result of results) {
    const verdict = verdictOf(result);
    verdicts.push(verdict);
    onVerdict(verdict);
  }
  return verdicts;
}

function verdictOf(result: ReplayResult): ReplayVerdict {
  const { workflowId, runId, error } = result;
  if (!error) return { workflowId, runId, outcome: 'ok' };
  return {
    workflowId,
    runId,
    outcome: error instanceof DeterminismViolationError ? 'nondeterminism' : 'error',
    message: error.message,
  };
}

/** One line per history, for terminals and CI logs. */
export function formatVerdict(verdict: ReplayVerdict): string {
  const head = `${verdict.outcome.padEnd(14)} ${verdict.workflowId} ${verdict.runId}`;
  return verdict.message ? `${head}: ${verdict.message}` : head;
}
