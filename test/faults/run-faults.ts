import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { CloneCancelledError, CloneFailedError } from '../../client/clone-errors.js';
import { blobPath, isBlobPresent } from '../../activities/image/blob-file.js';
import { CloneFixture } from '../support/clone-fixture.js';
import { WorkerProcess } from '../support/worker-process.js';
import type { SimulatedNode } from '../support/simulated-node.js';
import { SCENARIOS, type Expected, type RunContext, type Scenario } from './scenarios.js';

// `npm run faults`: runs every fault scenario against a real dev server, registry and worker,
// and prints one table row per scenario. A row with an unexpected outcome or any leak is a bug;
// the command exits 1 when there is one.

interface Row {
  scenario: string;
  runs: number;
  /** Clones started over all runs; a duplicate start counts each caller. */
  clones: number;
  completed: number;
  expectedFailures: number;
  unexpected: string[];
  vmsLeaked: number;
  /** cocoon-flow's own working files left behind: always a bug. */
  filesLeaked: number;
  /** Temp files cocoon left: after a SIGKILL they are cocoon's to collect (`cocoon gc`). */
  cocoonTempFiles: number;
  orphanProcesses: number;
  seconds: number;
}

const fixture = await CloneFixture.start();
const rows: Row[] = [];
try {
  for (const scenario of SCENARIOS) {
    rows.push(await runScenario(scenario));
    process.stderr.write(`${scenario.name}: done\n`);
  }
} finally {
  await fixture.stop();
}

printTable(rows);
process.exitCode = rows.some((row) => row.unexpected.length > 0 || leaks(row) > 0) ? 1 : 0;

async function runScenario(scenario: Scenario): Promise<Row> {
  const started = Date.now();
  const row: Row = {
    scenario: scenario.name,
    runs: scenario.runs,
    clones: scenario.runs * (scenario.clones ?? 1),
    completed: 0,
    expectedFailures: 0,
    unexpected: [],
    vmsLeaked: 0,
    filesLeaked: 0,
    cocoonTempFiles: 0,
    orphanProcesses: 0,
    seconds: 0,
  };
  const slug = scenario.name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

  for (let run = 1; run <= scenario.runs; run++) {
    // A node of its own per run: an image left by an earlier run would skip the pull.
    const node = await fixture.node({ ...scenario.node, worker: !scenario.workerProcess });
    const temporal = {
      address: fixture.env.address,
      namespace: fixture.env.namespace ?? 'default',
    };
    let worker = scenario.workerProcess ? await WorkerProcess.start(node, temporal) : undefined;
    const context = {
      fixture,
      node,
      repo: `faults/${slug}-${run}`,
      run,
      async killAndRestartWorker() {
        await worker?.stop('SIGKILL');
        worker = await WorkerProcess.start(node, temporal);
      },
      vmName: (index: number) => `${slug.slice(0, 40)}-${run}-${scenario.sameRequest ? 0 : index}`,
      workerHasOpen: async (path: string) => (await worker?.hasOpen(path)) === true,
      workerLogCount: (message: string) => worker?.countLogs(message) ?? 0,
    };
    const prepared = await scenario.prepare(context);
    try {
      const vmsBefore = (await node.cocoon.listVms()).length;
      const handles = await startClones(scenario, context, prepared.snapshot);
      await scenario.during?.(context, handles[0] as WorkflowHandle, handles);

      const madeVms = new Set<string>();
      for (const [index, handle] of handles.entries()) {
        const expected = expectedOutcome(scenario, index);
        const outcome = await outcomeOf(handle, node, prepared.pinnedDigest);
        if (outcome.vmId !== undefined) madeVms.add(outcome.vmId);
        if (outcome.kind !== expected) row.unexpected.push(outcome.kind);
        else if (expected === 'completed') row.completed += 1;
        else row.expectedFailures += 1;
      }
      // Callers of one request all get the one VM it made.
      if (scenario.sameRequest && madeVms.size > 1) {
        row.unexpected.push(`${madeVms.size} different VMs for one request`);
      }
      row.unexpected.push(...((await prepared.check?.()) ?? []));

      await worker?.stop('SIGTERM');

      // Whatever this run left behind, beyond the VMs its clones made.
      row.vmsLeaked += (await node.cocoon.listVms()).length - vmsBefore - madeVms.size;
      row.filesLeaked += await ownFiles(node.settings.ledgerDir);
      row.cocoonTempFiles += (await node.tempFiles()).length;
      row.orphanProcesses += (await node.cocoonProcesses()).length;
    } finally {
      await prepared.cleanup?.();
    }
  }

  row.seconds = Math.round((Date.now() - started) / 100) / 10;
  return row;
}

// Every clone of the run at once, so that they meet on the node as concurrent clones do.
function startClones(
  scenario: Scenario,
  context: RunContext,
  snapshot: string
): Promise<WorkflowHandle[]> {
  const count = scenario.clones ?? 1;
  return Promise.all(
    Array.from({ length: count }, (_, index) =>
      fixture.client.start({ node: context.node.name, vmName: context.vmName(index), snapshot })
    )
  );
}

function expectedOutcome(scenario: Scenario, index: number): Expected {
  const { expect } = scenario;
  if (!Array.isArray(expect)) return expect;
  const expected = expect[index];
  if (expected === undefined) throw new Error(`${scenario.name}: no outcome for clone ${index}`);
  return expected;
}

/** How one clone ended; a VM that is not on the pinned, present blob counts as a wrong end. */
async function outcomeOf(
  handle: WorkflowHandle,
  node: SimulatedNode,
  pinnedDigest: string
): Promise<{ kind: string; vmId?: string }> {
  try {
    const vm = await fixture.client.result(handle);
    const onPinned =
      vm.config.image_digest === pinnedDigest &&
      (await isBlobPresent(blobPath(node.settings.cocoon.rootDir, pinnedDigest)));
    return {
      kind: onPinned ? 'completed' : `completed on ${vm.config.image_digest}`,
      vmId: vm.id,
    };
  } catch (error) {
    if (error instanceof CloneCancelledError) return { kind: 'cancelled' };
    if (error instanceof CloneFailedError) return { kind: error.type };
    return { kind: String(error) };
  }
}

// cocoon-flow's own working files: the output files of `vm clone` runs under the ledger.
async function ownFiles(ledgerDir: string): Promise<number> {
  try {
    return (await readdir(join(ledgerDir, 'output'))).length;
  } catch {
    return 0;
  }
}

function leaks(row: Row): number {
  return row.vmsLeaked + row.filesLeaked + row.orphanProcesses;
}

function printTable(table: Row[]): void {
  const header = [
    'scenario',
    'runs',
    'clones',
    'completed',
    'failed as expected',
    'unexpected',
    'VMs leaked',
    'cocoon-flow files leaked',
    'cocoon temp files left',
    'orphan processes',
    'seconds',
  ];
  const lines = table.map((row) => [
    row.scenario,
    String(row.runs),
    String(row.clones),
    String(row.completed),
    String(row.expectedFailures),
    row.unexpected.length === 0 ? '0' : row.unexpected.join(', '),
    String(row.vmsLeaked),
    String(row.filesLeaked),
    String(row.cocoonTempFiles),
    String(row.orphanProcesses),
    String(row.seconds),
  ]);
  process.stdout.write(`| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|\n`);
  for (const line of lines) process.stdout.write(`| ${line.join(' | ')} |\n`);
}
