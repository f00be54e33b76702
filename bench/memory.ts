import { readFile } from 'node:fs/promises';
import { CloneFixture } from '../test/support/clone-fixture.js';
import { waitFor } from '../test/support/wait.js';
import { WorkerProcess } from '../test/support/worker-process.js';
import type { BenchResult } from './report.js';

// Memory: the resident size of a real `cocoon-flow worker` process while many clones are held
// in their restore step at once (the simulator's `vm clone` waits before it finishes), against
// the same worker idle after one clone, measured in the same run.

const HOLD_MS = 10 * 60_000;

export async function benchMemory(options: { clones?: number } = {}): Promise<BenchResult> {
  const clones = options.clones ?? 200;
  const fixture = await CloneFixture.start();
  let worker: WorkerProcess | undefined;
  try {
    const node = await fixture.node({
      worker: false,
      simulatorEnv: { COCOON_SIM_CLONE_DELAY_MS: String(HOLD_MS) },
    });
    const temporal = {
      address: fixture.env.address,
      namespace: fixture.env.namespace ?? 'default',
    };
    const image = await fixture.push('bench/memory', 'base-v1');
    await node.cocoonRun(['image', 'pull', image.url]);
    await node.importSnapshot('mem-hot', image);
    worker = await WorkerProcess.start(node, temporal);
    const pid = worker.process.pid ?? 0;

    // Idle after start-up: the baseline.
    const idleKib = await rssKib(pid);

    for (let i = 0; i < clones; i++) {
      await fixture.client.start({ node: node.name, vmName: `mem-${i}`, snapshot: 'mem-hot' });
    }
    await waitFor(
      async () =>
        (await node.cocoonProcesses()).filter((p) => p.includes(' vm clone ')).length >= clones,
      `${clones} vm clone processes to be running`,
      10 * 60_000
    );

    // Several samples while every clone is held in its restore; the highest counts.
    let heldKib = 0;
    for (let sample = 0; sample < 10; sample++) {
      heldKib = Math.max(heldKib, await rssKib(pid));
      await new Promise((resolve) => setTimeout(resolve, 500));
    }

    const heldMib = heldKib / 1024;
    return {
      name: `5. Memory (${clones} clones held in restore)`,
      goal: 'worker RSS under 300 MiB',
      met: heldMib < 300,
      header: ['worker process', 'RSS'],
      rows: [
        ['idle, after start-up (baseline)', `${(idleKib / 1024).toFixed(0)} MiB`],
        [`${clones} clones in restore at once`, `${heldMib.toFixed(0)} MiB`],
        ['per held clone', `${((heldKib - idleKib) / clones).toFixed(0)} KiB`],
      ],
      notes: [
        'RSS of the `cocoon-flow worker` process alone (its `vm clone` children are separate processes), highest of ten samples.',
      ],
    };
  } finally {
    await worker?.stop('SIGKILL');
    await fixture.stop();
  }
}

async function rssKib(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]);
}
