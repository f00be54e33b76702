import {
  ActivityFailure,
  ApplicationFailure,
  isCancellation,
  TimeoutFailure,
} from '@temporalio/workflow';
import { FailureType } from '../common/failures.js';

// An activity's typed failure arrives wrapped in an ActivityFailure. The clone re-raises it as
// its own ApplicationFailure with the same type, so a caller reads the type straight off the
// workflow's failure, and the message already says which step on which node.

/** The typed failure for an error of one step, or the error itself if it is a cancellation. */
export function asCloneFailure(error: unknown, step: string, node: string): unknown {
  if (isCancellation(error) || error instanceof ApplicationFailure) return error;
  if (!(error instanceof ActivityFailure)) return error;

  const cause = error.cause;
  if (cause instanceof ApplicationFailure) {
    return ApplicationFailure.create({
      type: cause.type ?? FailureType.CocoonFailed,
      message: cause.message,
      details: cause.details ?? undefined,
      nonRetryable: true,
    });
  }

  if (cause instanceof TimeoutFailure) {
    return ApplicationFailure.create({
      type: FailureType.StepTimedOut,
      message: `step ${step} on node ${node} timed out (${cause.timeoutType}) on its last attempt; check the worker on ${node}`,
      nonRetryable: true,
    });
  }
  return error;
}

/** The failure type of a clone failure, when it has one. */
export function failureTypeOf(error: unknown): string | undefined {
  return error instanceof ApplicationFailure ? (error.type ?? undefined) : undefined;
}

export function cloneFailure(
  type: FailureType,
  message: string,
  details?: unknown
): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: true,
    details: details === undefined ? undefined : [details],
  });
}
