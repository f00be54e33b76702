import { Context, log } from '@temporalio/activity';
import proto from '@temporalio/proto';
import { FailureType } from '../../common/failures.js';
import { nodeTaskQueue } from '../../common/names.js';
import { failure } from '../to-failure.js';

// A node's activities can only run on that node's worker. If the worker is gone, its queue
// just keeps the tasks, and the clone would wait forever. This watch decides "gone" by the one
// signal that means it: nobody polls the node's queue. A busy worker whose slots are all taken
// still polls, and a worker that restarts comes back within the timeout, so neither fails a
// clone.

export interface WatchNodeInput {
  node: string;
  /** How long the node may have no poller before the clone fails. */
  timeoutSeconds: number;
}

// The server remembers a poller for minutes after it left, stamped with the time its last
// long poll began. A live, idle worker starts a new long poll at least every 60 seconds (the
// server's poll timeout), so a stamp older than 75 seconds means nobody is polling.
const POLLER_FRESH_MS = 75_000;

// @temporalio/proto is CommonJS; its namespace is reached through the default export.
const enums = proto.temporal.api.enums.v1;

export function createWatchActivities() {
  return {
    /**
     * Runs for as long as the clone's node steps run, and fails with NodeUnavailable once the
     * node's queue has had no live poller for the whole timeout. The workflow cancels it when the
     * node steps finish.
     */
    async watchNodeWorker(input: WatchNodeInput): Promise<void> {
      const context = Context.current();
      const { client } = context;
      const queue = nodeTaskQueue(input.node);
      const timeoutMs = input.timeoutSeconds * 1000;
      // A look every eighth of the timeout decides within an eighth of it; with hundreds of
      // clones held on one node, a look every 15 s at most keeps their watches' calls cheap.
      const checkEveryMs = Math.min(15_000, Math.max(500, timeoutMs / 8));
      let lastSeenAt = Date.now();

      for (;;) {
        // Sleep first: the node cannot be declared gone before the timeout anyway, and most
        // clones on a warm node end before a first look at the queue would tell anything.
        await context.sleep(checkEveryMs);

        const pollers = await describePollers(client, queue);
        const now = Date.now();
        const live = pollers.filter((p) => now - p.lastAccessMs < POLLER_FRESH_MS);
        if (live.length > 0) lastSeenAt = now;

        context.heartbeat({ queue, livePollers: live.map((p) => p.identity) });
        if (now - lastSeenAt >= timeoutMs) {
          log.warn('Node has no worker', { node: input.node, queue });
          throw failure(
            FailureType.NodeUnavailable,
            `node ${input.node} has had no cocoon-flow worker polling task queue ${queue} for ${input.timeoutSeconds}s; start the worker on ${input.node} (cocoon-flow worker --node ${input.node}) and start the clone again`
          );
        }
      }
    },
  };
}

async function describePollers(
  client: Context['client'],
  queue: string
): Promise<{ identity: string; lastAccessMs: number }[]> {
  const response = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: queue, kind: enums.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: enums.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });

  return (response.pollers ?? []).map((poller) => ({
    identity: poller.identity ?? '',
    lastAccessMs: timestampMs(poller.lastAccessTime),
  }));
}

function timestampMs(
  stamp: { seconds?: unknown; nanos?: number | null } | null | undefined
): number {
  if (!stamp) return 0;
  return Number(stamp.seconds ?? 0) * 1000 + Math.floor((stamp.nanos ?? 0) / 1e6);
}
