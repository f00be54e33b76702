import { execa, type ResultPromise } from 'execa';
import { readdir, readlink } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { SimulatedNode } from './simulated-node.js';

const CLI = fileURLToPath(new URL('../../client/cli/main.js', import.meta.url));

/** `cocoon-flow worker` for one simulated node, as a real process configured by its file. */
export class WorkerProcess {
  private stderrText = '';

  private constructor(
    readonly process: ResultPromise<{ reject: false; forceKillAfterDelay: false }>
  ) {
    process.stderr?.on('data', (chunk: Buffer) => (this.stderrText += chunk.toString()));
  }

  static async start(
    node: SimulatedNode,
    temporal: { address: string; namespace: string },
    env: Record<string, string> = {}
  ): Promise<WorkerProcess> {
    const configPath = await node.writeConfigFile(temporal);
    const child = execa(process.execPath, [CLI, 'worker', '--config', configPath], {
      reject: false,
      env,
      // execa would otherwise follow SIGTERM with SIGKILL after 5 s, cutting a drain short.
      forceKillAfterDelay: false,
    });
    const worker = new WorkerProcess(child);
    await worker.waitForLog('Worker started', 30_000);
    return worker;
  }

  get stderr(): string {
    return this.stderrText;
  }

  /** The worker's log lines, parsed. */
  logs(): { message: string; [field: string]: unknown }[] {
    return this.stderrText
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as { message: string });
  }

  countLogs(message: string): number {
    return this.logs().filter((entry) => entry.message === message).length;
  }

  async waitForLog(message: string, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.stderrText.includes(`"message":"${message}"`)) {
      if (Date.now() > deadline)
        throw new Error(`worker never logged "${message}":\n${this.stderrText}`);
      if (this.process.exitCode !== null) throw new Error(`worker exited:\n${this.stderrText}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Whether the worker process has `path` open right now, as /proc shows its descriptors. */
  async hasOpen(path: string): Promise<boolean> {
    const fdDir = `/proc/${this.process.pid}/fd`;
    const fds = await readdir(fdDir).catch(() => []);
    const targets = await Promise.all(fds.map((fd) => readlink(`${fdDir}/${fd}`).catch(() => '')));
    return targets.includes(path);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM') {
    this.process.kill(signal);
    return this.process;
  }
}
