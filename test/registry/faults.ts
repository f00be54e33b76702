import type { RouteKind } from './routes.js';

/** A misbehaviour the registry can be told to show on matching requests. */
export type Fault =
  /** Answer with this status and a short text body instead of the content. */
  | { kind: 'status'; status: number }
  /** Send this many body bytes, then drop the connection: the client sees a broken body. */
  | { kind: 'reset'; afterBytes: number }
  /**
   * Send this many body bytes, then end the response. On /dl/ (chunked, no length) the
   * client sees a complete 200 with short content, the silent truncation epoch can
   * produce when a blob read fails mid-stream. Where a Content-Length was sent the
   * connection closes after the short body, so a careful client sees a length mismatch.
   */
  | { kind: 'truncate'; afterBytes: number }
  /** Send the full length with a few bytes inverted. */
  | { kind: 'corrupt' }
  /** Send this many body bytes, then nothing for `forMs` (forever if absent), then the rest. */
  | { kind: 'stall'; afterBytes: number; forMs?: number }
  /** Send the body no faster than this rate. */
  | { kind: 'slow'; bytesPerSecond: number }
  /** Answer 200 with an HTML error page, as a captive portal or misrouted proxy would. */
  | { kind: 'html' };

export type FaultKind = Fault['kind'];

/** Which requests a fault applies to; an absent field matches anything. */
export interface FaultMatch {
  route?: RouteKind;
  repo?: string;
}

/** A fault in force, until its requests are used up or it is cleared. */
export interface FaultHandle {
  readonly fault: Fault;
  /** Requests it will still affect; `Infinity` until cleared. */
  readonly remaining: number;
  clear(): void;
}

interface FaultEntry {
  match: FaultMatch;
  fault: Fault;
  remaining: number;
}

/** Faults waiting for requests, applied first-injected first. */
export class FaultBook {
  #entries: FaultEntry[] = [];

  /** Applies `fault` to the next `times` matching requests (`Infinity`: until cleared). */
  inject(match: FaultMatch, fault: Fault, times = 1): FaultHandle {
    assertFault(fault);
    if (!(times === Infinity || (Number.isInteger(times) && times > 0))) {
      throw new RangeError(`fault times must be a positive integer or Infinity, got ${times}`);
    }
    const entry: FaultEntry = { match: { ...match }, fault: { ...fault }, remaining: times };
    this.#entries.push(entry);
    return {
      fault: entry.fault,
      get remaining() {
        return entry.remaining;
      },
      clear: () => {
        entry.remaining = 0;
        this.#entries = this.#entries.filter((candidate) => candidate !== entry);
      },
    };
  }

  /** Takes the fault for one request, using up one of its remaining requests. */
  take(route: RouteKind, repo: string | undefined): Fault | undefined {
    const entry = this.#entries.find(
      ({ match }) =>
        (match.route === undefined || match.route === route) &&
        (match.repo === undefined || match.repo === repo)
    );
    if (entry === undefined) {
      return undefined;
    }
    entry.remaining -= 1;
    if (entry.remaining <= 0) {
      this.#entries = this.#entries.filter((candidate) => candidate !== entry);
    }
    return entry.fault;
  }

  clear(): void {
    for (const entry of this.#entries) {
      entry.remaining = 0;
    }
    this.#entries = [];
  }
}

function assertFault(fault: Fault): void {
  switch (fault.kind) {
    case 'status':
      if (!Number.isInteger(fault.status) || fault.status < 200 || fault.status > 599) {
        throw new RangeError(`fault status must be an HTTP status 200-599, got ${fault.status}`);
      }
      return;
    case 'reset':
    case 'truncate':
    case 'stall':
      if (!Number.isInteger(fault.afterBytes) || fault.afterBytes < 0) {
        throw new RangeError(`fault afterBytes must be a whole number, got ${fault.afterBytes}`);
      }
      if (fault.kind === 'stall' && fault.forMs !== undefined && !(fault.forMs >= 0)) {
        throw new RangeError(`stall forMs must not be negative, got ${fault.forMs}`);
      }
      return;
    case 'slow':
      if (!(fault.bytesPerSecond > 0)) {
        throw new RangeError(`slow bytesPerSecond must be positive, got ${fault.bytesPerSecond}`);
      }
      return;
    case 'corrupt':
    case 'html':
      return;
  }
}
