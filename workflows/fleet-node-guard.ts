import { ApplicationFailure, isCancellation } from '@temporalio/workflow';
import { FailureType } from '../common/failures.js';
import type { NodeError } from '../common/fleet-reports.js';
import { asCloneFailure } from './clone-failure.js';
import { whileNodeHasWorker } from './node-watch.js';

// A fleet run works on many nodes at once, and one node's trouble must end as that node's
// entry in the report, never as the run's failure. A node without a worker would leave its
// steps waiting on its queue forever, so each node's steps run under the clone's node watch.

/** Runs one named step, turning its failure into a typed one that names the step and node. */
export type StepRunner = <T>(step: string, run: () => Promise<T>) => Promise<T>;

/**
 * Runs `steps` on `node` and returns undefined, or the error that stopped them. The node is
 * given up, and its steps cancelled, once its queue has had no poller for `timeoutSeconds`.
 * A cancellation of the whole run is passed on, not reported.
 */
export async function runOnNode(
  node: string,
  timeoutSeconds: number,
  steps: (step: StepRunner) => Promise<void>
): Promise<NodeError | undefined> {
  const step: StepRunner = async (name, run) => {
    try {
      return await run();
    } catch (error) {
      throw asCloneFailure(error, name, node);
    }
  };

  try {
    await whileNodeHasWorker(node, timeoutSeconds, () => steps(step));
    return undefined;
  } catch (error) {
    if (isCancellation(error)) throw error;
    return nodeErrorOf(error);
  }
}

/** The report form of a step's failure. */
export function nodeErrorOf(error: unknown): NodeError {
  if (error instanceof ApplicationFailure) {
    return { type: error.type ?? FailureType.CocoonFailed, message: error.message };
  }
  return { type: FailureType.CocoonFailed, message: (error as Error)?.message ?? String(error) };
}
