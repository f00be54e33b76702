import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { FailureType } from '../../common/failures.js';
import {
  FLEET_NODES_WORKFLOW_ID,
  fleetNodesQuery,
  freshNodes,
  NODE_FRESH_WINDOW_MS,
} from '../../common/fleet-names.js';
import { failure } from '../to-failure.js';

// A workflow cannot query another workflow, so the fleet workflows ask for the discovered
// nodes through this activity. It runs on the shared queue: any worker can answer.

export function createFleetDiscoveryActivities() {
  return {
    /** The nodes whose worker announced itself within the window, sorted by name. */
    async discoverFleetNodes(input: { freshWithinMs?: number } = {}): Promise<string[]> {
      const windowMs = input.freshWithinMs ?? NODE_FRESH_WINDOW_MS;
      if (!Number.isSafeInteger(windowMs) || windowMs <= 0) {
        throw failure(
          FailureType.InvalidRequest,
          `discovering fleet nodes: freshWithinMs ${JSON.stringify(windowMs)} is not a positive whole number`
        );
      }

      const { client } = Context.current();
      const handle = client.workflow.getHandle(FLEET_NODES_WORKFLOW_ID);
      try {
        const sightings = await handle.query(fleetNodesQuery);
        return freshNodes(sightings, Date.now(), windowMs);
      } catch (error) {
        // No worker has announced itself in this namespace yet: the fleet is empty.
        if (error instanceof WorkflowNotFoundError) return [];
        throw error;
      }
    },
  };
}

export type FleetDiscoveryActivities = ReturnType<typeof createFleetDiscoveryActivities>;
