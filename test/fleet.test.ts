import { NativeConnection } from '@temporalio/worker';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { stat } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { blobPath } from '../activities/image/blob-file.js';
import {
  discoveredNodes,
  installPrepullSchedule,
  nodeSightings,
  refreshFleet,
  scanFleet,
} from '../client/fleet-client.js';
import { InvalidCloneRequestError } from '../client/clone-errors.js';
import { FailureType } from '../common/failures.js';
import {
  FLEET_NODES_WORKFLOW_ID,
  fleetNodesQuery,
  freshNodes,
  NODE_FRESH_WINDOW_MS,
  nodeAnnouncedSignal,
  PREPULL_SCHEDULE_ID,
  SCAN_FLEET_WORKFLOW_TYPE,
} from '../common/fleet-names.js';
import type { FleetScanReport, NodeRefresh, NodeScan } from '../common/fleet-reports.js';
import { readFixtureImage } from './fixtures/images.js';
import { CloneFixture } from './support/clone-fixture.js';
import type { SimulatedNode } from './support/simulated-node.js';
import { waitFor } from './support/wait.js';
import { startNodeAnnouncer } from '../worker/node-announcer.js';

// Fleet refresh, the pre-pull scan and node discovery, end to end: a real dev server, three
// simulated nodes each with its own worker, and the epoch-shaped registry on loopback. The
// nodes are shared by the tests, in order, as a fleet would be.

let fixture: CloneFixture;
let nodeA: SimulatedNode;
let nodeB: SimulatedNode;
let nodeC: SimulatedNode;

before(async () => {
  fixture = await CloneFixture.start();
  [nodeA, nodeB, nodeC] = await Promise.all([fixture.node(), fixture.node(), fixture.node()]);
});

after(async () => {
  await fixture?.stop();
});

function temporal() {
  return fixture.client.client;
}

function fleetNames(): string[] {
  return [nodeA, nodeB, nodeC].map((node) => node.name).sort();
}

function entryOf<T extends { node: string }>(entries: T[], node: SimulatedNode): T {
  const entry = entries.find((e) => e.node === node.name);
  assert.ok(entry, `the report has an entry for ${node.name}`);
  return entry;
}

function downloads(repo: string): number {
  return fixture.registry.requestCount({ route: 'download', repo });
}

async function blobExists(node: SimulatedNode, digest: string): Promise<boolean> {
  return stat(blobPath(node.settings.cocoon.rootDir, digest)).then(
    (info) => info.isFile(),
    () => false
  );
}

describe('node discovery', () => {
  test('every worker announces its node, and discovery lists exactly those', async () => {
    await waitFor(
      async () => (await discoveredNodes(temporal())).length === 3,
      'the three workers to announce themselves'
    );

    assert.deepEqual(await discoveredNodes(temporal()), fleetNames());
    const sightings = await nodeSightings(temporal());
    for (const sighting of sightings) {
      const age = Date.now() - Date.parse(sighting.lastSeen);
      assert.ok(age >= 0 && age < NODE_FRESH_WINDOW_MS, `${sighting.node} seen ${age} ms ago`);
      assert.ok(!Number.isNaN(Date.parse(sighting.announcedAt)), 'the worker said when');
    }
    // The same sightings, judged a window later, are all stale.
    const latest = Math.max(...sightings.map((s) => Date.parse(s.lastSeen)));
    assert.deepEqual(freshNodes(sightings, latest + NODE_FRESH_WINDOW_MS + 1), []);
  });

  test('an announcement without a valid node name is ignored', async () => {
    const handle = temporal().workflow.getHandle(FLEET_NODES_WORKFLOW_ID);
    await handle.signal(nodeAnnouncedSignal, { node: '../etc', at: new Date().toISOString() });
    await handle.signal(nodeAnnouncedSignal, { node: nodeA.name, at: new Date().toISOString() });

    // Signals are handled in order, so once the second is seen the first was handled too.
    const sent = Date.now();
    await waitFor(async () => {
      const sighting = (await handle.query(fleetNodesQuery)).find((s) => s.node === nodeA.name);
      return sighting !== undefined && Date.parse(sighting.lastSeen) >= sent - 1_000;
    }, 'the valid announcement to be handled');
    assert.deepEqual(
      (await handle.query(fleetNodesQuery)).map((s) => s.node),
      fleetNames(),
      'the invalid name was not remembered'
    );
  });

  test('discovery continues as new before its history grows, and remembers every node', async () => {
    const handle = temporal().workflow.getHandle(FLEET_NODES_WORKFLOW_ID);
    const firstRun = (await handle.describe()).runId;

    // Past the run's announcement budget, sent as the workers would, a hundred at a time.
    for (let batch = 0; batch < 11; batch++) {
      await Promise.all(
        Array.from({ length: 100 }, () =>
          handle.signal(nodeAnnouncedSignal, { node: nodeB.name, at: new Date().toISOString() })
        )
      );
    }

    await waitFor(
      async () => (await handle.describe()).runId !== firstRun,
      'the discovery workflow to continue as new'
    );
    const secondRun = await handle.describe();
    assert.equal(secondRun.status.name, 'RUNNING');
    assert.ok(secondRun.historyLength < 4_000, `new run has ${secondRun.historyLength} events`);
    assert.deepEqual(await discoveredNodes(temporal()), fleetNames());
  });
});

