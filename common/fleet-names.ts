import { defineQuery, defineSignal } from '@temporalio/workflow';

// Names both sides agree on for fleet-wide work: node discovery, the fleet refresh and the
// pre-pull scan. Signals and queries are defined here, in a module without Node APIs, so the
// workflow bundle, the workers and the client share one definition.

export const FLEET_NODES_WORKFLOW_TYPE = 'fleetNodes';
export const REFRESH_FLEET_WORKFLOW_TYPE = 'refreshFleet';
export const SCAN_FLEET_WORKFLOW_TYPE = 'scanFleet';

/** One discovery workflow per namespace; every worker signals this id. */
export const FLEET_NODES_WORKFLOW_ID = 'cocoon-flow/fleet-nodes';

export const PREPULL_SCHEDULE_ID = 'cocoon-flow-prepull-scan';
/** Runs the schedule starts are named `<this>-<time>` by Temporal. */
export const PREPULL_SCAN_WORKFLOW_ID = 'fleet-scan/scheduled';

// Clones take the slow path only when a base is missing; a scan every 15 minutes catches a
// snapshot imported since the last one well before most hosts clone from it, at the cost of a
// few `snapshot list` calls and stats per node.
export const DEFAULT_PREPULL_EVERY = '15m';

// A worker announces itself every minute. Three minutes of silence means two announcements
// missed in a row: a worker that is gone, not one whose signal was delayed once.
export const NODE_ANNOUNCE_EVERY_MS = 60_000;
export const NODE_FRESH_WINDOW_MS = 3 * 60_000;

export function refreshFleetWorkflowId(key: string): string {
  return `fleet-refresh/${key}`;
}

export function scanFleetWorkflowId(key: string): string {
  return `fleet-scan/${key}`;
}

/** What a worker sends when it starts and every minute while it runs. */
export interface NodeAnnouncement {
  node: string;
  /** The worker's clock when it sent the announcement (ISO 8601). */
  at: string;
}

/** What the discovery workflow remembers of one node. */
export interface NodeSighting {
  node: string;
  /** When the discovery workflow received the last announcement (server time, ISO 8601). */
  lastSeen: string;
  /** The `at` of that announcement: a gap from lastSeen shows a skewed worker clock. */
  announcedAt: string;
}

export interface FleetNodesState {
  sightings: NodeSighting[];
}

export const nodeAnnouncedSignal = defineSignal<[NodeAnnouncement]>('nodeAnnounced');

/**
 * Every node the discovery workflow has heard of, with when. It answers with lastSeen rather
 * than a filtered list: a query sees the workflow clock of its last task, which may be minutes
 * old, so the caller judges freshness with its own clock through `freshNodes`.
 */
export const fleetNodesQuery = defineQuery<NodeSighting[]>('fleetNodes');

/** The names of the nodes seen within `windowMs` before `nowMs`, sorted. */
export function freshNodes(
  sightings: readonly NodeSighting[],
  nowMs: number,
  windowMs: number = NODE_FRESH_WINDOW_MS
): string[] {
  return sightings
    .filter((sighting) => nowMs - Date.parse(sighting.lastSeen) <= windowMs)
    .map((sighting) => sighting.node)
    .sort();
}
