import { inspectCloudImage } from './cloudimg-index.js';
import { pullCloudImage } from './cloudimg-pull.js';
import { messageOf } from './errors.js';
import type { ImageInfo } from './image-ref.js';
import type { Layout } from './layout.js';
import { logInfo, logWarn } from './log.js';
import { inspectOciImage, pullOciImage } from './oci.js';
import type { SnapshotRecord } from './snapshot-store.js';

// cocoon's EnsureImage, run by `vm clone --pull`, reproduced step for step including its blind
// spots: the presence check reads only the index, the pull never forces (so an indexed URL with
// any present blob short-circuits), and no outcome ever fails the clone, it only logs.

const FUNC = 'core.EnsureImage';

// `repo[:tag]` or `repo@digest` with the digest pinned: `repo@<digest>`.
function pinOciRef(image: string, digest: string): string {
  const withoutDigest = image.split('@')[0] ?? image;
  const colon = withoutDigest.lastIndexOf(':');
  const repo =
    colon > withoutDigest.lastIndexOf('/') ? withoutDigest.slice(0, colon) : withoutDigest;
  return `${repo}@${digest}`;
}

async function isIndexed(layout: Layout, type: string, ref: string): Promise<boolean> {
  const inspect: (l: Layout, r: string) => Promise<ImageInfo | undefined> =
    type === 'cloudimg' ? inspectCloudImage : inspectOciImage;
  try {
    return (await inspect(layout, ref)) !== undefined;
  } catch (err) {
    logWarn(FUNC, `inspect image ${ref}: ${messageOf(err)}`);
    return false;
  }
}

export async function ensureImage(
  layout: Layout,
  snapshot: SnapshotRecord,
  signal: AbortSignal
): Promise<void> {
  const { image, image_digest: digest, image_type: type } = snapshot;
  if (!image || !type) {
    return;
  }
  if (await isIndexed(layout, type, digest || image)) {
    return;
  }

  const ref = type === 'oci' && digest ? pinOciRef(image, digest) : image;
  logInfo(FUNC, `base image not found locally, pulling ${ref} ...`);
  try {
    if (type === 'cloudimg') {
      await pullCloudImage(layout, ref, { force: false, showProgress: false, signal });
    } else {
      await pullOciImage(layout, ref, signal);
    }
  } catch (err) {
    logWarn(
      FUNC,
      `auto-pull ${ref} failed (imported image?): ${messageOf(err)} — ` +
        'clone may fail if base layers are missing'
    );
    return;
  }

  if (type === 'cloudimg' && digest && !(await isIndexed(layout, type, digest))) {
    logWarn(
      FUNC,
      `pulled ${ref} but expected digest ${digest} not found locally — ` +
        'clone may fail in VerifyBaseFiles'
    );
    return;
  }
  logInfo(FUNC, `base image ${ref} pulled successfully`);
}