describe('the node announcer', () => {
  test('a failing announcement is reported, retried on the next beat, and never thrown', async () => {
    const connection = await NativeConnection.connect({ address: fixture.env.address });
    const failures: Error[] = [];
    const announcer = startNodeAnnouncer({
      connection,
      namespace: 'no-such-namespace',
      node: 'lonely-node',
      everyMs: 100,
      onFailure: (error) => failures.push(error),
    });
    try {
      await waitFor(() => failures.length >= 2, 'two failed announcements');
    } finally {
      await announcer.stop();
      await connection.close();
    }

    assert.match(failures[0]?.message ?? '', /namespace/i);
    assert.ok(!(await nodeSightings(temporal())).some((s) => s.node === 'lonely-node'));
  });
});

describe('fleet refresh', () => {
  test('force-pulls a moved tag everywhere and reports each node before and after', async () => {
    const repo = 'fleet/refresh';
    const old = await fixture.push(repo, 'base-v1');
    assert.equal((await nodeA.cocoonRun(['image', 'pull', old.url])).exitCode, 0);
    const current = await fixture.push(repo, 'base-v2');
    assert.equal((await nodeC.cocoonRun(['image', 'pull', current.url])).exitCode, 0);
    fixture.registry.resetStats();

    // No nodes named: the refresh covers the discovered fleet.
    const report = await refreshFleet(temporal(), { image: current.url });

    assert.deepEqual(report.nodes.map((n) => n.node).sort(), fleetNames());
    const a = entryOf(report.nodes, nodeA);
    const b = entryOf(report.nodes, nodeB);
    const c = entryOf(report.nodes, nodeC);
    assert.deepEqual(a, {
      node: nodeA.name,
      before: old.digest,
      after: current.digest,
      changed: true,
      verification: 'byte-exact',
    } satisfies NodeRefresh);
    assert.equal(b.before, undefined, 'node B had nothing cached');
    assert.equal(b.after, current.digest);
    assert.equal(b.changed, true);
    assert.equal(b.error, undefined);
    assert.equal(c.before, current.digest);
    assert.equal(c.after, current.digest);
    assert.equal(c.changed, false, 'node C already had the current image');
    assert.equal(c.error, undefined);
    assert.match(report.summary, /3 node\(s\): 2 changed, 1 unchanged, 0 failed/);

    // Forced means forced: every node downloaded the current image, whole, once.
    const served = fixture.registry.requests({ route: 'download', repo });
    const size = (await readFixtureImage('base-v2')).length;
    assert.equal(served.length, 3);
    assert.ok(served.every((r) => r.status === 200 && r.completed && r.bytesSent === size));
    assert.ok(await blobExists(nodeA, current.digest), 'node A has the current blob');
    assert.ok(await blobExists(nodeB, current.digest), 'node B has the current blob');
  });

  test('a named node without a worker is its own error entry; the others succeed', async () => {
    const ghost = await fixture.node({ worker: false });
    const image = await fixture.push('fleet/ghost', 'base-v1');
    const started = Date.now();

    const report = await refreshFleet(temporal(), {
      image: image.url,
      nodes: [nodeA.name, ghost.name],
      nodeTimeoutSeconds: 3,
    });

    const elapsed = Date.now() - started;
    assert.ok(elapsed < 30_000, `the refresh ended after ${elapsed} ms`);
    const lost = entryOf(report.nodes, ghost);
    assert.equal(lost.error?.type, FailureType.NodeUnavailable);
    assert.ok(lost.error?.message.includes(ghost.name), 'the error names the node');
    assert.equal(lost.after, undefined);
    assert.equal(lost.changed, false);
    const a = entryOf(report.nodes, nodeA);
    assert.equal(a.error, undefined);
    assert.equal(a.after, image.digest);
    assert.equal(a.changed, true);
    assert.match(report.summary, /1 changed, 0 unchanged, 1 failed \(.*node-/);
  });

  test('an image that is not a URL is refused before anything starts', async () => {
    await assert.rejects(
      refreshFleet(temporal(), { image: 'imported-name', nodes: [nodeA.name] }),
      (error: unknown) =>
        error instanceof InvalidCloneRequestError &&
        error.problems.some((problem) => problem.field === 'image')
    );
  });
});

describe('the pre-pull scan', () => {
  let pinned: { url: string; digest: string };
  let moved: { pinned: string; served: string; url: string };

  before(async () => {
    pinned = await fixture.push('fleet/pinned', 'base-v1');
    assert.equal((await nodeA.cocoonRun(['image', 'pull', pinned.url])).exitCode, 0);
    await nodeA.importSnapshot('pinned-on-a', { image: pinned.url, digest: pinned.digest });
    await nodeB.importSnapshot('pinned-on-b', { image: pinned.url, digest: pinned.digest });

    // Node C's snapshot was baked on an image whose tag has moved on since.
    const baked = await fixture.push('fleet/moved', 'base-v1');
    await nodeC.importSnapshot('moved-on-c', { image: baked.url, digest: baked.digest });
    const now = await fixture.push('fleet/moved', 'base-v2');
    moved = { pinned: baked.digest, served: now.digest, url: baked.url };
  });

  test('pulls a pinned digest one node lacks, and reports it present where it is', async () => {
    fixture.registry.resetStats();

    const report = await scanFleet(temporal());

    assert.deepEqual(report.nodes.map((n) => n.node).sort(), fleetNames());
    const a = entryOf(report.nodes, nodeA);
    assert.deepEqual(a.present, [
      { url: pinned.url, digest: pinned.digest, snapshots: ['pinned-on-a'] },
    ]);
    assert.deepEqual(a.prepulled, []);
    const b = entryOf(report.nodes, nodeB);
    assert.deepEqual(b.prepulled, [
      { url: pinned.url, digest: pinned.digest, snapshots: ['pinned-on-b'] },
    ]);
    assert.deepEqual(b.present, []);
    assert.ok(await blobExists(nodeB, pinned.digest), 'node B has the pinned blob now');
    assert.equal(downloads('fleet/pinned'), 1, 'only node B downloaded');

    const c = entryOf(report.nodes, nodeC);
    assert.deepEqual(c.stale, [
      {
        url: moved.url,
        digest: moved.pinned,
        snapshots: ['moved-on-c'],
        servedDigest: moved.served,
      },
    ]);
    assert.deepEqual([...c.prepulled, ...c.unavailable], []);
    assert.equal(downloads('fleet/moved'), 0, 'a stale pin costs no download');
    for (const node of report.nodes) assert.equal(node.error, undefined, node.node);
    assert.match(report.summary, /1 present, 1 pre-pulled, 1 stale, 0 unavailable, 0 node/);
  });

  test('the Schedule is installed idempotently and its scan runs when triggered', async () => {
    const handle = temporal().schedule.getHandle(PREPULL_SCHEDULE_ID);
    const intervals = async () =>
      (await handle.describe()).spec.intervals?.map((interval) => interval.every);

    assert.equal(await installPrepullSchedule(temporal(), { every: '20m' }), 'created');
    assert.deepEqual(await intervals(), [20 * 60_000]);
    assert.equal(await installPrepullSchedule(temporal()), 'updated');
    assert.deepEqual(await intervals(), [15 * 60_000], 'the default interval replaced 20m');

    const description = await handle.describe();
    assert.equal(description.policies.overlap, 'SKIP');
    assert.equal(description.action.type, 'startWorkflow');
    assert.equal(description.action.workflowType, SCAN_FLEET_WORKFLOW_TYPE);

    fixture.registry.resetStats();
    await handle.trigger();
    await waitFor(
      async () => (await handle.describe()).info.recentActions.length > 0,
      'the schedule to start a scan'
    );
    const [action] = (await handle.describe()).info.recentActions;
    const run = temporal().workflow.getHandle(
      action?.action.workflow.workflowId ?? 'missing',
      action?.action.workflow.firstExecutionRunId
    );
    const report = (await run.result()) as FleetScanReport;

    assert.deepEqual(report.nodes.map((n) => n.node).sort(), fleetNames());
    const b: NodeScan = entryOf(report.nodes, nodeB);
    assert.deepEqual(
      b.present.map((base) => base.digest),
      [pinned.digest],
      'what the first scan pulled is present now'
    );
    assert.equal(fixture.registry.requestCount({ route: 'download' }), 0, 'nothing to pull');
  });
});

describe('cocoon-flow fleet', () => {
  // The command runs in its own process, as from a shell; main.ts wires `fleet` to it.
  const commandModule = new URL('../client/cli/fleet-command.js', import.meta.url).href;
  const script = `
    const { runFleetCommand } = await import(${JSON.stringify(commandModule)});
    try {
      process.exitCode = await runFleetCommand(process.argv.slice(1));
    } catch (error) {
      process.stderr.write('Error: ' + error.message + '\\n');
      process.exitCode = 1;
    }`;

  function runFleet(args: string[]) {
    return execa(process.execPath, ['--input-type=module', '-e', script, '--', ...args], {
      reject: false,
      extendEnv: false,
      env: { PATH: process.env.PATH ?? '' },
      timeout: 120_000,
    });
  }

  function address(): string[] {
    return ['--address', fixture.env.address];
  }

  test('nodes: one line per live node, then the count', async () => {
    const result = await runFleet(['nodes', ...address()]);

    assert.equal(result.exitCode, 0, result.stderr);
    const lines = result.stdout.split('\n');
    assert.deepEqual(
      lines.slice(0, 3).map((line) => line.split('  ')[0]),
      fleetNames()
    );
    assert.ok(lines.slice(0, 3).every((line) => line.includes('  live  last seen ')));
    assert.equal(lines[3], '3 live node(s)');
  });

  test('refresh: a line per node with its digests; exit 1 when a node failed', async () => {
    const ghost = await fixture.node({ worker: false });
    const image = await fixture.push('fleet/cli', 'base-v1');

    const result = await runFleet([
      'refresh',
      image.url,
      '--node',
      nodeA.name,
      '--node',
      ghost.name,
      '--node-timeout',
      '3',
      ...address(),
    ]);

    assert.equal(result.exitCode, 1, result.stderr);
    const lines = result.stdout.split('\n');
    const short = image.digest.slice(0, 'sha256:'.length + 12);
    assert.equal(
      lines.find((l) => l.startsWith(`${nodeA.name}  `)),
      `${nodeA.name}  changed  none -> ${short} (byte-exact)`
    );
    const ghostLine = lines.find((l) => l.startsWith(`${ghost.name}  `)) ?? '';
    assert.ok(
      ghostLine.startsWith(`${ghost.name}  failed  none -> none  NodeUnavailable: `),
      ghostLine
    );
    assert.match(lines[2] ?? '', /^refreshed .* on 2 node\(s\): 1 changed, 0 unchanged, 1 failed/);
  });

  test('schedule: refuses an interval shorter than a minute', async () => {
    const result = await runFleet(['schedule', '--every', '10s', ...address()]);

    assert.equal(result.exitCode, 1);
    assert.match(result.stderr, /^Error: invalid argument "10s" for "--every"/);
  });

  test('scan: one line per node with its counts, then the summary', async () => {
    const result = await runFleet(['scan', ...address()]);

    assert.equal(result.exitCode, 0, result.stderr);
    const lines = result.stdout.split('\n');
    assert.deepEqual(
      lines
        .slice(0, 3)
        .map((line) => line.split('  ')[0])
        .sort(),
      fleetNames()
    );
    const b = lines.find((l) => l.startsWith(`${nodeB.name}  `));
    assert.equal(b, `${nodeB.name}  1 present, 0 pre-pulled, 0 stale, 0 unavailable`);
    assert.match(lines[3] ?? '', /^scanned 3 node\(s\): /);
  });
});
