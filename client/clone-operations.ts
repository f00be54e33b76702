import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { CloneRequest } from '../common/request.js';
import {
  CLONE_BASE_DIGEST,
  CLONE_FAILURE_TYPE,
  CLONE_NODE,
  CLONE_OUTCOME,
  CLONE_SNAPSHOT,
  CLONE_STEP,
} from '../common/search-attributes.js';
import { CloneClient } from './clone-client.js';

// What operators do to many clones at once: list them by their search attributes, and start
// failed ones again as new runs of the same request.

export interface CloneListing {
  workflowId: string;
  runId: string;
  status: string;
  node?: string;
  snapshot?: string;
  digest?: string;
  step?: string;
  outcome?: string;
  failureType?: string;
  startTime: Date;
  closeTime?: Date;
}

export async function listClones(client: Client, query: string): Promise<CloneListing[]> {
  const listed: CloneListing[] = [];
  for await (const execution of client.workflow.list({ query })) listed.push(toListing(execution));
  return listed;
}

function toListing(execution: WorkflowExecutionInfo): CloneListing {
  const attributes = execution.typedSearchAttributes;
  return {
    workflowId: execution.workflowId,
    runId: execution.runId,
    status: execution.status.name,
    node: attributes.get(CLONE_NODE),
    snapshot: attributes.get(CLONE_SNAPSHOT),
    digest: attributes.get(CLONE_BASE_DIGEST),
    step: attributes.get(CLONE_STEP),
    outcome: attributes.get(CLONE_OUTCOME),
    failureType: attributes.get(CLONE_FAILURE_TYPE),
    startTime: execution.startTime,
    closeTime: execution.closeTime,
  };
}

export type RetryVerdict =
  | { workflowId: string; retried: true; runId: string }
  | { workflowId: string; retried: false; reason: string };

// A new run is only right when the clone's latest run failed: a running or succeeded clone
// needs nothing, and a cancelled one was cancelled on purpose (its pod was deleted).
const RETRYABLE_STATUSES = new Set(['FAILED', 'TIMED_OUT', 'TERMINATED']);

/**
 * Starts each failed clone the query finds again, as a new run of the same workflow id with the
 * request its failed run was given. The new run's steps find what is already on the node (a
 * verified blob, a VM this clone made) and go on from there.
 */
export async function retryClones(client: Client, query: string): Promise<RetryVerdict[]> {
  const verdicts: RetryVerdict[] = [];
  const seen = new Set<string>();
  const clones = new CloneClient(client);

  for await (const execution of client.workflow.list({ query })) {
    if (seen.has(execution.workflowId)) continue;
    seen.add(execution.workflowId);
    verdicts.push(await retryOne(client, clones, execution.workflowId));
  }
  return verdicts;
}

async function retryOne(
  client: Client,
  clones: CloneClient,
  workflowId: string
): Promise<RetryVerdict> {
  // The latest run decides: an older failed run of a clone that later succeeded is done.
  const latest = client.workflow.getHandle(workflowId);
  const description = await latest.describe();
  const status = description.status.name;
  if (!RETRYABLE_STATUSES.has(status)) {
    return { workflowId, retried: false, reason: `its latest run is ${status.toLowerCase()}` };
  }

  const request = await requestOf(client, workflowId, description.runId);
  const handle = await clones.start(request);
  const started = await handle.describe();
  if (started.runId === description.runId) {
    return { workflowId, retried: false, reason: 'Temporal kept the failed run' };
  }
  return { workflowId, retried: true, runId: started.runId };
}

/** The request a clone's run was started with, from the first event of its history. */
export async function requestOf(
  client: Client,
  workflowId: string,
  runId: string
): Promise<CloneRequest> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  const payload = started?.input?.payloads?.[0];
  if (!payload) throw new Error(`clone ${workflowId} run ${runId} has no recorded request`);
  return defaultPayloadConverter.fromPayload<CloneRequest>(payload);
}
