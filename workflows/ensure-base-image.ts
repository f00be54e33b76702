import { log } from '@temporalio/workflow';
import { digestPinnedUrl } from '../common/epoch-url.js';
import { FailureType } from '../common/failures.js';
import { isPullableUrl, type BaseImage } from '../common/request.js';
import type { BlobVerification } from '../common/status.js';
import type { NodeActivityProxies } from './activity-options.js';
import { cloneFailure, failureTypeOf } from './clone-failure.js';
import type { CloneProgress } from './clone-progress.js';

export interface EnsureImageContext {
  node: string;
  snapshot: string;
  base: BaseImage;
  pullAttempts: number;
  activities: NodeActivityProxies;
  progress: CloneProgress;
}

/**
 * Makes sure the blob of the pinned digest is on the node before anything is restored from
 * it, and says how it got there. A stale URL cache gets its retry here, at the pull, instead of
 * failing deep inside the hypervisor.
 */
export async function ensureBaseImage(context: EnsureImageContext): Promise<BlobVerification> {
  const { base, activities, progress } = context;

  if (base.type === 'oci') {
    progress.countPull();
    await progress.run('pull', () =>
      activities.pull.pullOciImage.executeWithOptions(
        { summary: `pull ${base.image}@${base.digest} on ${context.node}` },
        [{ image: base.image, digest: base.digest }]
      )
    );
    return 'oci-by-digest';
  }

  // The blob file, not cocoon's index, is what the restore needs; the index can disagree with
  // the disk both ways.
  const blob = await progress.run('check-blob', () =>
    activities.quick.findBaseBlob.executeWithOptions(
      { summary: `look for the blob of ${base.digest} on ${context.node}` },
      [{ digest: base.digest }]
    )
  );
  if (blob.present) return 'already-present';

  if (!isPullableUrl(base.image)) throw importedBaseMissing(context, blob.path);
  return pullCloudImage(context);
}

async function pullCloudImage(context: EnsureImageContext): Promise<BlobVerification> {
  const { base, activities, progress } = context;
  const url = base.image;
  let servedDigest: string | undefined;

  for (let attempt = 1; attempt <= context.pullAttempts; attempt++) {
    progress.countPull();
    await progress.run('pull', () =>
      activities.pull.pullCloudImage.executeWithOptions(
        { summary: `force pull ${url} on ${context.node}` },
        [{ url }]
      )
    );

    const outcome = await progress.run('verify', () =>
      activities.verify.verifyCloudImage.executeWithOptions(
        { summary: `verify sha256 of ${base.digest} on ${context.node}` },
        [{ url, digest: base.digest }]
      )
    );
    if (outcome.verified) return outcome.verification;
    servedDigest = outcome.servedDigest;

    // Other bytes than pinned: the tag tells a damaged download (retry) from a moved tag.
    const tag = await progress.run('check-tag', () =>
      activities.quick.checkRegistryTag.executeWithOptions(
        { summary: `check whether the tag of ${url} still names ${base.digest}` },
        [{ url, digest: base.digest }]
      )
    );
    log.warn('Pull produced another digest than the snapshot pins', {
      url,
      expected: base.digest,
      served: servedDigest,
      tag: tag.kind,
      attempt,
    });
    if (tag.kind === 'moved') break;
  }

  return pullByDigest(context, servedDigest);
}

// The tag moved on after the snapshot was baked, or every download came out wrong: fetch the
// exact content from the registry's content-addressed endpoint, through cocoon, so cocoon still
// owns its store.
async function pullByDigest(
  context: EnsureImageContext,
  servedDigest: string | undefined
): Promise<BlobVerification> {
  const { base, activities, progress } = context;
  const pinnedUrl = digestPinnedUrl(base.image, base.digest);
  if (!pinnedUrl) {
    throw digestUnavailable(
      context,
      servedDigest,
      'the URL is not an epoch /dl/ URL, so no registry URL serves the pinned digest'
    );
  }

  progress.countPull();
  try {
    await progress.run('pull-by-digest', () =>
      activities.pull.pullCloudImage.executeWithOptions(
        { summary: `pull ${base.digest} by digest on ${context.node}` },
        [{ url: base.image, byDigest: base.digest }]
      )
    );
  } catch (error) {
    if (failureTypeOf(error) !== FailureType.ImageNotFound) throw error;
    throw digestUnavailable(context, servedDigest, `${pinnedUrl} does not serve it either`);
  }

  const outcome = await progress.run('verify', () =>
    activities.verify.verifyCloudImage.executeWithOptions(
      { summary: `verify sha256 of ${base.digest} on ${context.node}` },
      [{ url: pinnedUrl, digest: base.digest }]
    )
  );
  if (outcome.verified) return outcome.verification;
  throw digestUnavailable(
    context,
    servedDigest,
    `${pinnedUrl} served ${outcome.servedDigest ?? 'nothing usable'}`
  );
}

function digestUnavailable(
  context: EnsureImageContext,
  servedDigest: string | undefined,
  why: string
) {
  const { base, node, snapshot } = context;
  return cloneFailure(
    FailureType.DigestUnavailable,
    `no registry serves base image ${base.digest} of snapshot ${snapshot} for node ${node}: ${base.image} served ${servedDigest ?? 'no usable image'} instead, and ${why}. Push the pinned image again or re-bake the snapshot on the current image`,
    { url: base.image, expectedDigest: base.digest, servedDigest, node }
  );
}

function importedBaseMissing(context: EnsureImageContext, path: string) {
  const { base, node, snapshot } = context;
  return cloneFailure(
    FailureType.ImportedBaseMissing,
    `snapshot ${snapshot} was baked on ${JSON.stringify(base.image)}, an image imported under that name, so it cannot be pulled; its blob ${path} (${base.digest}) is not on node ${node}. Import that image on ${node} with cocoon image import, then start the clone again`,
    { image: base.image, digest: base.digest, node }
  );
}
