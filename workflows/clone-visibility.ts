import { setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import {
  CLONE_BASE_DIGEST,
  CLONE_FAILURE_TYPE,
  CLONE_NODE,
  CLONE_OUTCOME,
  CLONE_SNAPSHOT,
  CLONE_STEP,
  type CloneOutcome,
} from '../common/search-attributes.js';
import type { CloneStatus } from '../common/status.js';

// What an operator sees of a clone without querying it: search attributes to find it by, and
// the current details the Web UI shows on the clone's page. Both change only when the clone
// moves on, so the history gets one event per step, not one per heartbeat.

/** Marks a new clone as running on its node and snapshot. */
export function showStarted(status: CloneStatus): void {
  upsertSearchAttributes([
    { key: CLONE_NODE, value: status.node },
    { key: CLONE_SNAPSHOT, value: status.snapshot },
    { key: CLONE_STEP, value: status.step },
    { key: CLONE_OUTCOME, value: 'running' satisfies CloneOutcome },
  ]);
  setCurrentDetails(describe(status));
}

export function showStep(status: CloneStatus): void {
  upsertSearchAttributes([{ key: CLONE_STEP, value: status.step }]);
  setCurrentDetails(describe(status));
}

export function showBaseDigest(status: CloneStatus, digest: string): void {
  upsertSearchAttributes([{ key: CLONE_BASE_DIGEST, value: digest }]);
  setCurrentDetails(describe(status));
}

/** Set on every ending: success, a typed failure, or cancellation. */
export function showOutcome(status: CloneStatus, outcome: Exclude<CloneOutcome, 'running'>): void {
  upsertSearchAttributes([
    { key: CLONE_STEP, value: status.step },
    { key: CLONE_OUTCOME, value: outcome },
    ...(status.failure ? [{ key: CLONE_FAILURE_TYPE, value: status.failure.type }] : []),
  ]);
  setCurrentDetails(describe(status));
}

// Markdown, which the Web UI renders: the state at a glance, one paragraph a fact, then the
// steps so far as a table.
function describe(status: CloneStatus): string {
  const paragraphs = [
    `**${status.step}** · VM \`${status.vmName}\` from snapshot \`${status.snapshot}\` on node \`${status.node}\``,
  ];
  if (status.base)
    paragraphs.push(`Base image \`${status.base.image}\` pinned at \`${status.base.digest}\``);
  if (status.pullAttempts > 0) paragraphs.push(`Pulls: ${status.pullAttempts}`);
  if (status.verification) paragraphs.push(`Blob: ${status.verification}`);
  if (status.failure)
    paragraphs.push(`Failed: **${status.failure.type}**: ${status.failure.message}`);
  if (status.steps.length > 0) {
    const rows = ['| step | started | took | outcome |', '|---|---|---|---|'];
    for (const timing of status.steps) {
      const took = timing.endedAt
        ? `${(Date.parse(timing.endedAt) - Date.parse(timing.startedAt)) / 1000}s`
        : 'running';
      rows.push(`| ${timing.step} | ${timing.startedAt} | ${took} | ${timing.outcome ?? ''} |`);
    }
    paragraphs.push(rows.join('\n'));
  }
  return paragraphs.join('\n\n');
}
