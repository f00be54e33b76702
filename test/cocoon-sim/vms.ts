import { rm } from 'node:fs/promises';

import type { CommandContext } from './context.js';
import { messageOf, wrapError } from './errors.js';
import { isStandInAlive, readStandInPid, stopStandIn } from './hypervisor.js';
import { vmRunDir, type Layout } from './layout.js';
import { isJsonFormat } from './list-format.js';
import { logError, logInfo } from './log.js';
import { printJson, printTable, printText } from './output.js';
import { formatBinarySize } from './units.js';
import { deleteVm, findVm, listVms, type VmRecord } from './vm-store.js';
import { presentVm } from './vm-view.js';

// The `vm` commands other than clone.

const FUNC = 'vm.lifecycle';

async function resolveVm(layout: Layout, ref: string): Promise<VmRecord> {
  let vm: VmRecord | undefined;
  try {
    vm = await findVm(layout, ref);
  } catch (err) {
    throw wrapError(`vm ${ref}`, err);
  }
  if (!vm) {
    throw new Error(`vm ${ref}: VM not found`);
  }
  return vm;
}

export async function runVmInspect({ layout, args }: CommandContext) {
  let vm: VmRecord;
  try {
    vm = await resolveVm(layout, args[0] ?? '');
  } catch (err) {
    throw wrapError('inspect', err);
  }
  printJson(await presentVm(layout, vm, 'inspect'));
}

export async function runVmList({ layout, flags }: CommandContext) {
  const json = isJsonFormat(flags.string('format'));
  const vms = await listVms(layout);

  if (vms.length === 0) {
    printText('No VMs found.');
    return;
  }
  if (json) {
    printJson(await Promise.all(vms.map((vm) => presentVm(layout, vm, 'list'))));
    return;
  }

  // Unlike the JSON, the table shows reconciled states.
  const views = await Promise.all(vms.map((vm) => presentVm(layout, vm, 'inspect')));
  const rows = vms.map((vm, index) => [
    vm.id,
    vm.config.name,
    String(views[index]?.state),
    String(vm.config.cpu),
    formatBinarySize(vm.config.memory),
    vm.config.image,
    vm.created_at,
  ]);
  printTable(['ID', 'NAME', 'STATE', 'CPU', 'MEMORY', 'IMAGE', 'CREATED'], rows);
}

// A record that says running but whose process is gone can be removed without --force.
async function removeVm(layout: Layout, vm: VmRecord, force: boolean): Promise<void> {
  const runDir = vmRunDir(layout, vm.id);
  const pid = await readStandInPid(runDir);
  const alive = isStandInAlive(pid);
  if (vm.state === 'running' && alive && !force) {
    throw new Error('stop before delete: running (force required)');
  }

  if (alive) {
    await stopStandIn(pid);
  }
  await rm(runDir, { recursive: true, force: true });
  await deleteVm(layout, vm.id);
}

export async function runVmRm({ layout, args, flags }: CommandContext) {
  const json = flags.string('output') === 'json';
  const targets = new Map<string, VmRecord>();
  for (const ref of args) {
    const vm = await resolveVm(layout, ref);
    targets.set(vm.id, vm);
  }

  const succeeded: string[] = [];
  const failures: string[] = [];
  for (const vm of targets.values()) {
    try {
      await removeVm(layout, vm, flags.bool('force'));
      succeeded.push(vm.id);
      if (!json) {
        logInfo(FUNC, `deleted VM: ${vm.id}`);
      }
    } catch (err) {
      const failure = `rm: item ${vm.id}: ${messageOf(err)}`;
      logError(FUNC, failure);
      failures.push(failure);
    }
  }

  if (failures.length > 0) {
    throw new Error(failures.join('; '));
  }
  if (json) {
    printJson({ succeeded });
  }
}
