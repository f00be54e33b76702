import { CancelledFailure } from '@temporalio/common';

// One node, one download per image: when several clones on a node need the same missing image
// at once, the first starts the work and the others wait for the same result. The work is
// stopped only when every waiter has gone, so cancelling one clone never cancels the download
// the others still wait for.

interface Shared<T> {
  result: Promise<T>;
  controller: AbortController;
  waiters: number;
}

export class SharedWork<T> {
  private readonly inFlight = new Map<string, Shared<T>>();

  /**
   * Runs `work` for `key`, or joins the run already in flight. `waiterSignal` is this caller's
   * cancellation: it leaves the caller's wait at once and stops the work only if it was the
   * last waiter.
   */
  async join(
    key: string,
    work: (signal: AbortSignal) => Promise<T>,
    waiterSignal: AbortSignal
  ): Promise<T> {
    const shared = this.inFlight.get(key) ?? this.start(key, work);
    shared.waiters += 1;

    let leave: () => void = () => undefined;
    const left = new Promise<never>((_, reject) => {
      leave = () => {
        shared.waiters -= 1;
        if (shared.waiters === 0) shared.controller.abort();
        reject(new CancelledFailure('this clone stopped waiting for the shared download'));
      };
      if (waiterSignal.aborted) leave();
      else waiterSignal.addEventListener('abort', leave, { once: true });
    });
    left.catch(() => undefined);

    try {
      return await Promise.race([shared.result, left]);
    } finally {
      waiterSignal.removeEventListener('abort', leave);
      if (!waiterSignal.aborted) shared.waiters -= 1;
    }
  }

  /** How many callers wait for `key` right now. */
  waitersOf(key: string): number {
    return this.inFlight.get(key)?.waiters ?? 0;
  }

  private start(key: string, work: (signal: AbortSignal) => Promise<T>): Shared<T> {
    const controller = new AbortController();
    const shared: Shared<T> = {
      controller,
      waiters: 0,
      result: work(controller.signal).finally(() => this.inFlight.delete(key)),
    };
    // A rejection reaches every waiter through its own await; this keeps it from also being
    // reported as unhandled when the last waiter left before the work ended.
    shared.result.catch(() => undefined);
    this.inFlight.set(key, shared);
    return shared;
  }
}
