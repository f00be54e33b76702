import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { cloneStatusQuery } from '../common/status.js';
import { CloneFixture } from './support/clone-fixture.js';
import type { SimulatedNode } from './support/simulated-node.js';
import { WorkerProcess } from './support/worker-process.js';
import { waitFor } from './support/wait.js';

// A worker killed outright (SIGKILL) in the middle of a restore, then started again: the clone
// completes with exactly one VM, made by the one `vm clone` that was running.

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
