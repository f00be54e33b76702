import { Context, log } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { digestPinnedUrl, parseEpochDownloadUrl } from '../common/epoch-url.js';
import { FailureType } from '../common/failures.js';
import {
  describeProblems,
  isPullableUrl,
  stripDigest,
  validateBaseImage,
  type BaseImage,
  type CloneResources,
  type ImageType,
} from '../common/request.js';
import type { BlobVerification } from '../common/status.js';
import type { VmRecord } from '../common/vm-record.js';
import type { CocoonCli } from './cocoon/cocoon-cli.js';
import { heartbeatWhile } from './heartbeat.js';
import { guardInput } from './input-guard.js';
import { blobPath, isBlobPresent } from './image/blob-file.js';
import { BlobVerifier } from './image/blob-verifier.js';
import { SharedWork } from './image/shared-work.js';
import { DownloadWatch } from './image/download-watch.js';
import { freeBytes } from './image/free-space.js';
import { lookUpImageSize } from './registry/image-size.js';
import { isAllowedUrl } from './registry/allow-list.js';
import { checkTag, type TagState } from './registry/tag-check.js';
import { failure, toFailure } from './to-failure.js';
import { CloneLedger } from './vm/clone-ledger.js';
import { identifyProcess, isStillRunning } from './vm/process-identity.js';

export interface NodeActivityDeps {
  node: string;
  cocoon: CocoonCli;
  /** URL prefixes this worker may download images from. */
  registries: readonly string[];
  /** Where the clone ledger lives: outside cocoon's root, owned by this worker. */
  ledgerDir: string;
  /** A download that has not grown for this long is stopped as stalled. */
  pullStallSeconds: number;
}

// A well-formed digest for steps that check a URL alone.
const ANY_DIGEST = `sha256:${'0'.repeat(64)}`;

// How often a running download's temp file is measured.
const STALL_CHECK_MS = 1_000;
// How often an earlier attempt's `vm clone` is checked for having finished.
const EARLIER_CLONE_POLL_MS = 500;

export type VerifyOutcome =
  | { verified: true; verification: Exclude<BlobVerification, 'already-present'> }
  | { verified: false; servedDigest?: string };

export interface RestoreInput {
  cloneId: string;
  snapshot: string;
  vmName: string;
  resources?: CloneResources;
}

/**
 * The activities that must run on the VM host itself: they read its disk and run its cocoon.
 * The worker of node N registers them on N's own task queue only.
 */
