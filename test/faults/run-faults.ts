import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CloneCancelledError, CloneFailedError } from '../../client/clone-errors.js';
import { blobPath } from '../../activities/image/blob-file.js';
import { isBlobPresent } from '../../activities/image/blob-file.js';
import { CloneFixture } from '../support/clone-fixture.js';
import { WorkerProcess } from '../support/worker-process.js';
import { SCENARIOS, type Scenario } from './scenarios.js';

// `npm run faults`: runs every fault scenario against a real dev server, registry and worker,
// and prints one table row per scenario. A row with an unexpected outcome or any leak is a bug;
// the command exits 1 when there is one.

interface Row {
  scenario: string;
  runs: number;
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
      workerHasOpen: async (path: string) => (await worker?.hasOpen(path)) === true,
    };
    const completedBefore = row.completed;
    const { snapshot, pinnedDigest } = await scenario.prepare(context);
    const handle = await fixture.client.start({
      node: node.name,
      vmName: `${slug.slice(0, 40)}-${run}`,
      snapshot,
    });
    await scenario.during?.(context, handle);

    try {
      const vm = await fixture.client.result(handle);
      // A VM must never run on anything but the pinned digest.
      const onPinned =
        vm.config.image_digest === pinnedDigest &&
        (await isBlobPresent(blobPath(node.settings.cocoon.rootDir, pinnedDigest)));
      if (scenario.expect === 'completed' && onPinned) row.completed += 1;
      else row.unexpected.push(onPinned ? 'completed' : `completed on ${vm.config.image_digest}`);
    } catch (error) {
      const outcome =
        error instanceof CloneCancelledError
          ? 'cancelled'
          : error instanceof CloneFailedError
            ? error.type
            : String(error);
      if (outcome === scenario.expect) row.expectedFailures += 1;
      else row.unexpected.push(outcome);
    }

    await worker?.stop('SIGTERM');

    // Whatever this run left behind, beyond the VM of a clone that completed.
    const completedHere = row.completed - completedBefore;
    row.vmsLeaked += (await node.cocoon.listVms()).length - completedHere;
    row.filesLeaked += await ownFiles(node.settings.ledgerDir);
    row.cocoonTempFiles += (await node.tempFiles()).length;
    row.orphanProcesses += (await node.cocoonProcesses()).length;
  }

  row.seconds = Math.round((Date.now() - started) / 100) / 10;
  return row;
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
