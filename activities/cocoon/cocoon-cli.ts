import { execa, type Options } from 'execa';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { VmRecord } from '../../common/vm-record.js';
import { classifyErrorLine, CocoonError, findErrorLine } from './cocoon-error.js';
import {
  parseImageRecord,
  parseSnapshotRecord,
  parseVmRecord,
  type ImageRecord,
  type SnapshotRecord,
} from './records.js';

export interface CocoonCliOptions {
  /** Path of the cocoon binary. */
  binary: string;
  rootDir: string;
  runDir: string;
  /** Run cocoon through `sudo -n`, as vk-cocoon does. */
  sudo: boolean;
}

export interface CloneFlags {
  name: string;
  cpu?: number;
  memoryBytes?: number;
  storageBytes?: number;
  nics?: number;
  network?: string;
  dns?: string[];
  noDirectIO?: boolean;
  onDemand?: boolean;
}

interface RunOptions {
  /** Stops the command: SIGTERM first, so cocoon can remove its temp files. */
  signal?: AbortSignal;
  /** Told the pid as soon as the command runs, before it is awaited. */
  onStart?: (pid: number) => Promise<void>;
  /**
   * Runs the command detached, its output going to `<outputBase>.stdout|.stderr` instead of
   * pipes. A command that must outlive its worker needs both: cocoon dies of SIGPIPE on its next
   * log line if the worker holding its pipes is gone, and without running its rollback.
   */
  outliveWorker?: { outputBase: string };
}

// How long cocoon gets between SIGTERM and SIGKILL. cocoon cancels its context on SIGTERM and
// removes a pull's temp file; ten seconds covers that on a loaded host.
const KILL_GRACE_MS = 10_000;

/**
 * A typed wrapper over the cocoon CLI. Every call is an argv array (never a shell), names the
 * root and run dirs explicitly (sudo drops COCOON_* variables), and returns parsed records or
 * throws a CocoonError with a stable code.
 */
export class CocoonCli {
  constructor(readonly options: CocoonCliOptions) {}

  /** The snapshot's record, or a `SnapshotNotFound` error. */
  async inspectSnapshot(ref: string): Promise<SnapshotRecord> {
    const command = ['snapshot', 'inspect', ref];
    const { stdout } = await this.run(command);
    return parseSnapshotRecord(stdout, command);
  }

  /** The image index entry for a ref (key, digest or digest prefix), or undefined if none. */
  async inspectImage(ref: string): Promise<ImageRecord | undefined> {
    const command = ['image', 'inspect', ref];
    try {
      const { stdout } = await this.run(command);
      return parseImageRecord(stdout, command);
    } catch (error) {
      if (error instanceof CocoonError && error.code === 'ImageNotFound') return undefined;
      throw error;
    }
  }

  /** Pulls an image; `force` bypasses cocoon's URL-level cache of cloud images. */
  async pullImage(ref: string, force: boolean, options: RunOptions = {}): Promise<void> {
    const command = ['image', 'pull', ...(force ? ['--force'] : []), ref];
    await this.run(command, options);
  }

  /** Clones a VM and returns the record cocoon prints (its pid is always 0). */
  async cloneVm(
    snapshot: string,
    flags: CloneFlags,
    options: Pick<RunOptions, 'onStart' | 'outliveWorker'> = {}
  ): Promise<VmRecord> {
    const command = ['vm', 'clone', '--output', 'json', ...cloneFlagArgs(flags), snapshot];
    const { stdout } = await this.run(command, options);
    return parseVmRecord(stdout, command);
  }

  /** The VM's reconciled record with its real pid, or undefined if cocoon has no such VM. */
  async inspectVm(ref: string): Promise<VmRecord | undefined> {
    const command = ['vm', 'inspect', ref];
    try {
      const { stdout } = await this.run(command);
      return parseVmRecord(stdout, command);
    } catch (error) {
      if (error instanceof CocoonError && error.code === 'VmNotFound') return undefined;
      throw error;
    }
  }

  /** Every VM cocoon knows, with states as stored (not reconciled against live pids). */
  async listVms(): Promise<VmRecord[]> {
    const command = ['vm', 'list', '--format', 'json'];
    const { stdout } = await this.run(command);
    return parseList(stdout, command, NO_VMS, (item) =>
      parseVmRecord(JSON.stringify(item), command)
    );
  }

  /**
   * Every snapshot record as `snapshot list` prints it, unparsed: its fields vary between
   * cocoon versions, so the caller decides what a usable record is.
   */
  async listSnapshotItems(): Promise<unknown[]> {
    const command = ['snapshot', 'list', '--format', 'json'];
    const { stdout } = await this.run(command);
    return parseList(stdout, command, NO_SNAPSHOTS, (item) => item);
  }

  /** Every image index entry of both backends. */
  async listImages(): Promise<ImageRecord[]> {
    const command = ['image', 'list', '--format', 'json'];
    const { stdout } = await this.run(command);
    return parseList(stdout, command, NO_IMAGES, (item) =>
      parseImageRecord(JSON.stringify(item), command)
    );
  }

  /** Force-removes a VM; returns false when it was already gone. */
  async removeVm(ref: string): Promise<boolean> {
    try {
      await this.run(['vm', 'rm', '--force', ref]);
      return true;
    } catch (error) {
      if (error instanceof CocoonError && error.code === 'VmNotFound') return false;
      throw error;
    }
  }

