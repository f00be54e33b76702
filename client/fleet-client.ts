import {
  ApplicationFailure,
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  WorkflowFailedError,
  WorkflowNotFoundError,
  type Client,
  type ScheduleOptionsStartWorkflowAction,
  type ScheduleSpec,
} from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import {
  DEFAULT_PREPULL_EVERY,
  FLEET_NODES_WORKFLOW_ID,
  fleetNodesQuery,
  freshNodes,
  PREPULL_SCAN_WORKFLOW_ID,
  PREPULL_SCHEDULE_ID,
  REFRESH_FLEET_WORKFLOW_TYPE,
  refreshFleetWorkflowId,
  SCAN_FLEET_WORKFLOW_TYPE,
  scanFleetWorkflowId,
  type NodeSighting,
} from '../common/fleet-names.js';
import type { FleetRefreshReport, FleetScanReport } from '../common/fleet-reports.js';
import {
  validateRefreshRequest,
  validateScanRequest,
  type RefreshFleetRequest,
  type ScanFleetRequest,
} from '../common/fleet-requests.js';
import { CLONE_WORKFLOW_QUEUE } from '../common/names.js';
import { describeProblems, type Validation } from '../common/request.js';
import type { refreshFleet as refreshFleetWorkflow } from '../workflows/refresh-fleet.js';
import type { scanFleet as scanFleetWorkflow } from '../workflows/scan-fleet.js';
import { CloneFailedError, InvalidCloneRequestError } from './clone-errors.js';

// Fleet-wide operations for the CLI and other callers: discovery, the refresh, one scan now,
// and the Schedule that runs the scan. Each takes the raw Temporal Client, which
// CloneClient.connect gives with typed connection errors.

/** The nodes whose worker announced itself within `windowMs`, sorted by name. */
export async function discoveredNodes(
  client: Client,
  options: { windowMs?: number } = {}
): Promise<string[]> {
  return freshNodes(await nodeSightings(client), Date.now(), options.windowMs);
}

/** Every node discovery has heard of, with when it last did; stale ones included. */
export async function nodeSightings(client: Client): Promise<NodeSighting[]> {
  try {
    return await client.workflow.getHandle(FLEET_NODES_WORKFLOW_ID).query(fleetNodesQuery);
  } catch (error) {
    // No worker has announced itself in this namespace yet.
    if (error instanceof WorkflowNotFoundError) return [];
    throw error;
  }
}

/**
 * Force-pulls `image` on the named nodes, or every live node, and waits for the report. With
 * a `requestId`, a repeated call joins the refresh it already started instead of pulling again.
 */
export async function refreshFleet(
  client: Client,
  request: RefreshFleetRequest & { requestId?: string }
): Promise<FleetRefreshReport> {
  const { requestId, ...rest } = request;
  const checked = validOrThrow(validateRefreshRequest(rest), 'fleet refresh');
  const workflowId = refreshFleetWorkflowId(requestId ?? runKey());

  return awaitReport(workflowId, () =>
    client.workflow.execute<typeof refreshFleetWorkflow>(REFRESH_FLEET_WORKFLOW_TYPE, {
      taskQueue: CLONE_WORKFLOW_QUEUE,
      workflowId,
      args: [checked],
      workflowIdConflictPolicy: 'USE_EXISTING',
    })
  );
}

/** Runs one pre-pull scan now, outside the Schedule, and waits for its report. */
export async function scanFleet(
  client: Client,
  request: ScanFleetRequest = {}
): Promise<FleetScanReport> {
  const checked = validOrThrow(validateScanRequest(request), 'fleet scan');
  const workflowId = scanFleetWorkflowId(runKey());

  return awaitReport(workflowId, () =>
    client.workflow.execute<typeof scanFleetWorkflow>(SCAN_FLEET_WORKFLOW_TYPE, {
      taskQueue: CLONE_WORKFLOW_QUEUE,
      workflowId,
      args: [checked],
    })
  );
}

/**
 * Creates the pre-pull Schedule, or brings an existing one to `every`: safe to run on every
 * deploy. A scan still running when the next is due makes the next one skip.
 */
export async function installPrepullSchedule(
  client: Client,
  options: { every?: Duration } = {}
): Promise<'created' | 'updated'> {
  const spec: ScheduleSpec = { intervals: [{ every: options.every ?? DEFAULT_PREPULL_EVERY }] };
  const action: ScheduleOptionsStartWorkflowAction<typeof scanFleetWorkflow> = {
    type: 'startWorkflow',
    workflowType: SCAN_FLEET_WORKFLOW_TYPE,
    workflowId: PREPULL_SCAN_WORKFLOW_ID,
    taskQueue: CLONE_WORKFLOW_QUEUE,
    args: [{}],
  };
  const overlap = ScheduleOverlapPolicy.SKIP;

  try {
    await client.schedule.create({
      scheduleId: PREPULL_SCHEDULE_ID,
      spec,
      action,
      policies: { overlap },
    });
    return 'created';
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }

  // An operator's pause and its note are kept; what the schedule does and when is replaced.
  await client.schedule.getHandle(PREPULL_SCHEDULE_ID).update((previous) => ({
    ...previous,
    spec,
    action,
    policies: { ...previous.policies, overlap },
  }));
  return 'updated';
}

function validOrThrow<T>(validation: Validation<T>, what: string): T {
  if (validation.ok) return validation.value;
  throw new InvalidCloneRequestError(
    validation.problems,
    `invalid ${what} request: ${describeProblems(validation.problems)}`
  );
}

// Sortable and unique enough for runs an operator starts by hand.
function runKey(): string {
  return new Date().toISOString();
}

async function awaitReport<T>(workflowId: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof WorkflowFailedError && error.cause instanceof ApplicationFailure) {
      throw new CloneFailedError(
        error.cause.type ?? 'Unknown',
        error.cause.message,
        workflowId,
        (error.cause.details ?? []) as unknown[]
      );
    }
    throw error;
  }
}
