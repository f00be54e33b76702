import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { blobPath, hashFile } from '../activities/image/blob-file.js';
import { cloneStatusQuery } from '../common/status.js';
import { CloneFixture } from './support/clone-fixture.js';
import type { SimulatedNode } from './support/simulated-node.js';
import { WorkerProcess } from './support/worker-process.js';
import { waitFor } from './support/wait.js';

// A worker killed outright (SIGKILL) in the middle of a verify or a restore, then started again:
// the clone completes with exactly one VM, on the pinned digest, and nothing of ours is left.

let fixture: CloneFixture;
let node: SimulatedNode;
let worker: WorkerProcess | undefined;

const temporal = () => ({
  address: fixture.env.address,
  namespace: fixture.env.namespace ?? 'default',
});

before(async () => {
  fixture = await CloneFixture.start();
  node = await fixture.node({ worker: false, simulatorEnv: { COCOON_SIM_CLONE_DELAY_MS: '4000' } });
  worker = await WorkerProcess.start(node, temporal());
});

after(async () => {
  await worker?.stop('SIGKILL');
  await fixture?.stop();
});

/** The attempt the clone's last `verifyCloudImage` ran as, from the workflow's history. */
async function verifyAttempt(workflowId: string): Promise<number> {
  const history = await fixture.env.client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const scheduled = events.find(
    (event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'verifyCloudImage'
  );
  const started = events.find(
    (event) =>
      String(event.activityTaskStartedEventAttributes?.scheduledEventId) ===
      String(scheduled?.eventId)
  );
  return started?.activityTaskStartedEventAttributes?.attempt ?? 0;
}

describe('a worker killed mid-verify', () => {
  test('is restarted, hashes the blob again and the clone completes on the pinned digest', async () => {
    // A node of its own, so the VM count below is this clone's alone.
    const verifyNode = await fixture.node({ worker: false });
    let verifyWorker = await WorkerProcess.start(verifyNode, temporal());
    try {
      // About 2.4 s of hashing here: room to land a kill in the middle of it.
      const image = await fixture.pushLarge('verify-crash/base', 3);
      await verifyNode.importSnapshot('verify-crash-hot', image);
      const handle = await fixture.client.start({
        node: verifyNode.name,
        vmName: 'verify-crash-vm',
        snapshot: 'verify-crash-hot',
      });
      const blob = blobPath(verifyNode.settings.cocoon.rootDir, image.digest);
      await waitFor(
        () => verifyWorker.hasOpen(blob),
        'the worker to open the blob for hashing',
        180_000
      );

      await verifyWorker.stop('SIGKILL');
      verifyWorker = await WorkerProcess.start(verifyNode, temporal());
      const vm = await fixture.client.result(handle);

      assert.equal(vm.config.image_digest, image.digest);
      assert.equal(
        await verifyAttempt(handle.workflowId),
        2,
        'the verify that was killed mid-hash ran again as a retry'
      );
      assert.equal((await handle.query(cloneStatusQuery)).verification, 'byte-exact');
      const hashed = await hashFile(blob, () => undefined);
      assert.equal(hashed, image.digest, 'the blob the VM runs on is whole');
      const vms = await verifyNode.cocoon.listVms();
      assert.deepEqual(
        vms.map((entry) => entry.config.name),
        ['verify-crash-vm']
      );
      const ownFiles = await readdir(join(verifyNode.settings.ledgerDir, 'output')).catch(() => []);
      assert.deepEqual(ownFiles, [], 'no vm clone output files of ours are left');
    } finally {
      await verifyWorker.stop('SIGKILL');
    }
  });
});

describe('a worker killed mid-restore', () => {
  test('is restarted and the clone completes with exactly one VM and one vm clone', async () => {
    const image = await fixture.push('crash/base', 'base-v1');
    await node.importSnapshot('crash-hot', image);
    const handle = await fixture.client.start({
      node: node.name,
      vmName: 'crash-vm',
      snapshot: 'crash-hot',
    });
    await waitFor(
      async () => (await node.commands()).some((c) => c.includes(' vm clone ')),
      'vm clone to start'
    );

    await worker?.stop('SIGKILL');
    worker = await WorkerProcess.start(node, temporal());
    const vm = await fixture.client.result(handle);

    assert.equal(vm.state, 'running');
    const commands = await node.commands();
    assert.equal(
      commands.filter((c) => c.includes(' vm clone ')).length,
      1,
      `${commands.join('\n')}\n${worker?.stderr}`
    );
    const listed = JSON.parse((await node.cocoonRun(['vm', 'list', '-o', 'json'])).stdout);
    assert.equal(listed.length, 1);
    assert.equal((await handle.query(cloneStatusQuery)).step, 'done');
  });

  test('a creating placeholder left by a killed vm clone of this clone is removed and the clone goes on', async () => {
    const image = await fixture.push('placeholder/base', 'base-v1');
    await node.importSnapshot('placeholder-hot', image);
    const handle = await fixture.client.start({
      node: node.name,
      vmName: 'placeholder-vm',
      snapshot: 'placeholder-hot',
    });
    let clonePid: string | undefined;
    await waitFor(async () => {
      const running = (await node.cocoonProcesses()).find((p) =>
        p.includes('--name placeholder-vm')
      );
      clonePid = running?.split(' ')[0];
      return clonePid !== undefined;
    }, 'vm clone to start');
    await new Promise((resolve) => setTimeout(resolve, 500));

    // Killed outright, cocoon rolls nothing back: its `creating` record keeps the name.
    process.kill(Number(clonePid), 'SIGKILL');
    const vm = await fixture.client.result(handle);

    assert.equal(vm.state, 'running');
    const commands = await node.commands();
    assert.ok(
      commands.some((c) => c.endsWith('vm rm --force placeholder-vm')),
      commands.join('\n')
    );
    assert.equal(commands.filter((c) => c.includes('--name placeholder-vm')).length, 2);
    assert.equal((await node.cocoonRun(['vm', 'inspect', 'placeholder-vm'])).exitCode, 0);
  });
});
