import { stat } from 'node:fs/promises';

import { digestHex, matchImageKeys, type ImageInfo } from './image-ref.js';
import { cloudBlobPath, type Layout } from './layout.js';
import { readJsonFile, updateJsonFile, withFileLock } from './store.js';

// cocoon's cloud-image index: `<root>/cloudimg/db/images.json`, one entry per URL or import name.

export interface CloudImageEntry {
  ref: string;
  content_sum: string;
  size: number;
  created_at: string;
}

export interface CloudImageIndex {
  images: Record<string, CloudImageEntry>;
}

function createEmptyIndex(): CloudImageIndex {
  return { images: {} };
}

export function readCloudIndex(layout: Layout): Promise<CloudImageIndex> {
  return readJsonFile(layout.cloudimg.index, createEmptyIndex);
}

export function updateCloudIndex<R>(
  layout: Layout,
  mutate: (index: CloudImageIndex) => R | Promise<R>,
  signal?: AbortSignal
): Promise<R> {
  return updateJsonFile(
    layout.cloudimg.index,
    layout.cloudimg.lock,
    createEmptyIndex,
    mutate,
    signal
  );
}

// Reads the index under its lock, for lookups that must not see a half-finished commit.
export function readCloudIndexLocked<R>(
  layout: Layout,
  read: (index: CloudImageIndex) => R | Promise<R>,
  signal?: AbortSignal
): Promise<R> {
  return withFileLock(layout.cloudimg.lock, async () => read(await readCloudIndex(layout)), signal);
}

export function findCloudKeys(index: CloudImageIndex, ref: string): string[] {
  const entries = Object.entries(index.images).map(([key, entry]) => ({
    key,
    digest: entry.content_sum,
  }));
  return matchImageKeys(entries, ref);
}

// What `image inspect` sees: the index alone, never the blob file.
export async function inspectCloudImage(
  layout: Layout,
  ref: string
): Promise<ImageInfo | undefined> {
  const index = await readCloudIndex(layout);
  const key = findCloudKeys(index, ref)[0];
  const entry = key === undefined ? undefined : index.images[key];
  return entry && key !== undefined ? describeCloudImage(key, entry) : undefined;
}

export function describeCloudImage(key: string, entry: CloudImageEntry): ImageInfo {
  return {
    id: entry.content_sum,
    name: key,
    type: 'cloudimg',
    size: entry.size,
    created_at: entry.created_at,
  };
}

// The check behind the pull short-circuit: a regular, non-empty blob file named by the digest.
export async function hasUsableBlob(layout: Layout, contentSum: string): Promise<boolean> {
  try {
    const info = await stat(cloudBlobPath(layout, digestHex(contentSum)));
    return info.isFile() && info.size > 0;
  } catch {
    return false;
  }
}

export async function listCloudImages(layout: Layout): Promise<ImageInfo[]> {
  const index = await readCloudIndex(layout);
  return Object.keys(index.images)
    .sort()
    .map((key) => describeCloudImage(key, index.images[key] as CloudImageEntry));
}

// Index-only delete of every key the ref matches (a digest matches all its keys); the blob files
// stay for `cocoon gc`. Returns the removed keys.
export function removeCloudImages(layout: Layout, ref: string): Promise<string[]> {
  return updateCloudIndex(layout, (index) => {
    const keys = findCloudKeys(index, ref);
    for (const key of keys) {
      delete index.images[key];
    }
    return keys;
  });
}
