import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import type { WorkflowHandle } from '@temporalio/client';
import { CloneCancelledError } from '../client/clone-errors.js';
import type { CloneRequest } from '../common/request.js';
import { cloneStatusQuery } from '../common/status.js';
import { CloneFixture } from './support/clone-fixture.js';
import type { SimulatedNode } from './support/simulated-node.js';
import { waitFor, waitForDownload, waitForStep } from './support/wait.js';

// Cancelling a clone (its pod was deleted) stops a running pull, lets a running `vm clone`
// finish and then removes its VM, and ends the workflow as cancelled, not failed.

const CLI = fileURLToPath(new URL('../client/cli/main.js', import.meta.url));

let fixture: CloneFixture;
let count = 0;

before(async () => {
  fixture = await CloneFixture.start();
});

after(async () => {
  await fixture?.stop();
});

/** A node whose registry stalls the download after 100 kB, so a pull is caught in the middle. */
async function stalledPull(node: SimulatedNode): Promise<CloneRequest> {
  count += 1;
  const repo = `stall/base-${count}`;
  const image = await fixture.push(repo, 'base-v2');
  await node.importSnapshot(`stall-hot-${count}`, image);
  fixture.registry.injectFault({ route: 'download', repo }, { kind: 'stall', afterBytes: 100_000 });
  return { node: node.name, vmName: `stall-vm-${count}`, snapshot: `stall-hot-${count}` };
}

async function expectCancelled(handle: WorkflowHandle): Promise<void> {
  await assert.rejects(fixture.client.result(handle), CloneCancelledError);
  assert.equal((await handle.describe()).status.name, 'CANCELLED');
}

describe('cancelling a clone', () => {
  test('while it pulls stops cocoon, leaves no temp file or process, and restores nothing', async () => {
    const node = await fixture.node();
    const handle = await fixture.client.start(await stalledPull(node));
    await waitForStep(handle, 'pull');
    await waitForDownload(node);

    await handle.cancel();

    await expectCancelled(handle);
    assert.deepEqual(await node.cocoonProcesses(), []);
    assert.deepEqual(await node.tempFiles(), []);
    assert.ok(!(await node.commands()).some((c) => c.includes(' vm clone ')));
    assert.equal((await handle.query(cloneStatusQuery)).step, 'cancelled');
  });

  test('while it restores lets vm clone finish, then removes the VM', async () => {
    const node = await fixture.node({ simulatorEnv: { COCOON_SIM_CLONE_DELAY_MS: '2000' } });
    const image = await fixture.push('slow-restore/base', 'base-v1');
    await node.importSnapshot('slow-hot', image);
    const handle = await fixture.client.start({
      node: node.name,
      vmName: 'slow-vm',
      snapshot: 'slow-hot',
    });
    await waitForStep(handle, 'restore');
    await waitFor(async () => (await node.cocoonProcesses()).length > 0, 'vm clone to run');

    await handle.cancel();

    await expectCancelled(handle);
    const commands = await node.commands();
    const cloneAt = commands.findIndex((c) => c.includes(' vm clone '));
    const removeAt = commands.findIndex((c) => c.includes(' vm rm --force slow-vm'));
    assert.ok(cloneAt >= 0 && removeAt > cloneAt, commands.join('\n'));
    assert.equal(await node.cocoon.inspectVm('slow-vm'), undefined);
    assert.deepEqual(await node.cocoonProcesses(), []);
    await assert.rejects(access(join(node.settings.ledgerDir, 'slow-vm.json')));
  });
});

describe('the CLI', () => {
  test('cocoon-flow clone cancels its clone on SIGTERM and exits 1 with an Error line', async () => {
    const node = await fixture.node();
    const req = await stalledPull(node);
    const configPath = await node.writeConfigFile({
      address: fixture.env.address,
      namespace: fixture.env.namespace ?? 'default',
    });
    const cli = execa(process.execPath, [CLI, 'clone', '--name', req.vmName, req.snapshot], {
      reject: false,
      env: { COCOON_FLOW_CONFIG: configPath },
      forceKillAfterDelay: false,
    });
    const handle = fixture.env.client.workflow.getHandle(`clone/${node.name}/${req.vmName}`);
    await waitForDownload(node);

    cli.kill('SIGTERM');
    const exited = await cli;

    assert.equal(exited.exitCode, 1, exited.stderr);
    assert.match(exited.stderr, /^Error: clone .* was cancelled$/m);
    assert.equal((await handle.describe()).status.name, 'CANCELLED');
    assert.deepEqual(await node.cocoonProcesses(), []);
  });

  test('cocoon-flow vm rm --force cancels a clone still running for the VM and succeeds', async () => {
    const node = await fixture.node();
    const req = await stalledPull(node);
    const configPath = await node.writeConfigFile({
      address: fixture.env.address,
      namespace: fixture.env.namespace ?? 'default',
    });
    const handle = await fixture.client.start(req);
    await waitForDownload(node);

    const removed = await execa(process.execPath, [CLI, 'vm', 'rm', '--force', req.vmName], {
      reject: false,
      env: { COCOON_FLOW_CONFIG: configPath },
    });

    assert.equal(removed.exitCode, 0, removed.stderr);
    assert.equal((await handle.describe()).status.name, 'CANCELLED');
    assert.equal(await node.cocoon.inspectVm(req.vmName), undefined);
  });

  test('cocoon-flow vm rm --force removes a finished clone by VM id, as vk-cocoon calls it', async () => {
    const node = await fixture.node();
    const image = await fixture.push('rm/base', 'base-v1');
    await node.importSnapshot('rm-hot', image);
    const vm = await fixture.client.clone({ node: node.name, vmName: 'rm-vm', snapshot: 'rm-hot' });
    const configPath = await node.writeConfigFile({
      address: fixture.env.address,
      namespace: fixture.env.namespace ?? 'default',
    });

    const removed = await execa(process.execPath, [CLI, 'vm', 'rm', '--force', vm.id], {
      reject: false,
      env: { COCOON_FLOW_CONFIG: configPath },
    });

    assert.equal(removed.exitCode, 0, removed.stderr);
    assert.equal(await node.cocoon.inspectVm('rm-vm'), undefined);
    await assert.rejects(access(join(node.settings.ledgerDir, 'rm-vm.json')));
  });
});
