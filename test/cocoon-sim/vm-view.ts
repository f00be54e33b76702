import { apiSocketPath, isStandInAlive, readStandInPid } from './hypervisor.js';
import { vmRunDir, type Layout } from './layout.js';
import type { VmConfig, VmRecord } from './vm-store.js';

// How a VM record is printed. Three callers see it differently, as in cocoon:
// - clone: the struct built during the clone, so pid 0, no socket_path, first_booted false;
// - list: the DB record as stored, state not reconciled;
// - inspect: state reconciled, a dead "running" VM shows as "stopped (stale)".
export type VmView = 'clone' | 'list' | 'inspect';

function presentConfig(config: VmConfig): Record<string, unknown> {
  return {
    cpu: config.cpu,
    memory: config.memory,
    storage: config.storage,
    ...(config.queue_size ? { queue_size: config.queue_size } : {}),
    ...(config.disk_queue_size ? { disk_queue_size: config.disk_queue_size } : {}),
    image: config.image,
    image_digest: config.image_digest,
    image_type: config.image_type,
    ...(config.network ? { network: config.network } : {}),
    ...(config.no_direct_io ? { no_direct_io: true } : {}),
    ...(config.windows ? { windows: true } : {}),
    name: config.name,
  };
}

export async function presentVm(
  layout: Layout,
  record: VmRecord,
  view: VmView
): Promise<Record<string, unknown>> {
  const runDir = vmRunDir(layout, record.id);
  const pid = view === 'clone' ? 0 : await readStandInPid(runDir);
  const stale = view === 'inspect' && record.state === 'running' && !isStandInAlive(pid);
  const state = stale ? 'stopped (stale)' : record.state;
  const socket = view !== 'clone' && state === 'running' ? apiSocketPath(runDir) : undefined;

  return {
    id: record.id,
    hypervisor: record.hypervisor,
    state,
    config: presentConfig(record.config),
    pid,
    ...(socket ? { socket_path: socket } : {}),
    network_configs: record.network_configs,
    storage_configs: record.storage_configs,
    first_booted: view === 'clone' ? false : record.first_booted,
    created_at: record.created_at,
    updated_at: record.updated_at,
    ...(record.started_at ? { started_at: record.started_at } : {}),
    ...(record.stopped_at ? { stopped_at: record.stopped_at } : {}),
  };
}
