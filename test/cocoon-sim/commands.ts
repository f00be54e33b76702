import type { FlagSpec, ParsableCommand } from './args.js';
import type { CommandContext } from './context.js';
import {
  runImageImport,
  runImageInspect,
  runImageList,
  runImagePull,
  runImageRm,
} from './images.js';
import { runSnapshotImport, runSnapshotInspect, runSnapshotList } from './snapshots.js';
import { runVmClone } from './vm-clone.js';
import { runVmInspect, runVmList, runVmRm } from './vms.js';

// The command tree the simulator implements: cocoon's argv shapes, flags and argument counts.

export interface CommandSpec extends ParsableCommand {
  run: (ctx: CommandContext) => Promise<void>;
}

export const SIMULATOR_VERSION = 'cocoon-simulator 0.1.0 (test double of the cocoon CLI)';

const ANY = Number.POSITIVE_INFINITY;

function stringFlag(name: string, usage: string, defaultValue?: string): FlagSpec {
  return { name, kind: 'string', usage, defaultValue };
}

function boolFlag(name: string, usage: string): FlagSpec {
  return { name, kind: 'bool', usage };
}

function intFlag(name: string, usage: string): FlagSpec {
  return { name, kind: 'int', usage };
}

// `--format/-o table|json` on the list commands.
const LIST_FORMAT: FlagSpec = {
  name: 'format',
  short: 'o',
  kind: 'string',
  usage: 'output format: table or json',
  defaultValue: 'table',
};

// `--output/-o json` on the lifecycle commands.
const LIFECYCLE_OUTPUT: FlagSpec = {
  name: 'output',
  short: 'o',
  kind: 'string',
  usage: 'output format: json prints the result on stdout',
};

export const GLOBAL_FLAGS: FlagSpec[] = [
  stringFlag('config', 'config file (accepted, ignored)'),
  stringFlag('root-dir', 'root directory for persistent data', '/var/lib/cocoon'),
  stringFlag('run-dir', 'runtime directory for sockets and pids', '/var/lib/cocoon/run'),
  stringFlag('log-dir', 'log directory (accepted, ignored)', '/var/log/cocoon'),
  stringFlag('cni-conf-dir', 'CNI config directory (accepted, ignored)', '/etc/cni/net.d'),
  stringFlag('cni-bin-dir', 'CNI plugin directory (accepted, ignored)', '/opt/cni/bin'),
  stringFlag('dns', 'DNS servers (accepted, ignored)', '8.8.8.8,1.1.1.1'),
  stringFlag('log-level', 'log level (accepted, ignored)', 'info'),
];

async function printVersion(): Promise<void> {
  process.stdout.write(`${SIMULATOR_VERSION}\n`);
}

export const COMMANDS: CommandSpec[] = [
  {
    path: ['image', 'pull'],
    use: '[--force] IMAGE [IMAGE...]',
    summary: 'pull cloud images (http/https) or OCI images by digest',
    args: { min: 1, max: ANY },
    flags: [boolFlag('force', 'download even when the URL is already cached')],
    run: runImagePull,
  },
  {
    path: ['image', 'inspect'],
    use: 'IMAGE',
    summary: 'show an image as JSON',
    args: { min: 1, max: 1 },
    flags: [],
    run: runImageInspect,
  },
  {
    path: ['image', 'list'],
    aliases: ['ls'],
    use: '[-o table|json]',
    summary: 'list images',
    args: { min: 0, max: 0 },
    flags: [LIST_FORMAT],
    run: runImageList,
  },
  {
    path: ['image', 'import'],
    use: 'NAME [FILE...]',
    summary: 'import a qcow2 cloud image from files or stdin',
    args: { min: 1, max: ANY },
    flags: [],
    run: runImageImport,
  },
  {
    path: ['image', 'rm'],
    use: 'ID [ID...]',
    summary: 'remove images from the index',
    args: { min: 1, max: ANY },
    flags: [],
    run: runImageRm,
  },
  {
    path: ['snapshot', 'import'],
    use: '[FILE] [--name N] [--description D]',
    summary: 'import a snapshot archive from a file or stdin',
    args: { min: 0, max: 1 },
    flags: [stringFlag('name', 'snapshot name'), stringFlag('description', 'snapshot description')],
    run: runSnapshotImport,
  },
  {
    path: ['snapshot', 'inspect'],
    use: 'SNAPSHOT',
    summary: 'show a snapshot as JSON',
    args: { min: 1, max: 1 },
    flags: [],
    run: runSnapshotInspect,
  },
  {
    path: ['snapshot', 'list'],
    aliases: ['ls'],
    use: '[-o table|json]',
    summary: 'list snapshots',
    args: { min: 0, max: 0 },
    flags: [LIST_FORMAT],
    run: runSnapshotList,
  },
  {
    path: ['vm', 'clone'],
    use: '[flags] SNAPSHOT',
    summary: 'clone a VM from a snapshot',
    args: { min: 1, max: 1 },
    flags: [
      stringFlag('name', 'VM name'),
      intFlag('cpu', 'vCPUs (0 inherits the snapshot)'),
      stringFlag('memory', 'memory size, e.g. 4G (empty inherits)'),
      stringFlag('storage', 'COW disk size, e.g. 20G (empty inherits)'),
      intFlag('nics', 'NIC count (0 inherits)'),
      intFlag('queue-size', 'virtio-net queue size (0 inherits)'),
      intFlag('disk-queue-size', 'virtio-blk queue size (0 inherits)'),
      stringFlag('network', 'CNI conflist name (empty inherits)'),
      stringFlag('bridge', 'attach TAPs to this bridge instead of CNI'),
      boolFlag('no-direct-io', 'disable O_DIRECT on disks'),
      boolFlag('on-demand', 'restore memory lazily'),
      boolFlag('pull', 'make sure the base image is present first'),
      LIFECYCLE_OUTPUT,
    ],
    run: runVmClone,
  },
  {
    path: ['vm', 'inspect'],
    use: 'VM',
    summary: 'show a VM as JSON',
    args: { min: 1, max: 1 },
    flags: [],
    run: runVmInspect,
  },
  {
    path: ['vm', 'list'],
    aliases: ['ls'],
    use: '[-o table|json]',
    summary: 'list VMs',
    args: { min: 0, max: 0 },
    flags: [LIST_FORMAT],
    run: runVmList,
  },
  {
    path: ['vm', 'rm'],
    use: '[--force] VM [VM...]',
    summary: 'delete VMs',
    args: { min: 1, max: ANY },
    flags: [boolFlag('force', 'stop running VMs first'), LIFECYCLE_OUTPUT],
    run: runVmRm,
  },
  {
    path: ['version'],
    use: '',
    summary: 'print the version',
    args: { min: 0, max: 0 },
    flags: [],
    run: printVersion,
  },
];
