import { Context, log } from '@temporalio/activity';
import { ensureAllowed } from './registry/url-guard.js';
import { CancelledFailure } from '@temporalio/common';
import { digestPinnedUrl, parseEpochDownloadUrl } from '../common/epoch-url.js';
import { FailureType } from '../common/failures.js';
import {
  describeProblems,
  stripDigest,
  validateBaseImage,
  type BaseImage,
  type ImageType,
} from '../common/request.js';
import type { BlobVerification } from '../common/status.js';
import type { VmRecord } from '../common/vm-record.js';
import type { CocoonCli } from './cocoon/cocoon-cli.js';
import { heartbeatWhile } from './heartbeat.js';
import { guardInput } from './input-guard.js';
import { blobPath, isBlobPresent } from './image/blob-file.js';
import { BlobVerifier } from './image/blob-verifier.js';
import { checkTag, type TagState } from './registry/tag-check.js';
import { failure, toFailure } from './to-failure.js';
import { CloneLedger } from './vm/clone-ledger.js';
import { VmRestorer, type RestoreInput } from './vm/vm-restorer.js';
import { CloudImagePuller } from './image/cloud-image-pull.js';
import type { NodeMetrics } from './node-metrics.js';

export interface NodeActivityDeps {
  node: string;
  cocoon: CocoonCli;
  /** URL prefixes this worker may download images from. */
  registries: readonly string[];
  /** Where the clone ledger lives: outside cocoon's root, owned by this worker. */
  ledgerDir: string;
  /** A download that has not grown for this long is stopped as stalled. */
  pullStallSeconds: number;
  metrics?: NodeMetrics;
}

// A well-formed digest for steps that check a URL alone.
const ANY_DIGEST = `sha256:${'0'.repeat(64)}`;

export type VerifyOutcome =
  | { verified: true; verification: Exclude<BlobVerification, 'already-present'> }
  | { verified: false; servedDigest?: string };

/**
 * The activities that must run on the VM host itself: they read its disk and run its cocoon.
 * The worker of node N registers them on N's own task queue only.
 */
