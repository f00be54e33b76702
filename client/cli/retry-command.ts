import { loadSettings } from '../../common/config/load-settings.js';
import { cloneWorkflowId } from '../../common/names.js';
import { describeProblems, validateCloneRequest } from '../../common/request.js';
import { CloneClient } from '../clone-client.js';
import { retryClones } from '../clone-operations.js';
import { cloneVisibilityQuery } from '../clone-query.js';
import { UsageError } from './cli-error.js';
import { FILTER_OPTIONS, filterFrom } from './filter-options.js';
import { connectionFlags, CONNECTION_OPTIONS, parseCommand, stringValue } from './options.js';

const RETRY_OPTIONS = {
  ...CONNECTION_OPTIONS,
  ...FILTER_OPTIONS,
  'request-id': { type: 'string' },
} as const;

/**
 * `cocoon-flow retry VM [--node N] [--request-id ID]`, or `cocoon-flow retry --outcome failed
 * [filters]`: starts failed clones again. Exits 1 when a clone could not be started again.
 */
export async function runRetryCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, RETRY_OPTIONS);
  if (positionals.length > 1)
    throw new UsageError(`accepts at most 1 arg(s), received ${positionals.length}`);
  const settings = loadSettings({ ...connectionFlags(values), node: stringValue(values.node) });
  const query = retryQuery(values, positionals[0], settings.node);

  const client = await CloneClient.connect(settings.temporal);
  try {
    const verdicts = await retryClones(client.client, query);
    if (verdicts.length === 0) process.stdout.write('no clone matched\n');
    for (const verdict of verdicts) {
      process.stdout.write(
        verdict.retried
          ? `retried  ${verdict.workflowId} as run ${verdict.runId}\n`
          : `skipped  ${verdict.workflowId}: ${verdict.reason}\n`
      );
    }
    return 0;
  } finally {
    await client.close();
  }
}

// One VM names one clone by its workflow id; otherwise the filters select failed clones.
function retryQuery(
  values: Record<string, unknown>,
  vmName: string | undefined,
  node: string | undefined
): string {
  if (vmName === undefined) {
    const filter = filterFrom(values);
    return cloneVisibilityQuery({ ...filter, node, outcome: filter.outcome ?? 'failed' });
  }
  if (!node) throw new UsageError('no node: pass --node or set "node" in the config file');
  const requestId = stringValue(values['request-id']);
  // Names are checked as a clone request checks them before they go into the query.
  const names = validateCloneRequest({ node, vmName, snapshot: 'any', requestId });
  if (!names.ok) throw new UsageError(describeProblems(names.problems));
  const id = cloneWorkflowId(node, vmName, requestId);
  return cloneVisibilityQuery({ node, query: `WorkflowId = '${id}'` });
}
