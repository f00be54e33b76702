import { chmod, mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';

import { updateCloudIndex, type CloudImageEntry } from './cloudimg-index.js';
import { errorCode, wrapError } from './errors.js';
import { fileExists } from './files.js';
import { formatTimestamp } from './ids.js';
import { cloudBlobPath, type Layout } from './layout.js';
import { logInfo } from './log.js';
import { parseQcow2Header, readHead } from './qcow2.js';
import { convertToQcow2, probeFormat } from './qemu.js';
import { withFileLock } from './store.js';

// The second half of a cloud-image pull or import: turn the received file into
// `<root>/cloudimg/blobs/<hex>.qcow2`, named by the digest of the RECEIVED bytes even when the
// blob had to be converted, and point the index key at it.

const FUNC = 'cloudimg.commit';

export interface ReceivedImage {
  file: string;
  hex: string;
}

interface SourceFormat {
  format: string;
  // A qcow2 v3 without a backing file is already what a blob must be.
  final: boolean;
}

async function detectSourceFormat(file: string, signal: AbortSignal): Promise<SourceFormat> {
  const header = parseQcow2Header(await readHead(file));
  if (header) {
    if (header.version !== 2 && header.version !== 3) {
      throw new Error(`inspect image: unsupported qcow2 version ${header.version}`);
    }
    return { format: 'qcow2', final: header.version === 3 && !header.hasBackingFile };
  }

  let format: string;
  try {
    format = await probeFormat(file, signal);
  } catch (err) {
    throw wrapError('inspect image', err);
  }
  if (format !== 'raw') {
    throw new Error(`inspect image: unsupported source format "${format}" (expected qcow2 or raw)`);
  }
  return { format, final: false };
}

// A final qcow2 is used byte-for-byte; anything else goes through `qemu-img convert`. Either way
// the result waits in temp/.tmp-<hex>.qcow2 for the commit.
async function stageBlob(
  layout: Layout,
  image: ReceivedImage,
  signal: AbortSignal
): Promise<string> {
  const staged = path.join(layout.cloudimg.temp, `.tmp-${image.hex}.qcow2`);
  const { format, final } = await detectSourceFormat(image.file, signal);

  if (final) {
    await rename(image.file, staged);
    return staged;
  }

  logInfo(FUNC, 'converting to qcow2...');
  await withFileLock(
    `${staged}.lock`,
    async () => {
      try {
        await convertToQcow2(image.file, staged, format, signal);
      } catch (err) {
        await rm(staged, { force: true });
        throw err;
      }
    },
    signal
  );
  return staged;
}

async function moveIntoPlace(staged: string, blob: string): Promise<void> {
  try {
    await chmod(staged, 0o444);
    await rename(staged, blob);
  } catch (err) {
    // Concurrent commits of one digest share the staging name; when another process already
    // moved it into place, the blob it installed is this one.
    const installedByOther = errorCode(err) === 'ENOENT' && (await fileExists(blob));
    if (!installedByOther) {
      throw wrapError('update index: rename blob', err);
    }
  }
}

async function installBlob(layout: Layout, staged: string, hex: string): Promise<number> {
  const blob = cloudBlobPath(layout, hex);
  await moveIntoPlace(staged, blob);

  try {
    return (await stat(blob)).size;
  } catch (err) {
    throw wrapError(`update index: stat blob ${blob}`, err);
  }
}

function buildEntry(key: string, hex: string, size: number): CloudImageEntry {
  return { ref: key, content_sum: `sha256:${hex}`, size, created_at: formatTimestamp() };
}

export async function commitCloudImage(
  layout: Layout,
  image: ReceivedImage,
  key: string,
  signal: AbortSignal
): Promise<CloudImageEntry> {
  await mkdir(layout.cloudimg.blobs, { recursive: true });
  const staged = await stageBlob(layout, image, signal);

  try {
    return await updateCloudIndex(
      layout,
      async (index) => {
        const entry = buildEntry(key, image.hex, await installBlob(layout, staged, image.hex));
        index.images[key] = entry;
        return entry;
      },
      signal
    );
  } finally {
    await rm(staged, { force: true });
  }
}

// Points a key at a blob that is already on disk, as a cached import does.
export function indexExistingBlob(
  layout: Layout,
  key: string,
  hex: string,
  signal: AbortSignal
): Promise<CloudImageEntry> {
  return updateCloudIndex(
    layout,
    async (index) => {
      const entry = buildEntry(key, hex, (await stat(cloudBlobPath(layout, hex))).size);
      index.images[key] = entry;
      return entry;
    },
    signal
  );
}
