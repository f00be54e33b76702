import {
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  patched,
  sleep,
} from '@temporalio/workflow';
import { FailureType } from '../common/failures.js';
import { watchActivities } from './activity-options.js';
import { cloneFailure, failureTypeOf } from './clone-failure.js';

// Runs that began before this change scheduled the watch at once; they replay that way.
const LATE_WATCH_PATCH = 'node-watch-starts-late';

/**
 * Runs steps on a node while watching that the node still has a worker. When no worker has
 * polled the node's queue for `timeoutSeconds`, the steps are cancelled and this fails with
 * NodeUnavailable instead of waiting forever on a queue nobody serves.
 *
 * The watch starts only after a short wait: most clones on a warm node finish within it, and
 * skipping the watch activity saves each of them an activity's dispatch and the server's work
 * for it. A lost node is still declared after the timeout, plus at most that wait.
 */
export async function whileNodeHasWorker<T>(
  node: string,
  timeoutSeconds: number,
  steps: () => Promise<T>
): Promise<T> {
  const watchScope = new CancellationScope();
  const stepsScope = new CancellationScope();

  const work = stepsScope.run(steps);
  // The watch decides only one thing: that the node is gone. Cancelled or ended any other way
  // it decides nothing, and the caller goes on waiting for its steps, so a cancelled clone
  // still waits for its pull to stop and its restore to be undone.
  const startsLate = patched(LATE_WATCH_PATCH);
  const nodeLost = watchScope
    .run(async () => {
      if (startsLate) await sleep(watchDelayMs(timeoutSeconds));
      await watchActivities().watchNodeWorker.executeWithOptions(
        { summary: `watch that ${node} has a worker` },
        [{ node, timeoutSeconds }]
      );
    })
    .then(
      () => new Promise<never>(() => undefined),
      (error: unknown) => {
        const lost = asNodeLoss(error, node);
        if (lost) throw lost;
        return new Promise<never>(() => undefined);
      }
    );
  // Whichever loses the race is settled here so that its rejection is never unhandled.
  work.catch(() => undefined);
  nodeLost.catch(() => undefined);

  try {
    return await Promise.race([work, nodeLost]);
  } catch (error) {
    if (failureTypeOf(error) === FailureType.NodeUnavailable) stepsScope.cancel();
    throw error;
  } finally {
    watchScope.cancel();
  }
}

function asNodeLoss(error: unknown, node: string): ApplicationFailure | undefined {
  if (isCancellation(error)) return undefined;
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof ApplicationFailure && cause.type === FailureType.NodeUnavailable) {
    return cloneFailure(FailureType.NodeUnavailable, cause.message, { node });
  }
  return undefined;
}

// Five seconds covers a fast-path clone several times over; a short node timeout (tests, an
// impatient caller) gets a share of it so the verdict is not delayed much past the timeout.
function watchDelayMs(timeoutSeconds: number): number {
  return Math.min(5_000, (timeoutSeconds * 1000) / 2);
}
