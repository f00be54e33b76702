import type { CloneFilter } from '../clone-query.js';
import { UsageError } from './cli-error.js';
import { stringValue } from './options.js';

// The filters `list`, `retry` and `replay` share, named after the search attributes.
export const FILTER_OPTIONS = {
  node: { type: 'string' },
  snapshot: { type: 'string' },
  digest: { type: 'string' },
  outcome: { type: 'string' },
  failure: { type: 'string' },
  since: { type: 'string' },
  query: { type: 'string' },
} as const;

const DURATION = /^(\d+)(s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function filterFrom(values: Record<string, unknown>): CloneFilter {
  return {
    node: stringValue(values.node),
    snapshot: stringValue(values.snapshot),
    digest: stringValue(values.digest),
    outcome: stringValue(values.outcome),
    failureType: stringValue(values.failure),
    withinMs: durationMs(stringValue(values.since)),
    query: stringValue(values.query),
  };
}

function durationMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = DURATION.exec(value);
  if (!match) {
    throw new UsageError(
      `invalid argument ${JSON.stringify(value)} for "--since": use a number and s, m, h or d (24h)`
    );
  }
  return Number(match[1]) * (UNIT_MS[match[2] ?? 's'] ?? 1_000);
}
