import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { CloneFixture } from '../test/support/clone-fixture.js';
import type { SimulatedNode } from '../test/support/simulated-node.js';
import { waitFor } from '../test/support/wait.js';
import { WorkerProcess } from '../test/support/worker-process.js';
import type { BenchResult } from './report.js';

// Memory: the resident size of a real `cocoon-flow worker` process while many clones are held
// in their restore step at once (the simulator's `vm clone` waits before it finishes), against
// the same worker idle after one clone, measured in the same run.

const HOLD_MS = 10 * 60_000;

export async function benchMemory(
  options: { clones?: number; realCocoon?: string } = {}
): Promise<BenchResult> {
  const clones = options.clones ?? 200;
  const fixture = await CloneFixture.start({ realCocoon: options.realCocoon });
  let worker: WorkerProcess | undefined;
  let node: SimulatedNode | undefined;
  try {
    node = await fixture.node({
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
    // The environment the systemd unit, the compose stack and the DaemonSet give a worker.
    worker = await WorkerProcess.start(node, temporal, { MALLOC_ARENA_MAX: '2' });
    const pid = worker.process.pid ?? 0;

    const idleKib = await rssKib(pid);

    // One clone held in its restore: the baseline, with the workflow code loaded and every
    // kind of step run once.
    await startHeldClones(fixture, node.name, 0, 1);
    await waitForHeld(node, 1);
    const oneKib = await highestRssKib(pid);

    await startHeldClones(fixture, node.name, 1, clones);
    await waitForHeld(node, clones);
    const heldKib = await highestRssKib(pid);

    const heldMib = heldKib / 1024;
    return {
      name: `5. Memory (${clones} clones held in restore)`,
      goal: 'worker RSS under 300 MiB',
      met: heldMib < 300,
      header: ['worker process', 'RSS'],
      rows: [
        ['idle, after start-up', `${(idleKib / 1024).toFixed(0)} MiB`],
        ['one clone in restore (baseline)', `${(oneKib / 1024).toFixed(0)} MiB`],
        [`${clones} clones in restore at once`, `${heldMib.toFixed(0)} MiB`],
        ['per further held clone', `${((heldKib - oneKib) / (clones - 1)).toFixed(0)} KiB`],
      ],
      notes: [
        'RSS of the `cocoon-flow worker` process alone (its `vm clone` children are separate processes), highest of ten samples, with MALLOC_ARENA_MAX=2 as the deployment files set it and the default workflow cache of 10 clones.',
      ],
    };
  } finally {
    await worker?.stop('SIGKILL');
    // The held `vm clone` processes would otherwise sleep on for minutes.
    if (node) await execa('pkill', ['-f', node.settings.cocoon.rootDir], { reject: false });
    await fixture.stop();
  }
}

async function startHeldClones(fixture: CloneFixture, node: string, from: number, to: number) {
  for (let i = from; i < to; i++) {
    await fixture.client.start({ node, vmName: `mem-${i}`, snapshot: 'mem-hot' });
  }
}

function waitForHeld(node: SimulatedNode, count: number): Promise<void> {
  return waitFor(
    async () =>
      (await node.cocoonProcesses()).filter((p) => p.includes(' vm clone ')).length >= count,
    `${count} vm clone processes to be running`,
    10 * 60_000
  );
}

// Several samples a little apart; the highest counts.
async function highestRssKib(pid: number): Promise<number> {
  let highest = 0;
  for (let sample = 0; sample < 10; sample++) {
    highest = Math.max(highest, await rssKib(pid));
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return highest;
}

async function rssKib(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]);
}
