import {
  ActivityCancellationType,
  proxyActivities,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { FleetDiscoveryActivities } from '../activities/fleet/fleet-discovery.js';
import type { FleetNodeActivities } from '../activities/fleet/fleet-node-activities.js';
import { NON_RETRYABLE_FAILURES } from '../common/failures.js';
import { CLONE_WORKFLOW_QUEUE, nodeTaskQueue } from '../common/names.js';

// Timeouts and retries of the activities only the fleet workflows use. The pull and the
// verify they share with the clone keep the clone's profiles (activity-options.ts).

const nonRetryableErrorTypes = [...NON_RETRYABLE_FAILURES];

// Reads of cocoon's index and snapshot list, the same cost as the clone's quick steps: seconds
// normally, a minute on a host under heavy I/O; five attempts ride out a busy cocoon lock.
const NODE_READ: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '10 seconds',
    maximumAttempts: 5,
    nonRetryableErrorTypes,
  },
};

// One query to the discovery workflow. A few attempts cover a worker restarting while it
// holds the query; after that the fleet run fails at once rather than act on a guessed fleet.
const DISCOVERY: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '10 seconds',
    maximumAttempts: 5,
    nonRetryableErrorTypes,
  },
};

/** The fleet's reads of one node's cocoon, on that node's queue. */
export function fleetNodeActivities(node: string) {
  return proxyActivities<FleetNodeActivities>({ ...NODE_READ, taskQueue: nodeTaskQueue(node) });
}

/** Node discovery runs on the shared queue: any worker can query the discovery workflow. */
export function fleetDiscoveryActivities() {
  return proxyActivities<FleetDiscoveryActivities>({
    ...DISCOVERY,
    taskQueue: CLONE_WORKFLOW_QUEUE,
  });
}
