import {
  ApplicationFailure,
  CancelledFailure,
  Client,
  Connection,
  isGrpcServiceError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  type WorkflowHandle,
} from '@temporalio/client';
import type { cloneVM } from '../workflows/clone-vm.js';
import { cloneListing } from './clone-listing.js';
import { missingSearchAttributes } from './search-attribute-setup.js';
import { CLONE_WORKFLOW_QUEUE, CLONE_WORKFLOW_TYPE, cloneWorkflowId } from '../common/names.js';
import { describeProblems, validateCloneRequest, type CloneRequest } from '../common/request.js';
import { cloneStatusQuery, type CloneStatus } from '../common/status.js';
import type { VmRecord } from '../common/vm-record.js';
import type { TemporalSettings } from '../common/config/settings.js';
import {
  temporalConnectionOptions,
  tlsHandshakeFailure,
  type TemporalConnectionOptions,
} from '../common/config/temporal-connection.js';
import {
  CloneCancelledError,
  CloneFailedError,
  InvalidCloneRequestError,
  SearchAttributesMissingError,
  TemporalAuthError,
  TemporalUnavailableError,
} from './clone-errors.js';

export interface CloneRef {
  node: string;
  vmName: string;
  requestId?: string;
}

export interface CloneReport {
  workflowId: string;
  runId: string;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, … */
  state: string;
  /** The clone's own account, when a worker could answer the status query. */
  progress?: CloneStatus;
  result?: VmRecord;
  failure?: { type: string; message: string };
}

// An unreachable server must fail a CLI call within seconds, not hang a kubelet callback.
const CONNECT_TIMEOUT = '5 seconds';
const STATUS_QUERY_TIMEOUT_MS = 5_000;

/** Starts, awaits and looks up clones. Starts are idempotent per (node, VM name, request id). */
export class CloneClient {
  constructor(readonly client: Client) {}

  static async connect(settings: TemporalSettings): Promise<CloneClient> {
    const options = temporalConnectionOptions(settings);
    // Connection.connect would leave a failed connection's channel open; a lazy one is closed.
    const connection = Connection.lazy({ ...options, connectTimeout: CONNECT_TIMEOUT });
    try {
      await connection.ensureConnected();
    } catch (error) {
      await connection.close();
      throw await connectFailure(options, error);
    }
    return new CloneClient(new Client({ connection, namespace: settings.namespace }));
  }

  /**
   * Starts the clone, or joins it: a start of a request that is running returns the running
   * clone, of one that completed returns the completed clone, and of one that failed starts a
   * new run (which resumes from whatever the failed run left on the node).
   */
  async start(request: CloneRequest): Promise<WorkflowHandle<typeof cloneVM>> {
    const validation = validateCloneRequest(request);
    if (!validation.ok) {
      throw new InvalidCloneRequestError(
        validation.problems,
        `invalid clone request: ${describeProblems(validation.problems)}`
      );
    }

    const workflowId = cloneWorkflowId(request.node, request.vmName, request.requestId);
    try {
      return await this.client.workflow.start<typeof cloneVM>(CLONE_WORKFLOW_TYPE, {
        taskQueue: CLONE_WORKFLOW_QUEUE,
        workflowId,
        args: [validation.value],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
        ...cloneListing(validation.value),
      });
    } catch (error) {
      // Only a completed clone refuses a new run: hand back that clone.
      if (error instanceof WorkflowExecutionAlreadyStartedError) {
        return this.client.workflow.getHandle<typeof cloneVM>(workflowId);
      }
      // A namespace without the clone search attributes refuses the start; say which to add.
      const missing = await missingSearchAttributes(this.client).catch(() => []);
      if (missing.length > 0) throw new SearchAttributesMissingError(missing);
      throw error;
    }
  }

  /** Starts (or joins) the clone and waits for its VM record. */
  async clone(request: CloneRequest): Promise<VmRecord> {
    const handle = await this.start(request);
    return this.result(handle);
  }

  /** The clone's VM record, or a CloneFailedError / CloneCancelledError. */
  async result(handle: WorkflowHandle<typeof cloneVM>): Promise<VmRecord> {
    try {
      return await handle.result();
    } catch (error) {
      throw toCloneError(error, handle.workflowId);
    }
  }

