import type { Layout } from './layout.js';
import { resolveByRef } from './resolve-ref.js';
import { readJsonFile, updateJsonFile } from './store.js';

// The snapshot database `<root>/snapshot/db/snapshots.json`: `{"snapshots": {"<id>": record}}`,
// where a record is exactly the object `snapshot inspect` prints. The snapshot's files live in
// `<root>/snapshot/localfile/<id>/`.

export interface SnapshotRecord {
  cpu: number;
  memory: number;
  storage: number;
  queue_size?: number;
  disk_queue_size?: number;
  image: string;
  image_digest: string;
  image_type: string;
  network?: string;
  no_direct_io?: boolean;
  windows?: boolean;
  id: string;
  name: string;
  description?: string;
  image_blob_ids: Record<string, Record<string, never>>;
  hypervisor: string;
  nics: number;
  created_at: string;
}

interface SnapshotDb {
  snapshots: Record<string, SnapshotRecord>;
}

function createEmptyDb(): SnapshotDb {
  return { snapshots: {} };
}

export async function listSnapshots(layout: Layout): Promise<SnapshotRecord[]> {
  const db = await readJsonFile(layout.snapshots.db, createEmptyDb);
  return Object.values(db.snapshots).sort((a, b) => a.created_at.localeCompare(b.created_at));
}

export async function findSnapshot(
  layout: Layout,
  ref: string
): Promise<SnapshotRecord | undefined> {
  return resolveByRef(await listSnapshots(layout), ref, (snapshot) => snapshot.name);
}

// Adds a record unless another snapshot already uses its name.
export function insertSnapshot(layout: Layout, record: SnapshotRecord): Promise<void> {
  return updateJsonFile(layout.snapshots.db, layout.snapshots.lock, createEmptyDb, (db) => {
    const holder = Object.values(db.snapshots).find((s) => record.name && s.name === record.name);
    if (holder) {
      throw new Error(`snapshot name "${record.name}" already in use by ${holder.id}`);
    }
    db.snapshots[record.id] = record;
  });
}

// The record with cocoon's field order and its omitempty rules applied.
export function presentSnapshot(record: SnapshotRecord): Record<string, unknown> {
  return {
    cpu: record.cpu,
    memory: record.memory,
    storage: record.storage,
    ...(record.queue_size ? { queue_size: record.queue_size } : {}),
    ...(record.disk_queue_size ? { disk_queue_size: record.disk_queue_size } : {}),
    image: record.image,
    image_digest: record.image_digest,
    image_type: record.image_type,
    ...(record.network ? { network: record.network } : {}),
    ...(record.no_direct_io ? { no_direct_io: true } : {}),
    ...(record.windows ? { windows: true } : {}),
    id: record.id,
    name: record.name,
    ...(record.description ? { description: record.description } : {}),
    image_blob_ids: record.image_blob_ids,
    hypervisor: record.hypervisor,
    nics: record.nics,
    created_at: record.created_at,
  };
}
