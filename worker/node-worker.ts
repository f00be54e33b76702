import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { CocoonCli } from '../activities/cocoon/cocoon-cli.js';
import { createFleetDiscoveryActivities } from '../activities/fleet/fleet-discovery.js';
import { createFleetNodeActivities } from '../activities/fleet/fleet-node-activities.js';
import { createNodeActivities } from '../activities/node-activities.js';
import { NodeMetrics } from '../activities/node-metrics.js';
import { createWatchActivities } from '../activities/node-watch/watch-node-worker.js';
import { CLONE_WORKFLOW_QUEUE, nodeTaskQueue } from '../common/names.js';
import { ConfigError } from '../common/config/config-error.js';
import type { FlowSettings } from '../common/config/settings.js';
import {
  temporalConnectionOptions,
  tlsHandshakeFailure,
} from '../common/config/temporal-connection.js';
import { TemporalUnavailableError } from '../client/clone-errors.js';
import { startNodeAnnouncer, type NodeAnnouncer } from './node-announcer.js';
import { workflowSource } from './workflow-bundle.js';

// A worker finishes what it has in hand before it exits: a minute covers a restore and most
// pulls; a pull still running after that is cancelled (cocoon removes its temp file) and
// resumes on the restarted worker.
export const SHUTDOWN_GRACE_SECONDS = 60;
const SHUTDOWN_GRACE = `${SHUTDOWN_GRACE_SECONDS} seconds`;

export interface NodeWorker {
  node: string;
  /** Polls both queues until shutdown() or a shutdown signal (SIGINT, SIGTERM). */
  run(): Promise<void>;
  shutdown(): void;
}

/**
 * One process per VM host, two Workers sharing one connection: the node's own queue, for the
 * activities that touch this host, and the shared clone queue, for workflow tasks and the node
 * watch, which any host can serve.
 */
export async function createNodeWorker(
  settings: FlowSettings,
  options: { connection?: NativeConnection } = {}
): Promise<NodeWorker> {
  const node = settings.node;
  if (!node) {
    throw new ConfigError(
      'no node name: pass --node, set COCOON_FLOW_NODE, or put "node" in the config file'
    );
  }

  const connection = options.connection ?? (await connectToTemporal(settings));
  const ownsConnection = options.connection === undefined;
  const identity = `cocoon-flow@${node}`;
  const namespace = settings.temporal.namespace;
  const cocoon = new CocoonCli(settings.cocoon);

  const nodeWorker = await Worker.create({
    connection,
    namespace,
    identity,
    taskQueue: nodeTaskQueue(node),
    activities: {
      ...createNodeActivities({
        node,
        cocoon,
        registries: settings.registries,
        ledgerDir: settings.ledgerDir,
        pullStallSeconds: settings.pullStallSeconds,
        metrics: new NodeMetrics(Runtime.instance().metricMeter.withTags({ node })),
      }),
      ...createFleetNodeActivities({ node, cocoon, registries: settings.registries }),
    },
    shutdownGraceTime: SHUTDOWN_GRACE,
    // Node steps mostly wait on a cocoon subprocess. A burst of pods scheduled onto one node
    // (hundreds of clones of one snapshot) should all reach their restore, not queue behind
    // the SDK's default of 100 slots. A held restore costs the worker about half a MiB.
    maxConcurrentActivityTaskExecutions: 256,
    // Cancellation reaches an activity only with a heartbeat's answer. Left alone, the SDK sends
    // heartbeats at most every 0.8 × the heartbeat timeout (24 s), so a deleted pod's pull would
    // run on that long; a few node steps at a time can afford a heartbeat every 2 s.
    maxHeartbeatThrottleInterval: '2 seconds',
  });

  const cloneWorker = await Worker.create({
    connection,
    namespace,
    identity,
    taskQueue: CLONE_WORKFLOW_QUEUE,
    ...workflowSource(),
    maxCachedWorkflows: settings.workflowCacheSize,
    // Temporal runs no more workflow tasks at once than it can cache.
    ...(settings.workflowCacheSize > 0
      ? { maxConcurrentWorkflowTaskExecutions: Math.min(settings.workflowCacheSize, 40) }
      : {}),
    activities: { ...createWatchActivities(), ...createFleetDiscoveryActivities() },
    // Node watches idle between checks for a whole clone; each holds a slot while it waits.
    maxConcurrentActivityTaskExecutions: 1000,
    // A watch holds no state: cut short by a shutdown it is retried on another worker at once,
    // so it must not keep this process from exiting for the node steps' grace period.
    shutdownGraceTime: '1 second',
  });

  // Discovery hears of this node for as long as its workers poll.
  let announcer: NodeAnnouncer | undefined;

  return {
    node,
    async run() {
      announcer = startNodeAnnouncer({ connection, namespace, node });
      try {
        await Promise.all([nodeWorker.run(), cloneWorker.run()]);
      } finally {
        await announcer.stop();
        if (ownsConnection) await connection.close();
      }
    },
    shutdown() {
      void announcer?.stop();
      for (const worker of [nodeWorker, cloneWorker]) {
        if (worker.getState() === 'RUNNING') worker.shutdown();
      }
    },
  };
}

// The SDK's transport errors name neither the address nor, for TLS, the reason in words; the
// worker says both, as the CLI does.
async function connectToTemporal(settings: FlowSettings): Promise<NativeConnection> {
  const options = temporalConnectionOptions(settings.temporal);
  try {
    return await NativeConnection.connect(options);
  } catch (error) {
    const handshakeProblem = await tlsHandshakeFailure(options);
    throw new TemporalUnavailableError(
      options.address,
      handshakeProblem ?? (error as Error).message
    );
  }
}
