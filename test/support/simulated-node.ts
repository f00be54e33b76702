import { execa } from 'execa';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CocoonCli } from '../../activities/cocoon/cocoon-cli.js';
import { createNodeActivities } from '../../activities/node-activities.js';
import { DEFAULTS, type FlowSettings } from '../../common/config/settings.js';
import { createNodeWorker, type NodeWorker } from '../../worker/node-worker.js';
import { SIMULATOR_PATH } from '../cocoon-sim/paths.js';
import { writeSnapshotArchive } from '../cocoon-sim/snapshot-archive.js';

/**
 * One simulated VM host: its own cocoon root and run dirs, its own ledger, a cocoon binary that
 * records every command it is given, and (once started) its own cocoon-flow worker.
 */
export class SimulatedNode {
  private worker?: NodeWorker;
  private running?: Promise<void>;

  private constructor(
    readonly name: string,
    readonly dir: string,
    readonly settings: FlowSettings,
    readonly cocoon: CocoonCli,
    private readonly commandLog: string
  ) {}

  /**
   * `simulatorEnv` is baked into the node's cocoon binary, so every cocoon command on this node
   * sees it, whoever runs it (e.g. COCOON_SIM_CLONE_DELAY_MS for a slow `vm clone`).
   *
   * `realCocoon`, the path of a real cocoon binary, takes the `image` and `snapshot` commands
   * away from the simulator: those need no hypervisor, so the real binary pulls, indexes and
   * imports, and the simulator only runs the VMs, on the on-disk state the real one wrote.
   */
  static async create(
    name: string,
    options: {
      registries: string[];
      simulatorEnv?: Record<string, string>;
      realCocoon?: string;
      pullStallSeconds?: number;
      metricsAddress?: string;
    }
  ): Promise<SimulatedNode> {
    const dir = await mkdtemp(join(tmpdir(), `cocoon-flow-${name}-`));
    const commandLog = join(dir, 'cocoon-commands.log');
    const binary = join(dir, 'cocoon');
    await writeFile(binary, cocoonWrapper(commandLog, options.simulatorEnv, options.realCocoon));
    await chmod(binary, 0o755);

    const cocoonSettings = {
      binary,
      rootDir: join(dir, 'root'),
      runDir: join(dir, 'root', 'run'),
      sudo: false,
    };
    const settings: FlowSettings = {
      temporal: { address: 'unused', namespace: 'default' },
      node: name,
      cocoon: cocoonSettings,
      registries: options.registries,
      ledgerDir: join(dir, 'ledger'),
      pullStallSeconds: options.pullStallSeconds ?? 60,
      // Many workers share a test host: metrics only where a test asks for a port.
      metricsAddress: options.metricsAddress ?? '',
      workflowCacheSize: DEFAULTS.workflowCacheSize,
    };
    return new SimulatedNode(name, dir, settings, new CocoonCli(cocoonSettings), commandLog);
  }

  /** Starts this node's worker with a connection of its own, as a separate host would. */
  async startWorker(address: string, namespace: string): Promise<void> {
    this.worker = await createNodeWorker({ ...this.settings, temporal: { address, namespace } });
    this.running = this.worker.run();
  }

  async stopWorker(): Promise<void> {
    this.worker?.shutdown();
    await this.running;
    this.worker = undefined;
  }

  /**
   * This node's activities outside any worker, for tests that run one step by itself (in a
   * MockActivityEnvironment); `overrides` changes the node's settings for them.
   */
  activities(overrides: { registries?: string[]; pullStallSeconds?: number } = {}) {
    return createNodeActivities({
      node: this.name,
      cocoon: new CocoonCli(this.settings.cocoon),
      registries: overrides.registries ?? this.settings.registries,
      ledgerDir: this.settings.ledgerDir,
      pullStallSeconds: overrides.pullStallSeconds ?? this.settings.pullStallSeconds,
    });
  }

  /**
   * Writes the config file a real node would have in /etc/cocoon-flow: the worker and the CLI
   * of this node read everything from it. Returns its path.
   */
  async writeConfigFile(temporal: { address: string; namespace: string }): Promise<string> {
    const path = join(this.dir, 'config.json');
    const { node, cocoon, registries, ledgerDir, metricsAddress } = this.settings;
    await writeFile(
      path,
      JSON.stringify({ temporal, node, cocoon, registries, ledgerDir, metricsAddress })
    );
    return path;
  }

