import { inspectCloudImage, listCloudImages, removeCloudImages } from './cloudimg-index.js';
import { importCloudImage } from './cloudimg-import.js';
import { pullCloudImage } from './cloudimg-pull.js';
import type { CommandContext } from './context.js';
import type { ImageInfo } from './image-ref.js';
import type { Layout } from './layout.js';
import { isJsonFormat } from './list-format.js';
import { logInfo } from './log.js';
import { inspectOciImage, listOciImages, pullOciImage, removeOciImages } from './oci.js';
import { printJson, printTable, printText } from './output.js';
import { formatBinarySize } from './units.js';

// The `image` commands. Refs are looked up in both backends, OCI first, as cocoon does.

const FUNC = 'images.manage';

export function isCloudImageRef(ref: string): boolean {
  return ref.startsWith('http://') || ref.startsWith('https://');
}

interface ResolvedImage {
  info: ImageInfo;
  backend: 'oci' | 'cloudimg';
}

async function resolveImage(layout: Layout, ref: string): Promise<ResolvedImage> {
  const oci = await inspectOciImage(layout, ref);
  const cloud = await inspectCloudImage(layout, ref);

  if (oci && cloud) {
    throw new Error(
      `image ${ref}: image ref resolves to multiple backends (backends: oci, cloudimg)`
    );
  }
  if (oci) {
    return { info: oci, backend: 'oci' };
  }
  if (cloud) {
    return { info: cloud, backend: 'cloudimg' };
  }
  throw new Error(`image "${ref}": not found in any backend`);
}

export async function runImagePull({ layout, args, flags, signal }: CommandContext) {
  // Sequential on purpose: the first failure stops the remaining refs.
  for (const ref of args) {
    if (isCloudImageRef(ref)) {
      await pullCloudImage(layout, ref, { force: flags.bool('force'), showProgress: true, signal });
    } else {
      await pullOciImage(layout, ref, signal);
    }
  }
}

export async function runImageInspect({ layout, args }: CommandContext) {
  const { info } = await resolveImage(layout, args[0] ?? '');
  printJson(info);
}

export async function runImageList({ layout, flags }: CommandContext) {
  const json = isJsonFormat(flags.string('format'));
  const images = [...(await listOciImages(layout)), ...(await listCloudImages(layout))];

  if (images.length === 0) {
    printText('No images found.');
  } else if (json) {
    printJson(images);
  } else {
    const rows = images.map((image) => [
      image.type,
      image.name,
      image.id.slice(0, 19),
      formatBinarySize(image.size),
      image.created_at,
    ]);
    printTable(['TYPE', 'NAME', 'DIGEST', 'SIZE', 'CREATED'], rows);
  }
}

export async function runImageImport({ layout, args, signal }: CommandContext) {
  const [name = '', ...files] = args;
  await importCloudImage(layout, name, files, signal);
}

export async function runImageRm({ layout, args }: CommandContext) {
  // Every ref must resolve before anything is deleted.
  const targets = await Promise.all(
    args.map(async (ref) => ({ ref, backend: (await resolveImage(layout, ref)).backend }))
  );

  for (const { ref, backend } of targets) {
    const removed =
      backend === 'oci' ? await removeOciImages(layout, ref) : await removeCloudImages(layout, ref);
    if (removed.length === 0) {
      logInfo(FUNC, 'no matching images found');
    }
    for (const key of removed) {
      logInfo(FUNC, `deleted: ${key}`);
    }
  }
}