  /** Where a clone is: its Temporal state, current step, and result or failure. */
  async status(ref: CloneRef): Promise<CloneReport> {
    const workflowId = cloneWorkflowId(ref.node, ref.vmName, ref.requestId);
    const handle = this.client.workflow.getHandle<typeof cloneVM>(workflowId);
    const description = await handle.describe();
    const state = description.status.name;
    const report: CloneReport = { workflowId, runId: description.runId, state };

    report.progress = await queryWithin(handle, STATUS_QUERY_TIMEOUT_MS);
    if (state === 'COMPLETED') report.result = await handle.result();
    if (state !== 'RUNNING' && state !== 'COMPLETED') {
      try {
        await handle.result();
      } catch (error) {
        const failed = toCloneError(error, workflowId);
        report.failure = {
          type: failed instanceof CloneFailedError ? failed.type : 'Cancelled',
          message: failed.message,
        };
      }
    }
    return report;
  }

  /**
   * Cancels every clone still running for a VM name on a node and waits until each has ended,
   * so its compensation has removed whatever it had made. Returns the workflow ids cancelled.
   */
  async cancelRunningClones(node: string, vmName: string): Promise<string[]> {
    // Names are checked first: they go into a visibility query.
    const names = validateCloneRequest({ node, vmName, snapshot: 'any' });
    if (!names.ok) return [];

    const id = cloneWorkflowId(node, vmName);
    const query = `WorkflowType = '${CLONE_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND (WorkflowId = '${id}' OR WorkflowId STARTS_WITH '${id}/')`;
    const cancelled: string[] = [];
    for await (const execution of this.client.workflow.list({ query })) {
      const handle = this.client.workflow.getHandle(execution.workflowId, execution.runId);
      await handle.cancel();
      await handle.result().catch(() => undefined);
      cancelled.push(execution.workflowId);
    }
    return cancelled;
  }

  async close(): Promise<void> {
    await this.client.connection.close();
  }
}

// gRPC status codes for refused credentials.
const UNAUTHENTICATED = 16;
const PERMISSION_DENIED = 7;

// The SDK wraps a refusal in "Failed to connect to Temporal server" and a failed TLS handshake
// in a bare timeout; this recovers what the user has to fix in each case.
async function connectFailure(options: TemporalConnectionOptions, error: unknown): Promise<Error> {
  const status = (error as { cause?: unknown }).cause;
  if (isGrpcServiceError(status)) {
    if (status.code === UNAUTHENTICATED || status.code === PERMISSION_DENIED) {
      const code = status.code === UNAUTHENTICATED ? 'UNAUTHENTICATED' : 'PERMISSION_DENIED';
      return new TemporalAuthError(options.address, code, status.details);
    }
    return new TemporalUnavailableError(
      options.address,
      `${(error as Error).message}: ${status.details}`
    );
  }
  const handshakeProblem = await tlsHandshakeFailure(options);
  return new TemporalUnavailableError(
    options.address,
    handshakeProblem ?? (error as Error).message
  );
}

async function queryWithin(
  handle: WorkflowHandle<typeof cloneVM>,
  timeoutMs: number
): Promise<CloneStatus | undefined> {
  // A closed clone is queried by replaying it on a worker; with no worker up the query would
  // wait, so it is given a few seconds and then left out.
  const timeout = new Promise<undefined>((resolve) =>
    setTimeout(() => resolve(undefined), timeoutMs).unref()
  );
  const query = handle.query(cloneStatusQuery).catch(() => undefined);
  return Promise.race([query, timeout]);
}

function toCloneError(error: unknown, workflowId: string): Error {
  if (!(error instanceof WorkflowFailedError)) return error as Error;

  const cause = error.cause;
  if (cause instanceof CancelledFailure) return new CloneCancelledError(workflowId);
  if (cause instanceof ApplicationFailure) {
    return new CloneFailedError(
      cause.type ?? 'Unknown',
      cause.message,
      workflowId,
      (cause.details ?? []) as unknown[]
    );
  }
  return new CloneFailedError('Unknown', cause?.message ?? error.message, workflowId);
}
