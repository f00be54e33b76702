import {
  ActivityCancellationType,
  proxyActivities,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { NodeActivities } from '../activities/node-activities.js';
import type { createWatchActivities } from '../activities/node-watch/watch-node-worker.js';
import { NON_RETRYABLE_FAILURES } from '../common/failures.js';
import { CLONE_WORKFLOW_QUEUE, nodeTaskQueue } from '../common/names.js';

// Every timeout and retry policy of the clone, in one place, each with the reason for its
// number. Types listed in NON_RETRYABLE_FAILURES are never retried: retrying a 404 or a taken
// VM name only delays the answer.

const nonRetryableErrorTypes = [...NON_RETRYABLE_FAILURES];

// A cancelled clone waits until each node step has really stopped: the pull's cocoon process
// is gone and its temp file removed, a `vm clone` in progress has finished. The SDK documents
// this as the default, but a call that leaves the option unset is sent as TRY_CANCEL, which
// would let the workflow end while cocoon still runs; so it is set on every node step.
export const WAIT_FOR_STEP = {
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
};

// Reads of cocoon's small JSON databases and one stat: seconds normally. A minute allows for a
// host under heavy I/O or a slow sudo; five attempts ride out a briefly busy cocoon lock.
export const QUICK: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '10 seconds',
    maximumAttempts: 5,
    nonRetryableErrorTypes,
  },
};

// cocoon's own HTTP client gives a download 30 minutes; two hours also covers a qemu-img
// conversion on a slow disk. The activity heartbeats every 2s, so a dead worker is noticed
// after one heartbeat timeout, not after two hours. Five attempts with backoff up to two
// minutes ride out a registry restart or a burst of 5xx.
const PULL: ActivityOptions = {
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '2 minutes',
    maximumAttempts: 5,
    nonRetryableErrorTypes,
  },
};

// Hashing reads the whole blob once: about a minute for 20 GiB on a slow disk, so an hour is a
// generous ceiling. Heartbeats carry the bytes hashed so far.
const VERIFY: ActivityOptions = {
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '30 seconds',
  retry: { ...QUICK.retry, maximumAttempts: 3 },
};

// `vm clone` hard-links the memory files and starts the hypervisor: tens of seconds for a big
// VM. Fifteen minutes is the ceiling; the activity is idempotent through the clone ledger, so
// a retry after a worker crash adopts or replaces what the crashed attempt left.
const RESTORE: ActivityOptions = {
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 3,
    nonRetryableErrorTypes,
  },
};

// A freshly restored VM may need a moment before cocoon reports it running with a live pid.
const CONFIRM: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '5 seconds',
    maximumAttempts: 6,
    nonRetryableErrorTypes,
  },
};

// Compensation must finish even when the clone was cancelled, but must not wait forever on a
// node that has gone away: schedule-to-close bounds queueing and every attempt together.
// `vm rm --force` of a UEFI VM can take 35-40s (ACPI wait, SIGTERM grace).
const COMPENSATE: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  scheduleToCloseTimeout: '10 minutes',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    nonRetryableErrorTypes,
  },
};

// The node watch lives as long as the clone's node steps: at most five two-hour pulls plus the
// rest. If the worker running the watch dies, the heartbeat timeout moves it to another worker.
const WATCH: ActivityOptions = {
  startToCloseTimeout: '12 hours',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '10 seconds',
    nonRetryableErrorTypes,
  },
};

/** Proxies of the node-pinned activities, one per timeout profile. */
export function nodeActivities(node: string) {
  const taskQueue = nodeTaskQueue(node);
  const on = (options: ActivityOptions) =>
    proxyActivities<NodeActivities>({ ...WAIT_FOR_STEP, ...options, taskQueue });

  return {
    quick: on(QUICK),
    pull: on(PULL),
    verify: on(VERIFY),
    restore: on(RESTORE),
    confirm: on(CONFIRM),
    compensate: on(COMPENSATE),
  };
}

/** The node watch runs on the shared queue: any worker can tell whether node N has a poller. */
export function watchActivities() {
  return proxyActivities<ReturnType<typeof createWatchActivities>>({
    ...WATCH,
    taskQueue: CLONE_WORKFLOW_QUEUE,
  });
}

export type NodeActivityProxies = ReturnType<typeof nodeActivities>;
