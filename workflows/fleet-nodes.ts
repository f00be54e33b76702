import { condition, continueAsNew, log, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  fleetNodesQuery,
  nodeAnnouncedSignal,
  type FleetNodesState,
  type NodeAnnouncement,
  type NodeSighting,
} from '../common/fleet-names.js';
import { isNodeName } from '../common/fleet-requests.js';

// Each announcement adds about four events (the signal and a workflow task). A thousand keeps
// a run near 4,000 events, far below where Temporal warns, and a fleet of a hundred workers
// announcing every minute starts a new run about every ten minutes.
const ANNOUNCEMENTS_PER_RUN = 1000;

// A node silent for a week has been retired or renamed; carrying it forward forever would
// only grow the state every new run starts with.
const FORGET_AFTER_MS = 7 * 24 * 3600_000;

/**
 * Remembers every node whose worker announced itself, and when it last did. It runs for as
 * long as the namespace is used: workers start it with signalWithStart, and it continues as
 * new, carrying its memory over, before its history grows large.
 */
export async function fleetNodes(state: FleetNodesState = { sightings: [] }): Promise<void> {
  const sightings = new Map<string, NodeSighting>(
    (state.sightings ?? []).map((sighting) => [sighting.node, sighting])
  );
  let announcements = 0;

  setHandler(nodeAnnouncedSignal, (announcement: NodeAnnouncement) => {
    // Anyone who can signal may send anything; a bad name must not reach a fleet run.
    if (!isNodeName(announcement?.node)) {
      log.warn('Ignoring an announcement without a valid node name', {
        node: String(announcement?.node),
      });
      return;
    }
    announcements += 1;
    sightings.set(announcement.node, {
      node: announcement.node,
      lastSeen: new Date().toISOString(),
      announcedAt: typeof announcement.at === 'string' ? announcement.at : '',
    });
  });
  // Plain code-unit order: locale rules have no place in replayed code.
  setHandler(fleetNodesQuery, () =>
    [...sightings.values()].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0))
  );

  await condition(
    () => announcements >= ANNOUNCEMENTS_PER_RUN || workflowInfo().continueAsNewSuggested
  );

  const now = Date.now();
  const kept = [...sightings.values()].filter(
    (sighting) => now - Date.parse(sighting.lastSeen) < FORGET_AFTER_MS
  );
  await continueAsNew<typeof fleetNodes>({ sightings: kept });
}
