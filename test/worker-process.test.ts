import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CloneRequest } from '../common/request.js';
import { CloneFixture } from './support/clone-fixture.js';
import type { SimulatedNode } from './support/simulated-node.js';
import { WorkerProcess } from './support/worker-process.js';
import { waitForStep } from './support/wait.js';

// `cocoon-flow worker` as a real process: configured by its config file, logging JSON lines,
// and finishing the step in hand when it gets SIGTERM.

let fixture: CloneFixture;
let node: SimulatedNode;
let worker: WorkerProcess;

before(async () => {
  fixture = await CloneFixture.start();
  node = await fixture.node({ worker: false });
  // Each simulated `vm clone` takes three seconds, so SIGTERM can land in the middle of one.
  worker = await WorkerProcess.start(
    node,
    { address: fixture.env.address, namespace: fixture.env.namespace ?? 'default' },
    { COCOON_SIM_CLONE_DELAY_MS: '3000' }
  );
});

after(async () => {
  worker?.process.kill('SIGKILL');
  await fixture?.stop();
});

async function completedActivityTypes(workflowId: string): Promise<string[]> {
  const history = await fixture.env.client.workflow.getHandle(workflowId).fetchHistory();
  const scheduled = new Map<string, string>();
  const completed: string[] = [];
  for (const event of history.events ?? []) {
    const attributes = event.activityTaskScheduledEventAttributes;
    if (attributes) scheduled.set(String(event.eventId), attributes.activityType?.name ?? '');
    const done = event.activityTaskCompletedEventAttributes;
    if (done) completed.push(scheduled.get(String(done.scheduledEventId)) ?? '');
  }
  return completed;
}

describe('the worker process', () => {
  test('drains on SIGTERM: the restore in hand finishes, then the process exits 0', async () => {
    const image = await fixture.push('drain/base', 'base-v1');
    await node.importSnapshot('drain-hot', image);
    const req: CloneRequest = { node: node.name, vmName: 'drain-vm', snapshot: 'drain-hot' };
    const handle = await fixture.client.start(req);

    await waitForStep(handle, 'restore');
    const exited = await worker.stop('SIGTERM');

    assert.equal(exited.exitCode, 0, `signal ${exited.signal}: ${worker.stderr}`);
    assert.ok(
      (await completedActivityTypes(handle.workflowId)).includes('restoreVm'),
      'the restore in hand when SIGTERM came finished and was reported before the exit'
    );
    assert.equal((await node.cocoon.inspectVm('drain-vm'))?.state, 'running');

    // A worker back on the node picks the clone up where the drained one left it.
    await node.startWorker(fixture.env.address, fixture.env.namespace ?? 'default');
    const vm = await fixture.client.result(handle);
    assert.equal(vm.state, 'running');
    assert.equal((await node.commands()).filter((c) => c.includes(' vm clone ')).length, 1);
  });

  test('logs one JSON object per line', () => {
    const lines = worker.stderr.split('\n').filter((line) => line.trim() !== '');
    assert.ok(lines.length >= 2, worker.stderr);
    for (const line of lines) {
      const entry = JSON.parse(line) as { level: string; message: string; time: string };
      assert.ok(entry.level && entry.message && entry.time, line);
    }
    assert.ok(lines.some((line) => line.includes('Force-pulling base image')));
  });
});
