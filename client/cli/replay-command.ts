import type { HistoryAndWorkflowId } from '@temporalio/client';
import { loadSettings } from '../../common/config/load-settings.js';
import { readHistoryFile } from '../../worker/history-file.js';
import { formatVerdict, replayHistories } from '../../worker/replay-histories.js';
import { CloneClient } from '../clone-client.js';
import { cloneVisibilityQuery } from '../clone-query.js';
import { UsageError } from './cli-error.js';
import { FILTER_OPTIONS, filterFrom } from './filter-options.js';
import { connectionFlags, CONNECTION_OPTIONS, parseCommand, stringValue } from './options.js';

const REPLAY_OPTIONS = {
  ...CONNECTION_OPTIONS,
  ...FILTER_OPTIONS,
  'workflow-id': { type: 'string' },
  'run-id': { type: 'string' },
  file: { type: 'string', multiple: true },
} as const;

/**
 * `cocoon-flow replay --workflow-id ID | --file F… | [filters]`: replays clone histories against
 * this build's workflow code, one line per history. Exits 1 if any does not replay.
 */
export async function runReplayCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, REPLAY_OPTIONS);
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);

  const files = values.file as string[] | undefined;
  if (files !== undefined) return replayAndReport(await Promise.all(files.map(readHistoryFile)));

  const settings = loadSettings(connectionFlags(values));
  const client = await CloneClient.connect(settings.temporal);
  try {
    const workflowId = stringValue(values['workflow-id']);
    if (workflowId !== undefined) {
      const handle = client.client.workflow.getHandle(workflowId, stringValue(values['run-id']));
      return await replayAndReport([{ workflowId, history: await handle.fetchHistory() }]);
    }
    const query = cloneVisibilityQuery(filterFrom(values));
    return await replayAndReport(client.client.workflow.list({ query }).intoHistories());
  } finally {
    await client.close();
  }
}

async function replayAndReport(
  histories: AsyncIterable<HistoryAndWorkflowId> | Iterable<HistoryAndWorkflowId>
): Promise<number> {
  const verdicts = await replayHistories(histories, (verdict) =>
    process.stdout.write(`${formatVerdict(verdict)}\n`)
  );
  if (verdicts.length === 0) process.stdout.write('no history matched\n');
  return verdicts.every((verdict) => verdict.outcome === 'ok') ? 0 : 1;
}