export function createNodeActivities(deps: NodeActivityDeps) {
  const { node, cocoon } = deps;
  const rootDir = cocoon.options.rootDir;
  const ledger = new CloneLedger(deps.ledgerDir);
  // Clones on this node that need the same image at the same time share one download and one
  // hash; both live as long as this worker.
  const pulls = new SharedWork<void>();
  const downloadedBytes = new Map<string, number>();
  const verifier = new BlobVerifier(rootDir, (digest, verification, bytes) =>
    log.info('Hashed base image blob', { digest, verification, bytes })
  );

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

      const stopBeating = heartbeatWhile(() => ({
        url,
        bytesDownloaded: downloadedBytes.get(url) ?? 0,
      }));
      try {
        log.info('Force-pulling base image', { url, node, joining: pulls.waitersOf(url) > 0 });
        await pulls.join(
          url,
          (signal) => download(url, what, signal),
          Context.current().cancellationSignal
        );
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
        await waitForEarlierCloneProcess(input);
        const existing = await cocoon.inspectVm(input.vmName);
        if (existing) {
          const adopted = await settleExistingVm(existing, input, what);
          if (adopted) return adopted;
        }

        await ledger.claim(input.vmName, input.cloneId);
        try {
          // Never cancelled: killing `vm clone` mid-restore leaves a placeholder and a network
          // allocation behind. It is let finish, and compensation removes the VM.
          return await cocoon.cloneVm(
            input.snapshot,
            { name: input.vmName, ...input.resources },
            {
              outliveWorker: { outputBase: cloneOutputBase(input.vmName) },
              onStart: async (pid) => {
                const identity = await identifyProcess(pid);
                await ledger.claim(input.vmName, input.cloneId, identity);
              },
            }
          );
        } catch (error) {
          const failed = toFailure(error, what);
          // The name went to someone else between our check and the clone: the ledger must not
          // keep claiming a VM this clone did not make.
          if (typeOf(failed) === FailureType.VmNameTaken) {
            await ledger.release(input.vmName, input.cloneId);
          }
          throw failed;
        }
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

  /**
   * One download, shared by every clone that waits for it: checks the disk has room, then runs
   * cocoon while watching the temp file grow, and stops cocoon (SIGTERM) if it stalls.
   */
  async function download(url: string, what: string, signal: AbortSignal): Promise<void> {
    await ensureDiskRoom(url, what, signal);
    log.info('Downloading base image', { url, node });

    const watch = await DownloadWatch.start(rootDir);
    const stalled = new AbortController();
    const stallMs = deps.pullStallSeconds * 1000;
    const timer = setInterval(() => {
      void watch.idleMs().then((idleMs) => {
        downloadedBytes.set(url, watch.bytes);
        if (idleMs >= stallMs) stalled.abort();
      });
    }, STALL_CHECK_MS);

    try {
      await cocoon.pullImage(url, true, { signal: AbortSignal.any([signal, stalled.signal]) });
    } catch (error) {
      if (!stalled.signal.aborted || signal.aborted) throw error;
      throw failure(
        FailureType.PullStalled,
        `${what}: the download stopped growing at ${watch.bytes} bytes for ${deps.pullStallSeconds}s, so cocoon was stopped; the pull is retried`,
        { url, bytes: watch.bytes }
      );
    } finally {
      clearInterval(timer);
      downloadedBytes.delete(url);
    }
  }

  // Said before a byte is downloaded: a pull that would fill the disk fails cocoon's other
  // pulls and clones too, and cannot succeed by retrying.
  async function ensureDiskRoom(url: string, what: string, signal: AbortSignal): Promise<void> {
    const size = await lookUpImageSize(url, { signal });
    if (!size) return;

    const needed = size.bytes * (size.needsConversion ? 2 : 1);
    const available = await freeBytes(rootDir);
    if (available >= needed) return;
    throw failure(
      FailureType.DiskFull,
      `${what}: the image needs ${needed} bytes${size.needsConversion ? ' (download and converted copy)' : ''} but ${rootDir} has ${available} free; free disk space on node ${node} and start the clone again`,
      { url, neededBytes: needed, availableBytes: available }
    );
  }

  // An attempt killed with its worker leaves its `vm clone` running (it is never killed). The
  // next attempt lets it finish before judging what it made.
  async function waitForEarlierCloneProcess(input: RestoreInput): Promise<void> {
    const entry = await ledger.entry(input.vmName);
    const earlier = entry?.cloneId === input.cloneId ? entry.cloneProcess : undefined;
    if (!earlier) return;

    if (await isStillRunning(earlier)) {
      log.info('Waiting for the vm clone of an earlier attempt to finish', {
        vmName: input.vmName,
        pid: earlier.pid,
      });
      while (await isStillRunning(earlier)) await sleep(EARLIER_CLONE_POLL_MS);
    }
    // Its output files had no reader left; this attempt judges by `vm inspect` instead.
    const base = cloneOutputBase(input.vmName);
    await Promise.all([
      rm(`${base}.stdout`, { force: true }),
      rm(`${base}.stderr`, { force: true }),
    ]);
  }

  function cloneOutputBase(vmName: string): string {
    return join(deps.ledgerDir, 'output', vmName);
  }

  async function settleExistingVm(
    existing: VmRecord,
    input: RestoreInput,
    what: string
  ): Promise<VmRecord | undefined> {
    const owner = await ledger.owner(input.vmName);
    if (owner !== input.cloneId) {
      throw failure(
        FailureType.VmNameTaken,
        `${what}: a VM named ${input.vmName} (id ${existing.id}, state ${existing.state}) already exists and was not made by this clone; remove it or choose another name`
      );
    }

    if (existing.state === 'running') {
      log.info('Adopting VM made by an earlier attempt', { vmName: input.vmName, id: existing.id });
      return existing;
    }

    // A `creating` placeholder or a dead VM from an attempt that was killed: start over.
    log.warn('Removing leftover VM of an earlier attempt', {
      vmName: input.vmName,
      state: existing.state,
    });
    await cocoon.removeVm(input.vmName);
    return undefined;
  }
}

export type NodeActivities = ReturnType<typeof createNodeActivities>;

function checkedBase(base: BaseImage, what: string): BaseImage {
  const checked = validateBaseImage(base);
  if (!checked.ok) {
    throw failure(FailureType.InvalidRequest, `${what}: ${describeProblems(checked.problems)}`);
  }
  return checked.value;
}

function ensureAllowed(url: string, registries: readonly string[], what: string): void {
  if (!isPullableUrl(url)) {
    throw failure(
      FailureType.InvalidRequest,
      `${what}: ${JSON.stringify(url)} is not an http(s) URL`
    );
  }
  if (!isAllowedUrl(url, registries)) {
    throw failure(
      FailureType.RegistryNotAllowed,
      `${what}: the URL is outside the registries this worker may download from (${registries.join(', ') || 'none configured'}); add its prefix to the worker's registries`
    );
  }
}

// A pull stopped because its clone was cancelled reports a cancellation, not a failure: cocoon
// was told to stop (SIGTERM) and removed its temp file.
function cancelledOr(error: unknown): unknown {
  if (!Context.current().cancellationSignal.aborted) return error;
  return new CancelledFailure('the clone was cancelled; cocoon stopped the download');
}

function typeOf(error: unknown): string | undefined {
  return (error as { type?: string } | null)?.type;
}
