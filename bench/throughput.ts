import { execa } from 'execa';
import { CloneFixture } from '../test/support/clone-fixture.js';
import type { SimulatedNode } from '../test/support/simulated-node.js';
import { cpuNow, cpuSpent, devServerPid, type CpuSeconds } from './cpu.js';
import { ratio, type BenchResult } from './report.js';
import { summarize } from './stats.js';

// Throughput: many fast-path clones spread over simulated nodes, each node with its own Worker
// in this one process, against the same cocoon commands run directly with the same number in
// flight. Both sides spawn the same cocoon processes, so the ratio isolates what Temporal and
// the workers cost on this machine.

export interface ThroughputOptions {
  clones?: number;
  nodes?: number;
  /** Clones in flight at once, over all nodes, on both sides. */
  inFlight?: number;
  /** A real cocoon binary for image and snapshot commands (bench/real-cocoon.ts). */
  realCocoon?: string;
}

export async function benchThroughput(options: ThroughputOptions = {}): Promise<BenchResult> {
  const clones = options.clones ?? 500;
  const nodeCount = options.nodes ?? 8;
  const inFlight = options.inFlight ?? 16;
  const fixture = await CloneFixture.start({ realCocoon: options.realCocoon });
  try {
    const image = await fixture.push('bench/throughput', 'base-v1');
    const nodes: SimulatedNode[] = [];
    for (let i = 0; i < nodeCount; i++) {
      const node = await fixture.node();
      await node.cocoonRun(['image', 'pull', image.url]);
      await node.importSnapshot('tp-hot', image);
      nodes.push(node);
    }
    const commands = await commandsOfOneClone(fixture, nodes[0] as SimulatedNode);

    const serverPid = await devServerPid(fixture.env.address);
    const beforeDirect = await cpuNow(serverPid);
    const direct = await runMany(clones, inFlight, async (i) => {
      const node = nodes[i % nodeCount] as SimulatedNode;
      for (const argv of commands) {
        const args = argv.map((arg) => (arg === 'tp-probe' ? `direct-${i}` : arg));
        await execa(node.settings.cocoon.binary, rerooted(args, nodes[0] as SimulatedNode, node), {
          reject: false,
        });
      }
    });
    const directCpu = cpuSpent(beforeDirect, await cpuNow(serverPid));
    const beforeWorkflow = await cpuNow(serverPid);
    const viaWorkflow = await runMany(clones, inFlight, async (i) => {
      const node = nodes[i % nodeCount] as SimulatedNode;
      await fixture.client.clone({ node: node.name, vmName: `wf-${i}`, snapshot: 'tp-hot' });
    });

    const workflowCpu = cpuSpent(beforeWorkflow, await cpuNow(serverPid));
    const wf = summarize(viaWorkflow.latenciesMs);
    const dr = summarize(direct.latenciesMs);
    const wfRate = clones / viaWorkflow.seconds;
    const drRate = clones / direct.seconds;
    return {
      name: '4. Throughput',
      goal: 'at least 0.8 times the direct throughput',
      met: wfRate >= 0.8 * drRate,
      header: ['', 'clones/s', 'p50 latency', 'p99 latency', 'wall', 'CPU per clone'],
      rows: [
        [
          'cocoon commands run directly (baseline)',
          drRate.toFixed(1),
          `${dr.median.toFixed(0)} ms`,
          `${dr.p99.toFixed(0)} ms`,
          `${direct.seconds.toFixed(1)} s`,
          describeCpu(directCpu, clones),
        ],
        [
          'through the workflow',
          wfRate.toFixed(1),
          `${wf.median.toFixed(0)} ms`,
          `${wf.p99.toFixed(0)} ms`,
          `${viaWorkflow.seconds.toFixed(1)} s`,
          describeCpu(workflowCpu, clones),
        ],
        ['workflow / baseline', ratio(wfRate, drRate), '', '', '', ''],
      ],
      notes: [
        `${clones} fast-path clones over ${nodeCount} simulated nodes (${nodeCount} Workers in one process), ${inFlight} in flight at once on both sides.`,
        'CPU per clone is cocoon (the commands, as child processes) + this process (client and workers) + the Temporal dev server, in milliseconds; the machine has 2 cores, so CPU is the limit.',
      ],
    };
  } finally {
    await fixture.stop();
  }
}

/** Runs `count` jobs with at most `inFlight` at once; returns each job's latency and the wall. */
export async function runMany(
  count: number,
  inFlight: number,
  job: (index: number) => Promise<void>
): Promise<{ latenciesMs: number[]; seconds: number }> {
  const latenciesMs: number[] = [];
  let next = 0;
  const started = performance.now();
  const lane = async () => {
    while (next < count) {
      const index = next++;
      const jobStarted = performance.now();
      await job(index);
      latenciesMs.push(performance.now() - jobStarted);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return { latenciesMs, seconds: (performance.now() - started) / 1000 };
}

async function commandsOfOneClone(fixture: CloneFixture, node: SimulatedNode) {
  const before = (await node.commands()).length;
  await fixture.client.clone({ node: node.name, vmName: 'tp-probe', snapshot: 'tp-hot' });
  return (await node.commands()).slice(before).map((line) => line.split(' '));
}

// The probe ran on the first node; the same commands on another node use that node's dirs.
function rerooted(args: string[], from: SimulatedNode, to: SimulatedNode): string[] {
  const fromDir = from.settings.cocoon.rootDir;
  const toDir = to.settings.cocoon.rootDir;
  return args.map((arg) => (arg.startsWith(fromDir) ? toDir + arg.slice(fromDir.length) : arg));
}

function describeCpu(cpu: CpuSeconds, clones: number): string {
  const ms = (seconds: number) => ((seconds * 1000) / clones).toFixed(0);
  return `${ms(cpu.children)} + ${ms(cpu.self)} + ${ms(cpu.server)} ms`;
}
