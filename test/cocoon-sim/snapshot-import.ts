import { createReadStream } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

import type { ReadEntry } from 'tar';

import { CanceledError, errorCode, wrapError } from './errors.js';
import { formatTimestamp, generateId } from './ids.js';
import { digestHex } from './image-ref.js';
import { snapshotDataDir, type Layout } from './layout.js';
import { insertSnapshot, type SnapshotRecord } from './snapshot-store.js';

// `snapshot import`: a tar (gzip or not) holding `snapshot.json` = {"version":1,"config":{...}}
// and the snapshot's files, which land in `<root>/snapshot/localfile/<new id>/`.

const ENVELOPE = 'snapshot.json';
const ENVELOPE_VERSION = 1;
const EXTRACTED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory']);

export interface SnapshotImportOptions {
  file?: string;
  name?: string;
  description?: string;
  signal: AbortSignal;
}

// Links and devices are skipped: a snapshot is plain files.
function isPlainEntry(_path: string, entry: unknown): boolean {
  return EXTRACTED_TYPES.has((entry as ReadEntry).type);
}

async function extractArchive(dir: string, options: SnapshotImportOptions): Promise<void> {
  // Loaded on first use, so other commands do not pay for it.
  const { x: extractTar } = await import('tar');
  const unpack = extractTar({ cwd: dir, strict: true, preserveOwner: false, filter: isPlainEntry });
  const input = options.file ? createReadStream(options.file) : process.stdin;

  try {
    await pipeline(input, unpack, { signal: options.signal });
  } catch (err) {
    if (options.signal.aborted) {
      throw new CanceledError();
    }
    if (errorCode(err) === 'ENOENT' && options.file) {
      throw new Error(`open ${options.file}: no such file or directory`, { cause: err });
    }
    throw wrapError('invalid snapshot archive', err);
  }
}

// Reads and removes the envelope, leaving only the snapshot's own files in dir.
async function takeEnvelope(dir: string): Promise<Record<string, unknown>> {
  const file = path.join(dir, ENVELOPE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new Error(`invalid snapshot archive: ${ENVELOPE} not found`);
  }
  await rm(file, { force: true });

  let envelope: { version?: unknown; config?: unknown };
  try {
    envelope = JSON.parse(text) as typeof envelope;
  } catch (err) {
    throw wrapError(`invalid snapshot archive: parse ${ENVELOPE}`, err);
  }
  if (envelope.version !== ENVELOPE_VERSION) {
    throw new Error(`unsupported snapshot archive version ${String(envelope.version)}`);
  }
  if (typeof envelope.config !== 'object' || envelope.config === null) {
    throw new Error(`invalid snapshot archive: ${ENVELOPE} has no config`);
  }
  return envelope.config as Record<string, unknown>;
}

function numberField(config: Record<string, unknown>, key: string, fallback = 0): number {
  const value = config[key];
  return typeof value === 'number' ? value : fallback;
}

function stringField(config: Record<string, unknown>, key: string): string {
  const value = config[key];
  return typeof value === 'string' ? value : '';
}

// Archives written without image_blob_ids get the one blob a cloud image or the simulator's OCI
// placeholder has: the digest's hex.
function blobIds(config: Record<string, unknown>): Record<string, Record<string, never>> {
  const given = config.image_blob_ids;
  const keys =
    typeof given === 'object' && given !== null
      ? Object.keys(given)
      : [digestHex(stringField(config, 'image_digest'))].filter(Boolean);
  return Object.fromEntries(keys.map((key) => [key, {}]));
}

function buildRecord(
  config: Record<string, unknown>,
  id: string,
  options: SnapshotImportOptions
): SnapshotRecord {
  return {
    cpu: numberField(config, 'cpu'),
    memory: numberField(config, 'memory'),
    storage: numberField(config, 'storage'),
    queue_size: numberField(config, 'queue_size'),
    disk_queue_size: numberField(config, 'disk_queue_size'),
    image: stringField(config, 'image'),
    image_digest: stringField(config, 'image_digest'),
    image_type: stringField(config, 'image_type'),
    network: stringField(config, 'network'),
    no_direct_io: config.no_direct_io === true,
    windows: config.windows === true,
    id,
    name: options.name ?? stringField(config, 'name'),
    description: options.description ?? stringField(config, 'description'),
    image_blob_ids: blobIds(config),
    hypervisor: stringField(config, 'hypervisor') || 'cloud-hypervisor',
    nics: numberField(config, 'nics', 1),
    created_at: formatTimestamp(),
  };
}

async function importInto(dir: string, id: string, options: SnapshotImportOptions, layout: Layout) {
  await extractArchive(dir, options);
  const record = buildRecord(await takeEnvelope(dir), id, options);
  await insertSnapshot(layout, record);
}

// Returns the new snapshot's ID.
export async function importSnapshot(
  layout: Layout,
  options: SnapshotImportOptions
): Promise<string> {
  const id = generateId();
  const dir = snapshotDataDir(layout, id);
  await mkdir(dir, { recursive: true });

  try {
    await importInto(dir, id, options, layout);
    return id;
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw wrapError('import', err);
  }
}
