import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import path from 'node:path';

import type { FlagValues } from './args.js';
import { wrapError } from './errors.js';
import { ociBlobPath, vmRunDir, type Layout } from './layout.js';
import type { SnapshotRecord } from './snapshot-store.js';
import { formatBinarySize, parseRamSize } from './units.js';
import type { DiskConfig, NicConfig, VmConfig } from './vm-store.js';

// The VM a clone will become: the snapshot's settings, raised (never lowered) by the flags.

const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/;

// Cloud Hypervisor's virtio-net queue depth when nothing else is asked for.
const DEFAULT_QUEUE_SIZE = 512;

export interface CloneShape {
  config: VmConfig;
  nics: NicConfig[];
  disks: DiskConfig[];
}

function checkName(name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new Error(
      `vm name "${name}" is invalid: must match ${NAME_PATTERN.source} (max 63 chars)`
    );
  }
}

function checkMinimum(
  flag: string,
  requested: number,
  minimum: number,
  format: (n: number) => string = String
): void {
  if (requested < minimum) {
    throw new Error(`--${flag} ${format(requested)} below snapshot minimum ${format(minimum)}`);
  }
}

// A size flag: empty inherits the snapshot's value, anything else must not shrink it.
function resolveSize(flags: FlagValues, flag: string, minimum: number): number {
  const text = flags.string(flag);
  if (!text) {
    return minimum;
  }

  let requested: number;
  try {
    requested = parseRamSize(text);
  } catch (err) {
    throw wrapError(`invalid --${flag} "${text}"`, err);
  }
  checkMinimum(flag, requested, minimum, formatBinarySize);
  return requested;
}

// A count flag: 0 inherits the snapshot's value.
function resolveCount(flags: FlagValues, flag: string, minimum: number): number {
  const requested = flags.int(flag);
  if (requested === 0) {
    return minimum;
  }
  checkMinimum(flag, requested, minimum);
  return requested;
}

function checkHostCores(cpu: number): void {
  const cores = availableParallelism();
  if (cpu > cores) {
    throw new Error(`requested ${cpu} vCPUs exceeds host cores (${cores})`);
  }
}

function buildConfig(snapshot: SnapshotRecord, flags: FlagValues, id: string): VmConfig {
  const name = flags.string('name') || `cocoon-clone-${id.slice(0, 8)}`;
  checkName(name);

  const cpu = resolveCount(flags, 'cpu', snapshot.cpu);
  if (flags.int('cpu') !== 0) {
    checkHostCores(cpu);
  }
  const noDirectIo = flags.has('no-direct-io') ? flags.bool('no-direct-io') : snapshot.no_direct_io;

  return {
    cpu,
    memory: resolveSize(flags, 'memory', snapshot.memory),
    storage: resolveSize(flags, 'storage', snapshot.storage),
    queue_size: flags.int('queue-size') || snapshot.queue_size,
    disk_queue_size: flags.int('disk-queue-size') || snapshot.disk_queue_size,
    image: snapshot.image,
    image_digest: snapshot.image_digest,
    image_type: snapshot.image_type,
    network: flags.string('network') || snapshot.network,
    no_direct_io: noDirectIo,
    windows: snapshot.windows,
    name,
  };
}

// Addresses are derived from the VM ID so they are stable for one VM and differ between VMs;
// the simulator allocates no real network.
function buildNic(id: string, index: number, config: VmConfig, bridge: string): NicConfig {
  const seed = createHash('sha256').update(`${id}/${index}`).digest();
  const third = seed[0] ?? 0;
  const fourth = ((seed[1] ?? 0) % 253) + 2;
  const hex = (n: number): string => n.toString(16).padStart(2, '0');
  const base = {
    tap: `tap${id.slice(0, 8)}-${index}`,
    mac: `02:42:0a:16:${hex(third)}:${hex(fourth)}`,
    num_queues: config.cpu * 2,
    queue_size: config.queue_size || DEFAULT_QUEUE_SIZE,
  };

  if (bridge) {
    return { ...base, backend: 'bridge', bridge_dev: bridge };
  }
  return {
    ...base,
    netns_path: `/var/run/netns/cocoon-${id}`,
    network: { ip: `10.22.${third}.${fourth}`, gateway: '10.22.0.1', prefix: 16 },
  };
}

function buildDisks(layout: Layout, snapshot: SnapshotRecord, id: string): DiskConfig[] {
  const runDir = vmRunDir(layout, id);
  const disk = (file: string, role: DiskConfig['role'], ro: boolean): DiskConfig => ({
    path: file,
    ro,
    serial: '',
    role,
  });

  if (snapshot.image_type === 'oci') {
    const layers = Object.keys(snapshot.image_blob_ids).map((hex) =>
      disk(ociBlobPath(layout, hex), 'layer', true)
    );
    return [...layers, disk(path.join(runDir, 'cow.raw'), 'cow', false)];
  }
  return [
    disk(path.join(runDir, 'overlay.qcow2'), 'cow', false),
    disk(path.join(runDir, 'cidata.img'), 'cidata', true),
  ];
}

export function shapeClone(
  layout: Layout,
  snapshot: SnapshotRecord,
  flags: FlagValues,
  id: string
): CloneShape {
  const config = buildConfig(snapshot, flags, id);
  const nicCount = resolveCount(flags, 'nics', snapshot.nics);
  const bridge = flags.string('bridge');

  return {
    config,
    nics: Array.from({ length: nicCount }, (_, index) => buildNic(id, index, config, bridge)),
    disks: buildDisks(layout, snapshot, id),
  };
}
