import type { Layout } from './layout.js';
import { resolveByRef } from './resolve-ref.js';
import { readJsonFile, updateJsonFile } from './store.js';

// The Cloud Hypervisor VM database `<root>/cloudhypervisor/db/vms.json`:
// `{"vms": {"<id>": record}}`. A record is cocoon's VM object without the fields that are read
// from the run directory at print time (pid, socket_path), plus the image blobs it pins.

export type VmState = 'creating' | 'created' | 'running' | 'stopped' | 'error';

export interface VmConfig {
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
  name: string;
}

export interface NicConfig {
  tap: string;
  mac: string;
  num_queues: number;
  queue_size: number;
  netns_path?: string;
  backend?: string;
  bridge_dev?: string;
  network?: { ip: string; gateway: string; prefix: number };
}

export interface DiskConfig {
  path: string;
  ro: boolean;
  serial: string;
  role: 'cow' | 'cidata' | 'layer' | 'data';
}

export interface VmRecord {
  id: string;
  hypervisor: string;
  state: VmState;
  config: VmConfig;
  network_configs: NicConfig[];
  storage_configs: DiskConfig[];
  first_booted: boolean;
  created_at: string;
  updated_at: string;
  started_at?: string;
  stopped_at?: string;
  // Keeps the base image blobs alive for `cocoon gc`; never printed.
  image_blob_ids: Record<string, Record<string, never>>;
}

interface VmDb {
  vms: Record<string, VmRecord>;
}

function createEmptyDb(): VmDb {
  return { vms: {} };
}

export async function listVms(layout: Layout): Promise<VmRecord[]> {
  const db = await readJsonFile(layout.vms.db, createEmptyDb);
  return Object.values(db.vms).sort((a, b) => a.created_at.localeCompare(b.created_at));
}

export async function findVm(layout: Layout, ref: string): Promise<VmRecord | undefined> {
  return resolveByRef(await listVms(layout), ref, (vm) => vm.config.name);
}

// Inserts a placeholder record; the name check and the insert happen under one lock.
export function reserveVm(layout: Layout, record: VmRecord, signal: AbortSignal): Promise<void> {
  return updateJsonFile(
    layout.vms.db,
    layout.vms.lock,
    createEmptyDb,
    (db) => {
      const holder = Object.values(db.vms).find((vm) => vm.config.name === record.config.name);
      if (holder) {
        throw new Error(`vm name "${record.config.name}" already exists (id: ${holder.id})`);
      }
      db.vms[record.id] = record;
    },
    signal
  );
}

export function saveVm(layout: Layout, record: VmRecord): Promise<void> {
  return updateJsonFile(layout.vms.db, layout.vms.lock, createEmptyDb, (db) => {
    db.vms[record.id] = record;
  });
}

export function deleteVm(layout: Layout, id: string): Promise<void> {
  return updateJsonFile(layout.vms.db, layout.vms.lock, createEmptyDb, (db) => {
    delete db.vms[id];
  });
}
