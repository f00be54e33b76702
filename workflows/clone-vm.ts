import { CancellationScope, log, workflowInfo } from '@temporalio/workflow';
import { FailureType } from '../common/failures.js';
import {
  DEFAULT_NODE_TIMEOUT_SECONDS,
  DEFAULT_PULL_ATTEMPTS,
  describeProblems,
  validateCloneRequest,
  type BaseImage,
  type CloneRequest,
} from '../common/request.js';
import type { VmRecord } from '../common/vm-record.js';
import { nodeActivities, type NodeActivityProxies } from './activity-options.js';
import { cloneFailure, failureTypeOf } from './clone-failure.js';
import { CloneProgress } from './clone-progress.js';
import { ensureBaseImage } from './ensure-base-image.js';
import { whileNodeHasWorker } from './node-watch.js';

/**
 * Clones a VM from a hot snapshot on one node: find the snapshot's base image, make sure its
 * exact blob is on the node (pulling and verifying it if not), restore the VM, and confirm it
 * runs. Returns the VM record as `cocoon vm inspect` prints it.
 */
export async function cloneVM(input: CloneRequest): Promise<VmRecord> {
  const progress = new CloneProgress(input);

  try {
    const request = validateRequest(input);
    progress.start();
    const timeoutSeconds = request.options?.nodeTimeoutSeconds ?? DEFAULT_NODE_TIMEOUT_SECONDS;
    const vm = await whileNodeHasWorker(request.node, timeoutSeconds, () =>
      cloneOnNode(request, progress)
    );
    progress.finish();
    return vm;
  } catch (error) {
    progress.fail(error);
    throw error;
  }
}

async function cloneOnNode(request: CloneRequest, progress: CloneProgress): Promise<VmRecord> {
  const activities = nodeActivities(request.node);

  const base = await progress.run('resolve-base', () =>
    activities.quick.resolveBaseImage.executeWithOptions(
      { summary: `find the base image of snapshot ${request.snapshot} on ${request.node}` },
      [{ snapshot: request.snapshot, base: request.base }]
    )
  );
  progress.setBase(base);

  const imageContext = {
    node: request.node,
    snapshot: request.snapshot,
    base,
    pullAttempts: request.options?.pullAttempts ?? DEFAULT_PULL_ATTEMPTS,
    activities,
    progress,
  };
  progress.status.verification = await ensureBaseImage(imageContext);

  try {
    await restoreVm(request, base, activities, progress, async () => {
      progress.status.verification = await ensureBaseImage(imageContext);
    });
    return await progress.run('confirm', () =>
      activities.confirm.confirmVmRunning.executeWithOptions(
        { summary: `confirm VM ${request.vmName} runs on ${request.node}` },
        [{ vmName: request.vmName }]
      )
    );
  } catch (error) {
    if (needsCompensation(error)) await compensate(request, activities, progress);
    throw error;
  }
}

// A `cocoon gc` between verify and restore can delete the blob just verified. The restore then
// fails on the backing file, and the image steps run once more before the restore is retried.
async function restoreVm(
  request: CloneRequest,
  base: BaseImage,
  activities: NodeActivityProxies,
  progress: CloneProgress,
  ensureImageAgain: () => Promise<unknown>
): Promise<VmRecord> {
  const restore = () =>
    progress.run('restore', () =>
      activities.restore.restoreVm.executeWithOptions(
        { summary: `restore VM ${request.vmName} from ${request.snapshot} on ${request.node}` },
        [
          {
            cloneId: workflowInfo().workflowId,
            snapshot: request.snapshot,
            vmName: request.vmName,
            resources: request.resources,
          },
        ]
      )
    );

  try {
    return await restore();
  } catch (error) {
    if (failureTypeOf(error) !== FailureType.BaseImageMissing) throw error;
    log.warn('Base image vanished before the restore; fetching it again', {
      digest: base.digest,
      node: request.node,
    });
    await ensureImageAgain();
    return await restore();
  }
}

function needsCompensation(error: unknown): boolean {
  const type = failureTypeOf(error);
  // A taken name is someone else's VM; a lost node cannot run the removal.
  return type !== FailureType.VmNameTaken && type !== FailureType.NodeUnavailable;
}

// Removes what the clone may have half-made. It runs even when the clone was cancelled, and
// the ledger check inside the activity guarantees it only ever removes this clone's own VM.
async function compensate(
  request: CloneRequest,
  activities: NodeActivityProxies,
  progress: CloneProgress
): Promise<void> {
  try {
    await CancellationScope.nonCancellable(() =>
      progress.run('compensate', () =>
        activities.compensate.removeClonedVm.executeWithOptions(
          { summary: `remove the half-made VM ${request.vmName} on ${request.node}` },
          [{ cloneId: workflowInfo().workflowId, vmName: request.vmName }]
        )
      )
    );
  } catch (error) {
    log.error('Could not remove the VM of a failed clone', {
      vmName: request.vmName,
      node: request.node,
      error: (error as Error).message,
    });
  }
}

function validateRequest(input: CloneRequest): CloneRequest {
  const validation = validateCloneRequest(input);
  if (validation.ok) return validation.value;
  throw cloneFailure(
    FailureType.InvalidRequest,
    `invalid clone request: ${describeProblems(validation.problems)}; fix the request and start the clone again`,
    { problems: validation.problems }
  );
}
