import { CLONE_WORKFLOW_TYPE } from '../common/names.js';
import type { CloneOutcome } from '../common/search-attributes.js';

// Turns the filters operators type (`--node`, `--outcome failed`, `--since 24h`) into a
// Temporal visibility query over the clone search attributes. Values are checked against
// what each attribute can hold before they go between quotes, so no filter can change the
// query's shape.

export interface CloneFilter {
  node?: string;
  snapshot?: string;
  digest?: string;
  outcome?: string;
  failureType?: string;
  /** Clones started within this many milliseconds before now. */
  withinMs?: number;
  /** A raw visibility query, ANDed with the rest. */
  query?: string;
}

/** A filter value that cannot be used; `field` names the flag to fix. */
export class CloneFilterError extends Error {
  override readonly name = 'CloneFilterError';

  constructor(
    readonly field: string,
    message: string
  ) {
    super(message);
  }
}

const OUTCOMES: CloneOutcome[] = ['running', 'succeeded', 'failed', 'cancelled'];
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const FAILURE_TYPE = /^[A-Za-z]{1,64}$/;

export function cloneVisibilityQuery(filter: CloneFilter, now: Date = new Date()): string {
  const clauses = [`WorkflowType = '${CLONE_WORKFLOW_TYPE}'`];

  if (filter.node !== undefined)
    clauses.push(equals('CloneNode', checked('node', filter.node, NAME)));
  if (filter.snapshot !== undefined) {
    clauses.push(equals('CloneSnapshot', checked('snapshot', filter.snapshot, NAME)));
  }
  if (filter.digest !== undefined) {
    clauses.push(equals('CloneBaseDigest', checked('digest', filter.digest, DIGEST)));
  }
  if (filter.outcome !== undefined) {
    if (!OUTCOMES.includes(filter.outcome as CloneOutcome)) {
      throw new CloneFilterError(
        'outcome',
        `invalid outcome ${JSON.stringify(filter.outcome)}: use one of ${OUTCOMES.join(', ')}`
      );
    }
    clauses.push(equals('CloneOutcome', filter.outcome));
  }
  if (filter.failureType !== undefined) {
    clauses.push(equals('CloneFailureType', checked('failure', filter.failureType, FAILURE_TYPE)));
  }
  if (filter.withinMs !== undefined) {
    clauses.push(`StartTime >= '${new Date(now.getTime() - filter.withinMs).toISOString()}'`);
  }
  if (filter.query !== undefined && filter.query.trim() !== '') clauses.push(`(${filter.query})`);

  return clauses.join(' AND ');
}

function equals(attribute: string, value: string): string {
  return `${attribute} = '${value}'`;
}

function checked(field: string, value: string, pattern: RegExp): string {
  if (pattern.test(value)) return value;
  throw new CloneFilterError(
    field,
    `invalid ${field} ${JSON.stringify(value)}: it cannot name any clone (expected ${pattern.source})`
  );
}
