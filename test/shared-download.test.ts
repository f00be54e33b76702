import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { CloneCancelledError } from '../client/clone-errors.js';
import { cloneStatusQuery } from '../common/status.js';
import { CloneFixture } from './support/clone-fixture.js';
import type { SimulatedNode } from './support/simulated-node.js';
import { WorkerProcess } from './support/worker-process.js';
import { waitFor } from './support/wait.js';

// Many clones on one node that need the same missing image share one download and one hash;
// cancelling one of them does not stop the download the others wait for.

const CLONES = 5;

let fixture: CloneFixture;
let node: SimulatedNode;
let worker: WorkerProcess;

before(async () => {
  fixture = await CloneFixture.start();
  node = await fixture.node({ worker: false });
  worker = await WorkerProcess.start(node, {
    address: fixture.env.address,
    namespace: fixture.env.namespace ?? 'default',
  });
});

after(async () => {
  await worker?.stop('SIGKILL');
  await fixture?.stop();
});

describe('clones that need the same missing image at once', () => {
  test('share one download and one hash, and a cancelled waiter leaves the others their download', async () => {
    const repo = 'shared/base';
    const image = await fixture.push(repo, 'base-v2');
    await node.importSnapshot('shared-hot', image);
    // About two seconds of download, so every clone arrives while it is in flight.
    fixture.registry.injectFault(
      { route: 'download', repo },
      { kind: 'slow', bytesPerSecond: 200_000 }
    );
    fixture.registry.resetStats();

    const handles = await Promise.all(
      Array.from({ length: CLONES }, (_, i) =>
        fixture.client.start({ node: node.name, vmName: `shared-${i}`, snapshot: 'shared-hot' })
      )
    );
    const [leaving, ...staying] = handles;
    assert.ok(leaving);
    await waitFor(async () => {
      const steps = await Promise.all(handles.map((h) => h.query(cloneStatusQuery)));
      return steps.every((s) => s.step === 'pull');
    }, 'every clone to wait on the pull');
    await leaving.cancel();

    await assert.rejects(fixture.client.result(leaving), CloneCancelledError);
    const vms = await Promise.all(staying.map((h) => fixture.client.result(h)));

    assert.deepEqual(
      vms.map((vm) => vm.state),
      staying.map(() => 'running')
    );
    assert.equal(fixture.registry.requestCount({ route: 'download', repo }), 1, 'one download');
    assert.equal(worker.countLogs('Downloading base image'), 1);
    assert.equal(worker.countLogs('Hashed base image blob'), 1, 'one hash');
    assert.equal(
      await node.cocoon.inspectVm('shared-0'),
      undefined,
      'the cancelled clone made no VM'
    );
  });

  test('another node pulls its own copy', async () => {
    const other = await fixture.node();
    await other.importSnapshot('shared-hot', await fixture.push('shared/base', 'base-v2'));
    fixture.registry.resetStats();

    const vm = await fixture.client.clone({
      node: other.name,
      vmName: 'shared-other',
      snapshot: 'shared-hot',
    });

    assert.equal(vm.state, 'running');
    assert.equal(fixture.registry.requestCount({ route: 'download', repo: 'shared/base' }), 1);
  });

  test('a clone that asked before the shared download ended, but reaches its pull after, is not downloaded for again', async () => {
    const repo = 'shared/late';
    const image = await fixture.push(repo, 'base-v2');
    const activities = node.activities();
    const pullScheduledAt = async (scheduledTimestampMs: number) =>
      new MockActivityEnvironment({ scheduledTimestampMs }).run(activities.pullCloudImage, {
        url: image.url,
      });
    fixture.registry.resetStats();

    const askedBeforeItEnded = Date.now();
    await pullScheduledAt(askedBeforeItEnded);
    await pullScheduledAt(askedBeforeItEnded);
    assert.equal(fixture.registry.requestCount({ route: 'download', repo }), 1);

    // Asked after that download ended: a force pull must fetch what the registry serves now.
    await pullScheduledAt(Date.now() + 1);
    assert.equal(fixture.registry.requestCount({ route: 'download', repo }), 2);
  });
});
