import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { FleetDiscoveryActivities } from '../activities/fleet/fleet-discovery.js';
import type { FleetNodeActivities } from '../activities/fleet/fleet-node-activities.js';
import { CLONE_WORKFLOW_QUEUE, nodeTaskQueue } from '../common/names.js';
import { QUICK, WAIT_FOR_STEP } from './activity-options.js';

// Timeouts and retries of the activities only the fleet workflows use. The pull and the
// verify they share with the clone keep the clone's profiles (activity-options.ts).

// Reads of cocoon's index and snapshot list cost what the clone's quick steps cost, and wait
// for their step to stop when cancelled, as every node step does.
const NODE_READ: ActivityOptions = { ...WAIT_FOR_STEP, ...QUICK };

// One query to the discovery workflow. A few attempts cover a worker restarting while it
// holds the query; after that the fleet run fails at once rather than act on a guessed fleet.
const DISCOVERY: ActivityOptions = { ...QUICK, startToCloseTimeout: '30 seconds' };

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
