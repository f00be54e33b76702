import { mkdir, stat, writeFile } from 'node:fs/promises';

import { wrapError } from './errors.js';
import { formatTimestamp } from './ids.js';
import { digestHex, matchImageKeys, type ImageInfo } from './image-ref.js';
import { ociBlobPath, type Layout } from './layout.js';
import { logInfo } from './log.js';
import { readJsonFile, updateJsonFile } from './store.js';

// The OCI backend, reduced to what a clone needs. The simulator cannot talk to a registry, so a
// pull accepts only exact `repo@sha256:<hex>` refs: it records the ref in
// `<root>/oci/db/images.json` and writes a small placeholder blob `<root>/oci/blobs/<hex>.erofs`
// that stands in for all of the image's layers.

const FUNC = 'oci.pull';

const DIGEST_REF = /^(.+)@(sha256:[0-9a-f]{64})$/;

interface OciEntry {
  ref: string;
  manifest_digest: string;
  size: number;
  created_at: string;
}

interface OciIndex {
  images: Record<string, OciEntry>;
}

function createEmptyIndex(): OciIndex {
  return { images: {} };
}

function readOciIndex(layout: Layout): Promise<OciIndex> {
  return readJsonFile(layout.oci.index, createEmptyIndex);
}

function findOciKeys(index: OciIndex, ref: string): string[] {
  const entries = Object.entries(index.images).map(([key, entry]) => ({
    key,
    digest: entry.manifest_digest,
  }));
  return matchImageKeys(entries, ref);
}

function describeOciImage(key: string, entry: OciEntry): ImageInfo {
  return {
    id: entry.manifest_digest,
    name: key,
    type: 'oci',
    size: entry.size,
    created_at: entry.created_at,
  };
}

async function writePlaceholderBlob(layout: Layout, digest: string): Promise<number> {
  const blob = ociBlobPath(layout, digestHex(digest));
  await mkdir(layout.oci.blobs, { recursive: true });
  await writeFile(blob, `cocoon simulator placeholder for ${digest}\n`, { mode: 0o444, flag: 'w' });
  return (await stat(blob)).size;
}

export async function pullOciImage(
  layout: Layout,
  ref: string,
  signal: AbortSignal
): Promise<void> {
  const match = DIGEST_REF.exec(ref);
  if (!match) {
    throw new Error(`pull ${ref}: simulator only pulls OCI images by digest`);
  }
  const digest = match[2] ?? '';

  try {
    const size = await writePlaceholderBlob(layout, digest);
    await updateJsonFile(
      layout.oci.index,
      layout.oci.lock,
      createEmptyIndex,
      (index) => {
        index.images[ref] = { ref, manifest_digest: digest, size, created_at: formatTimestamp() };
      },
      signal
    );
  } catch (err) {
    throw wrapError(`pull ${ref}`, err);
  }
  logInfo(FUNC, `pull complete: ${ref} -> ${digest}`);
}

export async function inspectOciImage(layout: Layout, ref: string): Promise<ImageInfo | undefined> {
  const index = await readOciIndex(layout);
  const key = findOciKeys(index, ref)[0];
  const entry = key === undefined ? undefined : index.images[key];
  return entry && key !== undefined ? describeOciImage(key, entry) : undefined;
}

export async function listOciImages(layout: Layout): Promise<ImageInfo[]> {
  const index = await readOciIndex(layout);
  return Object.keys(index.images)
    .sort()
    .map((key) => describeOciImage(key, index.images[key] as OciEntry));
}

// Index-only delete of every key the ref matches; returns the removed keys.
export function removeOciImages(layout: Layout, ref: string): Promise<string[]> {
  return updateJsonFile(layout.oci.index, layout.oci.lock, createEmptyIndex, (index) => {
    const keys = findOciKeys(index, ref);
    for (const key of keys) {
      delete index.images[key];
    }
    return keys;
  });
}