export function createNodeActivities(deps: NodeActivityDeps) {
  const { node, cocoon } = deps;
  const rootDir = cocoon.options.rootDir;
  const ledger = new CloneLedger(deps.ledgerDir);
  const restorer = new VmRestorer(cocoon, ledger, deps.ledgerDir);
  // Clones on this node that need the same image at the same time share one download and one
  // hash; both live as long as this worker.
  const puller = new CloudImagePuller({
    node,
    cocoon,
    stallSeconds: deps.pullStallSeconds,
    onDownloadEnded: (outcome, bytes) => deps.metrics?.pullEnded(outcome, bytes),
  });
  const verifier = new BlobVerifier(rootDir, (digest, verification, bytes, seconds) => {
    log.info('Hashed base image blob', { digest, verification, bytes, seconds });
    deps.metrics?.blobHashed(seconds, verification);
  });

  return {
    /** The snapshot's base image, from the request when the caller knew it, else from cocoon. */
    async resolveBaseImage(input: { snapshot: string; base?: BaseImage }): Promise<BaseImage> {
      guardInput(`resolving a base image on node ${node}`, { snapshot: input.snapshot });
      const what = `resolving the base image of snapshot ${input.snapshot} on node ${node}`;
      if (input.base) return checkedBase(input.base, what);

      try {
        const snapshot = await cocoon.inspectSnapshot(input.snapshot);
        return checkedBase(
          {
            image: snapshot.image,
            digest: snapshot.image_digest,
            type: snapshot.image_type as ImageType,
          },
          what
        );
      } catch (error) {
        throw toFailure(error, what);
      }
    },

    /** Whether the pinned blob file is on disk: the one thing a clone needs. No network. */
    async findBaseBlob(input: { digest: string }): Promise<{ present: boolean; path: string }> {
      guardInput(`looking for a base image on node ${node}`, {
        image: { image: 'unused', digest: input.digest, type: 'cloudimg' },
      });
      const path = blobPath(rootDir, input.digest);
      return { present: await isBlobPresent(path), path };
    },

    /**
     * `cocoon image pull --force`: bypasses the URL cache that caused stale clones. With
     * `byDigest`, pulls the registry's content-addressed URL for that digest instead; the
     * allow-list is checked against the image URL it derives from.
     */
    async pullCloudImage(input: { url: string; byDigest?: string }): Promise<void> {
      guardInput(`pulling ${JSON.stringify(input.url)} on node ${node}`, {
        image: { image: input.url, digest: input.byDigest ?? ANY_DIGEST, type: 'cloudimg' },
      });
      ensureAllowed(input.url, deps.registries, `pulling ${input.url} on node ${node}`);
      const url = input.byDigest ? digestPinnedUrl(input.url, input.byDigest) : input.url;
      if (!url) {
        throw failure(
          FailureType.DigestUnavailable,
          `pulling ${input.byDigest} on node ${node}: ${input.url} is not an epoch /dl/ URL, so no registry URL serves that digest`
        );
      }
      const what = `pulling ${url} on node ${node}`;

      const stopBeating = heartbeatWhile(() => ({ url, ...puller.progressOf(url) }));
      try {
        // When the workflow scheduled this step, which it did on finding the blob missing (the
        // server's clock; nodes and server are expected to keep time with NTP).
        const { cancellationSignal, info } = Context.current();
        await puller.pull(url, what, cancellationSignal, info.scheduledTimestampMs);
      } catch (error) {
        throw cancelledOr(toFailure(error, what));
      } finally {
        stopBeating();
      }
    },

    /** OCI bases are pulled by `repo@digest`, which names exactly one image. */
    async pullOciImage(input: { image: string; digest: string }): Promise<void> {
      guardInput(`pulling an OCI image on node ${node}`, { image: { ...input, type: 'oci' } });
      const ref = `${stripDigest(input.image)}@${input.digest}`;
      const what = `pulling ${ref} on node ${node}`;
      const stopBeating = heartbeatWhile(() => ({ ref }));
      try {
        await cocoon.pullImage(ref, false, { signal: Context.current().cancellationSignal });
      } catch (error) {
        throw cancelledOr(toFailure(error, what));
      } finally {
        stopBeating();
      }
    },

    /**
     * Checks that the pinned digest is now in cocoon's index (found by digest, not by URL, since
     * a concurrent pull may rewrite the URL's entry) and its blob is on disk, and records
     * whether the blob is byte-exact or was converted by cocoon.
     */
    async verifyCloudImage(input: { url: string; digest: string }): Promise<VerifyOutcome> {
      guardInput(`verifying a base image on node ${node}`, {
        image: { image: input.url, digest: input.digest, type: 'cloudimg' },
      });
      const what = `verifying ${input.digest} on node ${node}`;
      try {
        const entry = await cocoon.inspectImage(input.digest);
        const path = blobPath(rootDir, input.digest);

        if (!entry || entry.id !== input.digest || !(await isBlobPresent(path))) {
          const served = await cocoon.inspectImage(input.url);
          return { verified: false, servedDigest: served?.id };
        }

        const stopBeating = heartbeatWhile(() => ({
          digest: input.digest,
          bytesHashed: verifier.progressOf(input.digest),
        }));
        try {
          const verification = await verifier.verify(
            input.digest,
            Context.current().cancellationSignal
          );
          log.info('Base image verified', { digest: input.digest, verification });
          return { verified: true, verification };
        } finally {
          stopBeating();
        }
      } catch (error) {
        throw cancelledOr(toFailure(error, what));
      }
    },

    /** Asks the registry whether the image's tag still names the pinned digest. */
    async checkRegistryTag(input: { url: string; digest: string }): Promise<TagState> {
      guardInput(`checking a registry tag from node ${node}`, {
        image: { image: input.url, digest: input.digest, type: 'cloudimg' },
      });
      const location = parseEpochDownloadUrl(input.url);
      if (!location) return { kind: 'unknown', reason: `${input.url} is not an epoch /dl/ URL` };

      try {
        return await checkTag(location, input.digest, {
          signal: Context.current().cancellationSignal,
        });
      } catch (error) {
        // An unreachable registry is the same situation as a failing pull: retry the activity.
        throw failure(
          FailureType.RegistryUnavailable,
          `checking the tag of ${input.url} from node ${node}: ${(error as Error).message}`
        );
      }
    },

    /**
     * `cocoon vm clone`, safe to run again: a VM this clone already made is adopted, a
     * placeholder its killed attempt left is removed first, and a VM anyone else made is never
     * touched.
     */
    async restoreVm(input: RestoreInput): Promise<VmRecord> {
      guardInput(`restoring a VM on node ${node}`, {
        vmName: input.vmName,
        snapshot: input.snapshot,
        resources: input.resources,
      });
      const what = `restoring VM ${input.vmName} from snapshot ${input.snapshot} on node ${node}`;
      const stopBeating = heartbeatWhile(() => ({ vmName: input.vmName }));
      try {
        return await restorer.restore(input, what);
      } catch (error) {
        throw toFailure(error, what);
      } finally {
        stopBeating();
      }
    },

    /** The VM's reconciled record, once it runs with a live hypervisor process. */
    async confirmVmRunning(input: { vmName: string }): Promise<VmRecord> {
      guardInput(`confirming a VM on node ${node}`, { vmName: input.vmName });
      const what = `confirming VM ${input.vmName} runs on node ${node}`;
      let record: VmRecord | undefined;
      try {
        record = await cocoon.inspectVm(input.vmName);
      } catch (error) {
        throw toFailure(error, what);
      }

      if (!record) throw failure(FailureType.VmNotRunning, `${what}: cocoon has no such VM`);
      if (record.state !== 'running' || !record.pid) {
        throw failure(
          FailureType.VmNotRunning,
          `${what}: state is ${JSON.stringify(record.state)} with pid ${record.pid ?? 'none'}`
        );
      }
      return record;
    },

    /** Compensation: removes the VM, but only when the ledger says this clone made it. */
    async removeClonedVm(input: { cloneId: string; vmName: string }): Promise<boolean> {
      guardInput(`removing a VM on node ${node}`, { vmName: input.vmName });
      const what = `removing VM ${input.vmName} on node ${node}`;
      if ((await ledger.owner(input.vmName)) !== input.cloneId) return false;

      try {
        const removed = await cocoon.removeVm(input.vmName);
        await ledger.release(input.vmName, input.cloneId);
        log.info('Removed VM made by a failed clone', { vmName: input.vmName, removed });
        return removed;
      } catch (error) {
        throw toFailure(error, what);
      }
    },
  };
}

export type NodeActivities = ReturnType<typeof createNodeActivities>;

function checkedBase(base: BaseImage, what: string): BaseImage {
  const checked = validateBaseImage(base);
  if (!checked.ok) {
    throw failure(FailureType.InvalidRequest, `${what}: ${describeProblems(checked.problems)}`);
  }
  return checked.value;
}

// A pull stopped because its clone was cancelled reports a cancellation, not a failure: cocoon
// was told to stop (SIGTERM) and removed its temp file.
function cancelledOr(error: unknown): unknown {
  if (!Context.current().cancellationSignal.aborted) return error;
  return new CancelledFailure('the clone was cancelled; cocoon stopped the download');
}
