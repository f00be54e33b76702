import { constants } from 'node:fs';
import { copyFile, link, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { shapeClone } from './clone-config.js';
import type { FlagValues } from './args.js';
import type { CommandContext } from './context.js';
import { ensureImage } from './ensure-image.js';
import { CanceledError, wrapError } from './errors.js';
import { fileExists } from './files.js';
import { launchStandIn, stopStandIn } from './hypervisor.js';
import { formatTimestamp, generateId } from './ids.js';
import { digestHex } from './image-ref.js';
import { cloudBlobPath, ociBlobPath, snapshotDataDir, vmRunDir, type Layout } from './layout.js';
import { logInfo } from './log.js';
import { printJson, printText } from './output.js';
import { findSnapshot, type SnapshotRecord } from './snapshot-store.js';
import { deleteVm, reserveVm, saveVm, type VmRecord } from './vm-store.js';
import { presentVm } from './vm-view.js';

// `vm clone`, in cocoon's order: inspect the snapshot, shape the VM, optionally EnsureImage,
// reserve the record, lay out the run directory, verify, "restore" (start the stand-in process
// and check the base blob the way Cloud Hypervisor would), finalize. Any failure after the
// reservation rolls everything back.

const FUNC = 'vm.clone';

// Test knob: milliseconds to pause right after the `creating` record is reserved, so tests can
// observe the placeholder or interrupt a clone in flight.
const CLONE_DELAY_ENV = 'COCOON_SIM_CLONE_DELAY_MS';

async function inspectSnapshot(layout: Layout, ref: string): Promise<SnapshotRecord> {
  let snapshot: SnapshotRecord | undefined;
  try {
    snapshot = await findSnapshot(layout, ref);
  } catch (err) {
    throw wrapError(`inspect snapshot ${ref}`, err);
  }
  if (!snapshot) {
    throw new Error(`inspect snapshot ${ref}: snapshot not found`);
  }
  return snapshot;
}

async function pauseForTests(signal: AbortSignal): Promise<void> {
  const ms = Number(process.env[CLONE_DELAY_ENV] ?? 0);
  if (ms > 0) {
    try {
      await delay(ms, undefined, { signal });
    } catch {
      throw new CanceledError();
    }
  }
}

function pickCowFileName(snapshot: SnapshotRecord): string {
  return snapshot.image_type === 'oci' ? 'cow.raw' : 'overlay.qcow2';
}

async function checkSnapshotIntegrity(snapshot: SnapshotRecord, source: string): Promise<void> {
  for (const name of ['config.json', 'state.json', pickCowFileName(snapshot)]) {
    const file = path.join(source, name);
    if (!(await fileExists(file))) {
      throw new Error(
        `snapshot integrity: snapshot file ${name} missing: stat ${file}: no such file or directory`
      );
    }
  }
}

// Memory files are hard-linked (copied across filesystems), everything else copied, with a
// reflink where the filesystem offers one.
async function layOutRunDir(layout: Layout, snapshot: SnapshotRecord, runDir: string) {
  const source = snapshotDataDir(layout, snapshot.id);
  await checkSnapshotIntegrity(snapshot, source);
  await mkdir(runDir, { recursive: true });

  for (const name of await readdir(source)) {
    const from = path.join(source, name);
    const to = path.join(runDir, name);
    if (name.startsWith('memory-range')) {
      await link(from, to).catch(() => copyFile(from, to));
    } else {
      await copyFile(from, to, constants.COPYFILE_FICLONE);
    }
  }

  if (snapshot.image_type !== 'oci') {
    await writeFile(path.join(runDir, 'cidata.img'), 'cocoon simulator cidata placeholder\n');
  }
}

// What VerifyBaseFiles stats: OCI layers only. A cloud image's base blob is only referenced as
// the overlay's backing file, so it is not checked until the restore.
async function verifyBaseFiles(layout: Layout, snapshot: SnapshotRecord): Promise<void> {
  if (snapshot.image_type !== 'oci') {
    return;
  }
  for (const hex of Object.keys(snapshot.image_blob_ids)) {
    const blob = ociBlobPath(layout, hex);
    if (!(await fileExists(blob))) {
      throw new Error(
        `verify base files: base layer ${blob}: stat ${blob}: no such file or directory`
      );
    }
  }
}

// Cloud Hypervisor opens the overlay's backing file during vm.restore; a missing blob comes
// back as its 500 response, which cocoon wraps with the API call.
async function restoreVm(layout: Layout, snapshot: SnapshotRecord): Promise<void> {
  if (snapshot.image_type !== 'cloudimg' || !snapshot.image_digest) {
    return;
  }
  const blob = cloudBlobPath(layout, digestHex(snapshot.image_digest));
  if (!(await fileExists(blob))) {
    const body = JSON.stringify({
      error: `Backing file I/O error: ${blob} — No such file or directory`,
    });
    throw new Error(`vm.restore: PUT http://localhost/api/v1/vm.restore → 500: ${body}`);
  }
}

async function bootClone(
  layout: Layout,
  snapshot: SnapshotRecord,
  record: VmRecord,
  signal: AbortSignal
): Promise<void> {
  const runDir = vmRunDir(layout, record.id);
  await pauseForTests(signal);
  await layOutRunDir(layout, snapshot, runDir);
  await verifyBaseFiles(layout, snapshot);
  if (signal.aborted) {
    throw new CanceledError();
  }

  // Like Cloud Hypervisor, the process is up before the restore can fail, and must go with it.
  const pid = await launchStandIn(runDir);
  try {
    await restoreVm(layout, snapshot);
  } catch (err) {
    await stopStandIn(pid);
    throw err;
  }
  record.network_configs.forEach((nic, index) => {
    logInfo(FUNC, `removed snapshot NIC ${index}`);
    logInfo(FUNC, `added NIC with MAC ${nic.mac} on ${nic.tap}`);
  });
}

async function rollBack(layout: Layout, record: VmRecord): Promise<void> {
  await rm(vmRunDir(layout, record.id), { recursive: true, force: true });
  await deleteVm(layout, record.id);
}

function createRecord(layout: Layout, snapshot: SnapshotRecord, flags: FlagValues): VmRecord {
  const id = generateId();
  const { config, nics, disks } = shapeClone(layout, snapshot, flags, id);
  const now = formatTimestamp();
  return {
    id,
    hypervisor: snapshot.hypervisor,
    state: 'creating',
    config,
    network_configs: nics,
    storage_configs: disks,
    first_booted: false,
    created_at: now,
    updated_at: now,
    image_blob_ids: snapshot.image_blob_ids,
  };
}

function renderHints(record: VmRecord, ref: string): string {
  const nic = record.network_configs[0]?.network;
  const lines = [`VM ${record.config.name} (${record.id}) cloned from snapshot ${ref}.`];
  if (nic) {
    lines.push(
      "The guest resumed with the snapshot's network settings. Inside the guest, apply the new",
      'address before using the network:',
      `  ip addr flush dev eth0 && ip addr add ${nic.ip}/${nic.prefix} dev eth0 && ` +
        `ip route add default via ${nic.gateway}`
    );
  }
  return lines.join('\n');
}

export async function runVmClone(ctx: CommandContext): Promise<void> {
  const { layout, flags, signal } = ctx;
  const ref = ctx.args[0] ?? '';
  const json = flags.string('output') === 'json';

  const snapshot = await inspectSnapshot(layout, ref);
  const record = createRecord(layout, snapshot, flags);
  if (flags.bool('pull')) {
    await ensureImage(layout, snapshot, signal);
  }
  if (!json) {
    logInfo(FUNC, `cloning VM from snapshot ${ref} (direct) ...`);
  }

  try {
    await reserveVm(layout, record, signal);
  } catch (err) {
    throw wrapError('clone VM', wrapError('reserve VM record', err));
  }

  try {
    await bootClone(layout, snapshot, record, signal);
    const now = formatTimestamp();
    Object.assign(record, {
      state: 'running',
      first_booted: true,
      updated_at: now,
      started_at: now,
    });
    await saveVm(layout, record);
  } catch (err) {
    await rollBack(layout, record);
    throw wrapError('clone VM', signal.aborted ? new CanceledError() : err);
  }

  logInfo(FUNC, `VM ${record.id} cloned from snapshot`);
  if (json) {
    printJson(await presentVm(layout, record, 'clone'));
  } else {
    printText(renderHints(record, ref));
  }
}
