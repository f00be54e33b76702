import type { FaultKind } from './faults.js';
import type { RouteKind } from './routes.js';

/** One HTTP exchange as the registry saw it. */
export interface RequestRecord {
  method: string;
  /** The request target as sent, query string included. */
  path: string;
  route: RouteKind;
  repo: string | undefined;
  /** Status the registry answered with. */
  status: number;
  /** Body bytes handed to the socket; headers are not counted. */
  bytesSent: number;
  /** The registry ended the response itself; false while open or if the connection broke. */
  completed: boolean;
  /** The exchange is still going on. */
  open: boolean;
  fault: FaultKind | undefined;
}

/** Selects records; an absent field matches anything. */
export interface RequestFilter {
  method?: string;
  route?: RouteKind;
  repo?: string;
  status?: number;
  completed?: boolean;
}

/** Every exchange since the last reset, in arrival order. */
export class RequestLog {
  #records: RequestRecord[] = [];

  /** Starts a record and returns it for the server to update as the exchange goes on. */
  open(method: string, path: string, route: RouteKind, repo: string | undefined): RequestRecord {
    const record: RequestRecord = {
      method,
      path,
      route,
      repo,
      status: 0,
      bytesSent: 0,
      completed: false,
      open: true,
      fault: undefined,
    };
    this.#records.push(record);
    return record;
  }

  /** Copies of the matching records, so callers cannot change the log. */
  list(filter: RequestFilter = {}): RequestRecord[] {
    return this.#records
      .filter((record) => matches(record, filter))
      .map((record) => ({ ...record }));
  }

  count(filter: RequestFilter = {}): number {
    return this.#records.filter((record) => matches(record, filter)).length;
  }

  bytesSent(filter: RequestFilter = {}): number {
    return this.#records
      .filter((record) => matches(record, filter))
      .reduce((total, record) => total + record.bytesSent, 0);
  }

  /** Forgets past exchanges; ones still open keep updating their detached records. */
  reset(): void {
    this.#records = [];
  }
}

function matches(record: RequestRecord, filter: RequestFilter): boolean {
  return (
    (filter.method === undefined || filter.method === record.method) &&
    (filter.route === undefined || filter.route === record.route) &&
    (filter.repo === undefined || filter.repo === record.repo) &&
    (filter.status === undefined || filter.status === record.status) &&
    (filter.completed === undefined || filter.completed === record.completed)
  );
}
