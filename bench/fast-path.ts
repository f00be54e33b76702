import type { WorkflowHandle } from '@temporalio/client';
import { execa } from 'execa';
import { describeBreakdown, timeBreakdown } from './history-breakdown.js';
import { OrchestrationFloor } from './orchestration-floor.js';
import { CloneFixture } from '../test/support/clone-fixture.js';
import type { SimulatedNode } from '../test/support/simulated-node.js';
import { ratio, type BenchResult } from './report.js';
import { formatMs, summarize, timeMs } from './stats.js';

// Fast-path overhead: a clone whose base blob is already on the node, through the workflow on
// the local dev server, against the very cocoon commands that clone ran, run directly and back
// to back. The two alternate, so both see the same moments of a noisy machine; the overhead is
// the difference of each pair. A third run in each round, a workflow of as many empty
// activities (orchestration-floor.ts), splits the overhead into Temporal's share and ours.

const WARMUP = 5;

export async function benchFastPath(
  options: { clones?: number; realCocoon?: string } = {}
): Promise<BenchResult> {
  const clones = options.clones ?? 40;
  const fixture = await CloneFixture.start({ realCocoon: options.realCocoon });
  const floor = await OrchestrationFloor.start(fixture.env.client, fixture.env.address).catch(
    async (error: unknown) => {
      await fixture.stop();
      throw error;
    }
  );
  try {
    const node = await fixture.node();
    const image = await fixture.push('bench/fast', 'base-v1');
    await node.cocoonRun(['image', 'pull', image.url]);
    await node.importSnapshot('fast-hot', image);

    const probe = await oneClone(fixture, node, 'fast-probe');
    const { commands } = probe;
    const steps = (await timeBreakdown(probe.handle)).activities;
    const workflowMs: number[] = [];
    const directMs: number[] = [];
    const floorMs: number[] = [];
    let lastHandle: WorkflowHandle | undefined;
    for (let i = 0; i < WARMUP + clones; i++) {
      const viaWorkflow = await timeMs(async () => {
        lastHandle = await fixture.client.start({
          node: node.name,
          vmName: `wf-${i}`,
          snapshot: 'fast-hot',
        });
        await fixture.client.result(lastHandle);
      });
      const direct = await timeMs(() =>
        runDirectly(node.settings.cocoon.binary, commands, 'fast-probe', `direct-${i}`)
      );
      const empty = await timeMs(() => floor.run(steps));
      if (i < WARMUP) continue;
      workflowMs.push(viaWorkflow);
      directMs.push(direct);
      floorMs.push(empty);
    }

    const addedMs = workflowMs.map((ms, i) => ms - (directMs[i] ?? 0));
    const added = summarize(addedMs);
    const ours = summarize(addedMs.map((ms, i) => ms - (floorMs[i] ?? 0)));
    const temporal = summarize(floorMs);
    const wf = summarize(workflowMs);
    const dr = summarize(directMs);
    return {
      name: '1. Fast-path overhead',
      goal: 'under 40 ms median added per clone',
      met: added.median < 40,
      header: ['per clone', 'median', 'p99', 'spread (½ IQR)'],
      rows: [
        ['cocoon commands run directly (baseline)', ms(dr.median), ms(dr.p99), ms(dr.halfIqr)],
        ['through the workflow', ms(wf.median), ms(wf.p99), ms(wf.halfIqr)],
        ['added by orchestration', ms(added.median), ms(added.p99), ms(added.halfIqr)],
        [
          `of which Temporal's floor: a workflow of ${steps} empty activities`,
          ms(temporal.median),
          ms(temporal.p99),
          ms(temporal.halfIqr),
        ],
        [`of which cocoon-flow's own`, ms(ours.median), ms(ours.p99), ms(ours.halfIqr)],
        ['workflow / baseline', ratio(wf.median, dr.median), '', ''],
      ],
      notes: [
        `${clones} clones each way after ${WARMUP} warm-up rounds, alternating with the floor workflow; added time is the median of the pairwise differences (${formatMs(added)}), cocoon-flow's own is that difference less the floor run of the same round.`,
        `The floor runs a workflow of ${steps} empty activities, each on another task queue, as a clone's steps run on its node's queue, on the same dev server with workers set up as a node's (one connection, a workflow worker and a node-queue worker in one process): that is what ${steps + 1} workflow tasks and ${steps} activity dispatches cost by themselves on this machine, and no change inside cocoon-flow's steps can go below it.`,
        `The baseline runs the ${commands.length} cocoon commands the workflow's clone ran: ${commands.map(verbOf).join(', ')}.`,
        `Where the time goes, ${describeBreakdown(await timeBreakdown(lastHandle as WorkflowHandle))}.`,
      ],
    };
  } finally {
    await floor.stop();
    await fixture.stop();
  }
}

/** One fast-path clone, and the cocoon argv lines it ran as the node's command log records them. */
async function oneClone(
  fixture: CloneFixture,
  node: SimulatedNode,
  vmName: string
): Promise<{ handle: WorkflowHandle; commands: string[][] }> {
  const before = (await node.commands()).length;
  const handle = await fixture.client.start({ node: node.name, vmName, snapshot: 'fast-hot' });
  await fixture.client.result(handle);
  const lines = (await node.commands()).slice(before);
  return { handle, commands: lines.map((line) => line.split(' ')) };
}

// The same binary the worker runs (the node's logging wrapper), with the probe clone's VM name
// swapped for a fresh one.
async function runDirectly(
  binary: string,
  commands: string[][],
  probeName: string,
  vmName: string
): Promise<void> {
  for (const argv of commands) {
    const args = argv.map((arg) => (arg === probeName ? vmName : arg));
    const result = await execa(binary, args, { reject: false });
    if (args.includes('clone') && result.exitCode !== 0) {
      throw new Error(`direct vm clone failed: ${result.stderr}`);
    }
  }
}

function verbOf(argv: string[]): string {
  const words = argv.filter((arg, i) => !arg.startsWith('-') && !argv[i - 1]?.startsWith('--'));
  return words.slice(0, 2).join(' ');
}

function ms(value: number): string {
  return `${value.toFixed(1)} ms`;
}