  /** Runs one cocoon command and returns its output, or throws a classified CocoonError. */
  async run(
    command: string[],
    options: RunOptions = {}
  ): Promise<{ stdout: string; stderr: string }> {
    const [file, args] = this.argv(command);
    const files = options.outliveWorker
      ? await outputFiles(options.outliveWorker.outputBase)
      : undefined;
    const subprocess = execa(file, args, {
      reject: false,
      stdin: 'ignore',
      env: { NO_COLOR: '1' },
      cancelSignal: options.signal,
      killSignal: 'SIGTERM',
      forceKillAfterDelay: KILL_GRACE_MS,
      maxBuffer: 16 * 1024 * 1024,
      // execa's cleanup would kill cocoon when the worker exits, and the signal handler it
      // installs for that re-raises SIGTERM once Temporal's own handler has run, so the worker
      // could never drain. A `vm clone` must outlive its worker anyway; pulls are stopped
      // through `signal` when their activity is cancelled.
      cleanup: false,
      ...(files && {
        detached: true,
        stdout: files.fds.stdout as 'pipe' | number,
        stderr: files.fds.stderr as 'pipe' | number,
      }),
    } as Options);
    await files?.release();
    if (subprocess.pid !== undefined) await options.onStart?.(subprocess.pid);
    const result = await subprocess;
    const output = files
      ? await files.collect()
      : { stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? '') };

    if (result.exitCode === 0 && !result.failed) {
      return output;
    }

    if (result.isCanceled) {
      throw new CocoonError('Canceled', `cocoon ${command.join(' ')} was cancelled`, {
        command,
      });
    }

    if (result.signal) {
      throw new CocoonError(
        'Killed',
        `cocoon ${command.join(' ')} was killed by ${result.signal}`,
        {
          command,
        }
      );
    }

    if (result.exitCode === undefined) {
      throw new CocoonError(
        'NotStarted',
        `could not run cocoon at ${file}: ${result.originalMessage ?? result.shortMessage}`,
        { command }
      );
    }

    const errorLine = findErrorLine(output.stderr);
    const { code, httpStatus } = errorLine
      ? classifyErrorLine(errorLine)
      : { code: 'Unknown' as const };
    const reason = errorLine ?? `exit code ${result.exitCode} without an Error line`;
    throw new CocoonError(code, `cocoon ${command.join(' ')}: ${reason}`, {
      command,
      exitCode: result.exitCode,
      errorLine,
      httpStatus,
    });
  }

  private argv(command: string[]): [string, string[]] {
    const { binary, rootDir, runDir, sudo } = this.options;
    const cocoonArgs = ['--root-dir', rootDir, '--run-dir', runDir, ...command];
    // `-n` makes sudo fail at once instead of waiting for a password prompt nobody will answer.
    return sudo ? ['sudo', ['-n', binary, ...cocoonArgs]] : [binary, cocoonArgs];
  }
}

// cocoon's list commands print these plain-text lines instead of an empty JSON array, even
// when asked for JSON.
const NO_VMS = 'No VMs found.';
const NO_IMAGES = 'No images found.';
const NO_SNAPSHOTS = 'No snapshots found.';

function parseList<T>(
  stdout: string,
  command: string[],
  emptyText: string,
  parseItem: (item: unknown) => T
): T[] {
  if (stdout.trim() === emptyText) return [];

  let items: unknown;
  try {
    items = JSON.parse(stdout);
  } catch {
    items = undefined;
  }
  if (!Array.isArray(items)) {
    throw new CocoonError(
      'MalformedOutput',
      `cocoon ${command.join(' ')} printed neither a JSON array nor ${JSON.stringify(emptyText)}`,
      { command }
    );
  }
  return items.map(parseItem);
}

// The files are opened here and their descriptors handed to cocoon, so cocoon writes to them
// itself: with a path instead, execa would copy the output through this process, and a pipe.
async function outputFiles(base: string) {
  await mkdir(dirname(base), { recursive: true, mode: 0o700 });
  const paths = { stdout: `${base}.stdout`, stderr: `${base}.stderr` };
  const handles = await Promise.all([
    open(paths.stdout, 'w', 0o600),
    open(paths.stderr, 'w', 0o600),
  ]);
  return {
    fds: { stdout: handles[0].fd, stderr: handles[1].fd },
    /** Closes this process's copies once cocoon holds its own. */
    async release(): Promise<void> {
      await Promise.all(handles.map((handle) => handle.close()));
    },
    async collect(): Promise<{ stdout: string; stderr: string }> {
      const [stdout, stderr] = await Promise.all(
        [paths.stdout, paths.stderr].map((path) => readFile(path, 'utf8').catch(() => ''))
      );
      await Promise.all([rm(paths.stdout, { force: true }), rm(paths.stderr, { force: true })]);
      return { stdout: (stdout ?? '').trimEnd(), stderr: (stderr ?? '').trimEnd() };
    },
  };
}

function cloneFlagArgs(flags: CloneFlags): string[] {
  const args = ['--name', flags.name];
  if (flags.cpu !== undefined) args.push('--cpu', String(flags.cpu));
  if (flags.memoryBytes !== undefined) args.push('--memory', String(flags.memoryBytes));
  if (flags.storageBytes !== undefined) args.push('--storage', String(flags.storageBytes));
  if (flags.nics !== undefined) args.push('--nics', String(flags.nics));
  if (flags.network !== undefined) args.push('--network', flags.network);
  if (flags.dns !== undefined && flags.dns.length > 0) args.push('--dns', flags.dns.join(','));
  if (flags.noDirectIO) args.push('--no-direct-io');
  if (flags.onDemand) args.push('--on-demand');
  return args;
}