  /** Processes still running this node's cocoon (their argv names the node's root dir). */
  async cocoonProcesses(): Promise<string[]> {
    const result = await execa('pgrep', ['-af', this.settings.cocoon.rootDir], { reject: false });
    return result.stdout.split('\n').filter((line) => line.trim() !== '');
  }

  /** Files cocoon-flow or cocoon left in cocoon's temp dir (downloads, staged blobs). */
  async tempFiles(): Promise<string[]> {
    try {
      return (await readdir(join(this.settings.cocoon.rootDir, 'cloudimg', 'temp'))).filter(
        (name) => !name.endsWith('.lock')
      );
    } catch {
      return [];
    }
  }

  /** Every cocoon command run on this node so far, one argv string each. */
  async commands(): Promise<string[]> {
    try {
      return (await readFile(this.commandLog, 'utf8')).split('\n').filter((l) => l !== '');
    } catch {
      return [];
    }
  }

  /** Runs cocoon on this node the way an operator would (through the logging wrapper). */
  async cocoonRun(args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
    const { binary, rootDir, runDir } = this.settings.cocoon;
    const result = await execa(binary, ['--root-dir', rootDir, '--run-dir', runDir, ...args], {
      reject: false,
      env: { NO_COLOR: '1' },
    });
    return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode ?? -1 };
  }

  /** Imports a snapshot pinned to a base image, as vk-cocoon does after pulling it from epoch. */
  async importSnapshot(
    name: string,
    base: { image: string; digest: string; type?: 'cloudimg' | 'oci' }
  ): Promise<void> {
    const archive = join(this.dir, `${name.replace(/\W/g, '_')}.tar`);
    await writeSnapshotArchive(archive, {
      name,
      image: base.image,
      imageDigest: base.digest,
      imageType: base.type ?? 'cloudimg',
      cpu: 2,
      memory: 1024 ** 3,
      storage: 10 * 1024 ** 3,
    });
    const result = await this.cocoonRun(['snapshot', 'import', archive, '--name', name]);
    if (result.exitCode !== 0) throw new Error(`snapshot import failed: ${result.stderr}`);
  }

  /** Stops the worker, removes every VM (killing the stand-in hypervisors) and the node's files. */
  async destroy(): Promise<void> {
    try {
      await this.stopWorker();
    } finally {
      await this.removeVms();
      await rm(this.dir, { recursive: true, force: true });
    }
  }

  private async removeVms(): Promise<void> {
    const listed = await this.cocoonRun(['vm', 'list', '-o', 'json']);
    if (listed.exitCode === 0 && listed.stdout.trim().startsWith('[')) {
      const vms = JSON.parse(listed.stdout) as { id: string }[];
      for (const vm of vms) await this.cocoonRun(['vm', 'rm', '--force', vm.id]);
    }
  }
}

/**
 * The node's `cocoon` executable: a bash wrapper that logs each argv line (so tests can prove
 * which cocoon commands ran), then runs the simulator, or the real binary for the commands it
 * was given.
 */
function cocoonWrapper(
  commandLog: string,
  simulatorEnv: Record<string, string> = {},
  realCocoon?: string
): string {
  const exports = Object.entries(simulatorEnv)
    .map(([key, value]) => `export ${key}='${value}'\n`)
    .join('');
  const log = `printf '%s\\n' "$*" >> '${commandLog}'\n`;
  if (realCocoon === undefined)
    return `#!/usr/bin/env bash\n${exports}${log}exec '${SIMULATOR_PATH}' "$@"\n`;

  // The first word that is neither a global flag nor a global flag's value is the command.
  const route = `command=
skip=
for arg in "$@"; do
  if [ -n "$skip" ]; then skip=; continue; fi
  case "$arg" in
    --root-dir|--run-dir|--config|--log-dir|--log-level|--dns|--cni-bin-dir|--cni-conf-dir) skip=1 ;;
    -*) ;;
    *) command=$arg; break ;;
  esac
done
case "$command" in
  image|snapshot) exec '${realCocoon}' "$@" ;;
  *) exec '${SIMULATOR_PATH}' "$@" ;;
esac
`;
  return `#!/usr/bin/env bash\n${exports}${log}${route}`;
}
