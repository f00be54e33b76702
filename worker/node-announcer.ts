import { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { Runtime } from '@temporalio/worker';
import {
  FLEET_NODES_WORKFLOW_ID,
  FLEET_NODES_WORKFLOW_TYPE,
  NODE_ANNOUNCE_EVERY_MS,
  nodeAnnouncedSignal,
  type NodeAnnouncement,
} from '../common/fleet-names.js';
import { CLONE_WORKFLOW_QUEUE } from '../common/names.js';
import type { fleetNodes } from '../workflows/fleet-nodes.js';

// Nodes are discovered, not listed by hand: each worker tells the discovery workflow its node
// when it starts and every minute while it runs. signalWithStart starts that workflow if no
// worker has yet. An announcement that fails is logged and tried again on the next beat; it
// must never take the worker down with it, since clones do not depend on it.

// An announcement the server has not taken within this time is given up until the next beat,
// so one hung call cannot silence the node for good.
const ANNOUNCE_TIMEOUT_MS = 20_000;

export interface NodeAnnouncer {
  /** Stops the beat and abandons an announcement in flight, so the connection can close. */
  stop(): Promise<void>;
}

export function startNodeAnnouncer(options: {
  connection: NativeConnection;
  namespace: string;
  node: string;
  everyMs?: number;
  /** Told of each failed announcement; the default logs a warning. */
  onFailure?: (error: Error) => void;
}): NodeAnnouncer {
  const client = new Client({ connection: options.connection, namespace: options.namespace });
  const onFailure =
    options.onFailure ??
    ((error: Error) =>
      Runtime.instance().logger.warn(
        'Could not announce this node for discovery; trying again later',
        { node: options.node, error: error.message }
      ));
  const stopped = new AbortController();
  let inFlight: Promise<void> | undefined;

  const send = (announcement: NodeAnnouncement) =>
    client.withAbortSignal(
      AbortSignal.any([stopped.signal, AbortSignal.timeout(ANNOUNCE_TIMEOUT_MS)]),
      () =>
        client.workflow.signalWithStart<typeof fleetNodes, [NodeAnnouncement]>(
          FLEET_NODES_WORKFLOW_TYPE,
          {
            workflowId: FLEET_NODES_WORKFLOW_ID,
            taskQueue: CLONE_WORKFLOW_QUEUE,
            args: [{ sightings: [] }],
            signal: nodeAnnouncedSignal,
            signalArgs: [announcement],
          }
        )
    );

  const announce = () => {
    // A slow server must not pile announcements up behind each other.
    if (inFlight || stopped.signal.aborted) return;
    inFlight = send({ node: options.node, at: new Date().toISOString() })
      .then(
        () => undefined,
        (error: unknown) => {
          if (!stopped.signal.aborted) onFailure(asError(error));
        }
      )
      .finally(() => {
        inFlight = undefined;
      });
  };

  announce();
  const timer = setInterval(announce, options.everyMs ?? NODE_ANNOUNCE_EVERY_MS);
  // The workers keep the process alive; the beat alone must not.
  timer.unref();

  return {
    async stop() {
      clearInterval(timer);
      stopped.abort();
      await inFlight;
    },
  };
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
