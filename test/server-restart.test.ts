import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { execa, type ResultPromise } from 'execa';
import { CloneClient } from '../client/clone-client.js';
import { CLONE_SEARCH_ATTRIBUTES } from '../common/search-attributes.js';
import { readFixtureImage } from './fixtures/images.js';
import { EpochRegistry } from './registry/index.js';
import { SimulatedNode } from './support/simulated-node.js';
import { freePort } from './support/free-port.js';
import { findTemporalCli } from './support/temporal-cli.js';
import { waitForStep } from './support/wait.js';

// The Temporal dev server, persisting to a database file, is stopped and started again while a
// clone is in the middle of its restore. The worker and the client reconnect by themselves,
// and the clone completes with its one VM.

let dir: string;
let port: number;
let server: ResultPromise | undefined;
let registry: EpochRegistry;
let node: SimulatedNode;
let connection: Connection;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'server-restart-'));
  port = await freePort();
  await startServer();
  registry = await EpochRegistry.start();
  node = await SimulatedNode.create(`restart-${process.pid}`, {
    registries: [`${registry.url}/`],
    simulatorEnv: { COCOON_SIM_CLONE_DELAY_MS: '4000' },
  });
  await node.startWorker(`127.0.0.1:${port}`, 'default');
  connection = await Connection.connect({ address: `127.0.0.1:${port}` });
});

after(async () => {
  await node?.destroy();
  await connection?.close();
  await registry?.close();
  await stopServer();
  await rm(dir, { recursive: true, force: true });
});

async function startServer(): Promise<void> {
  const cli = await findTemporalCli();
  assert.equal(cli.type, 'existing-path', 'the temporal CLI is needed to run a server by hand');
  const args = ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port)];
  // Registered again on each start; the database keeps them too.
  const attributes = CLONE_SEARCH_ATTRIBUTES.flatMap((key) => [
    '--search-attribute',
    `${key.name}=Keyword`,
  ]);
  server = execa(
    cli.path,
    [...args, ...attributes, '--db-filename', join(dir, 'temporal.db'), '--log-level', 'error'],
    { reject: false }
  );
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const probe = await Connection.connect({
        address: `127.0.0.1:${port}`,
        connectTimeout: '1s',
      });
      await probe.close();
      return;
    } catch {
      assert.ok(Date.now() < deadline, 'the dev server did not come up');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

async function stopServer(): Promise<void> {
  server?.kill('SIGTERM');
  await server;
  server = undefined;
}

describe('a Temporal server restarted mid-clone', () => {
  test('the clone resumes and completes with one VM', async () => {
    const clones = new CloneClient(new Client({ connection, namespace: 'default' }));
    const pushed = registry.pushCloudImage('restart/base', await readFixtureImage('base-v1'));
    await node.importSnapshot('restart-hot', {
      image: registry.downloadUrl('restart/base'),
      digest: pushed.digest,
    });
    const handle = await clones.start({
      node: node.name,
      vmName: 'restart-vm',
      snapshot: 'restart-hot',
    });
    await waitForStep(handle, 'restore');

    await stopServer();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await startServer();
    const vm = await clones.result(handle);

    assert.equal(vm.state, 'running');
    assert.equal((await node.commands()).filter((c) => c.includes(' vm clone ')).length, 1);
    assert.equal((await node.cocoon.listVms()).length, 1);
  });
});
