import { Context } from '@temporalio/activity';

// Long steps (a download, hashing an image, a restore) heartbeat on a fixed beat with what
// they can measure. Heartbeats carry cancellation to the activity and let Temporal notice a
// dead worker within the heartbeat timeout instead of the much longer start-to-close timeout.

const BEAT_MS = 2_000;

/** Heartbeats `describe()` every beat until the returned stop function is called. */
export function heartbeatWhile(describe: () => Promise<unknown> | unknown): () => void {
  const context = Context.current();
  let stopped = false;

  const beat = async (): Promise<void> => {
    try {
      const details = await describe();
      if (!stopped) context.heartbeat(details);
    } catch {
      // A failed measurement must not fail the step; the next beat tries again.
      if (!stopped) context.heartbeat();
    }
  };

  void beat();
  const timer = setInterval(() => void beat(), BEAT_MS);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
