import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CocoonCli } from '../activities/cocoon/cocoon-cli.js';
import {
  CocoonError,
  findErrorLine,
  type CocoonErrorCode,
} from '../activities/cocoon/cocoon-error.js';
import { readFixtureImage } from './fixtures/images.js';
import { EpochRegistry } from './registry/index.js';
import { SimulatedNode } from './support/simulated-node.js';

// The cocoon driver against the simulator's output, which follows the real binary's error
// lines: every failure the workflow decides on must arrive as its typed code.

let registry: EpochRegistry;
let node: SimulatedNode;
let scratch: string;

before(async () => {
  registry = await EpochRegistry.start();
  node = await SimulatedNode.create('driver', { registries: [`${registry.url}/`] });
  scratch = await mkdtemp(join(tmpdir(), 'cocoon-driver-'));
});

after(async () => {
  await node?.destroy();
  await registry?.close();
  await rm(scratch, { recursive: true, force: true });
});

async function expectCode(promise: Promise<unknown>, code: CocoonErrorCode): Promise<CocoonError> {
  const error = await promise.then(
    () => assert.fail(`expected CocoonError ${code}`),
    (e: unknown) => e
  );
  assert.ok(error instanceof CocoonError, `expected CocoonError, got ${String(error)}`);
  assert.equal(error.code, code, error.message);
  return error;
}

async function fakeCocoon(script: string): Promise<CocoonCli> {
  const binary = join(scratch, `fake-${Math.random().toString(36).slice(2)}`);
  await writeFile(binary, `#!/usr/bin/env bash\n${script}\n`);
  await chmod(binary, 0o755);
  return new CocoonCli({ ...node.cocoon.options, binary });
}

describe('reads and the "not found" answers that are not failures', () => {
  test('an unknown image is undefined, not an error', async () => {
    assert.equal(await node.cocoon.inspectImage(`sha256:${'d'.repeat(64)}`), undefined);
  });

  test('an unknown VM is undefined, and removing it reports it was already gone', async () => {
    assert.equal(await node.cocoon.inspectVm('no-such-vm'), undefined);
    assert.equal(await node.cocoon.removeVm('no-such-vm'), false);
  });

  test("an empty node's lists are empty, through cocoon's plain-text 'No … found.' lines", async () => {
    const empty = await SimulatedNode.create('driver-empty', { registries: [] });
    try {
      assert.equal(
        (await empty.cocoonRun(['vm', 'list', '-o', 'json'])).stdout.trim(),
        'No VMs found.'
      );
      assert.deepEqual(await empty.cocoon.listVms(), []);
      assert.deepEqual(await empty.cocoon.listImages(), []);
    } finally {
      await empty.destroy();
    }
  });

  test('a pulled image is found by URL, digest, bare hex and 12-char prefix', async () => {
    registry.pushCloudImage('driver/base', await readFixtureImage('base-v1'));
    const url = registry.downloadUrl('driver/base');
    await node.cocoon.pullImage(url, true);

    const byUrl = await node.cocoon.inspectImage(url);
    assert.ok(byUrl);
    assert.deepEqual(
      (await node.cocoon.listImages()).map((image) => image.name),
      [url]
    );
    const hex = byUrl.id.slice('sha256:'.length);
    for (const ref of [byUrl.id, hex, hex.slice(0, 12)]) {
      assert.equal((await node.cocoon.inspectImage(ref))?.name, url, `by ${ref}`);
    }
  });
});

describe('typed errors from cocoon', () => {
  test('a missing snapshot is SnapshotNotFound', async () => {
    await expectCode(node.cocoon.inspectSnapshot('nope'), 'SnapshotNotFound');
  });

  test('a 404 on pull is HttpStatus with the status', async () => {
    const error = await expectCode(
      node.cocoon.pullImage(registry.downloadUrl('missing/repo'), true),
      'HttpStatus'
    );
    assert.equal(error.details.httpStatus, 404);
  });

  test('a 503 on pull is HttpStatus 503', async () => {
    registry.pushCloudImage('driver/busy', await readFixtureImage('base-v1'));
    registry.injectFault(
      { route: 'download', repo: 'driver/busy' },
      { kind: 'status', status: 503 }
    );
    const error = await expectCode(
      node.cocoon.pullImage(registry.downloadUrl('driver/busy'), true),
      'HttpStatus'
    );
    assert.equal(error.details.httpStatus, 503);
  });

  test('an HTML page is NotADiskImage', async () => {
    registry.pushRawBody(
      'driver/html',
      Buffer.from(`<!DOCTYPE html><html>${'x'.repeat(1024)}</html>`)
    );
    await expectCode(
      node.cocoon.pullImage(registry.downloadUrl('driver/html'), true),
      'NotADiskImage'
    );
  });

  test('a refused connection is RegistryUnreachable', async () => {
    await expectCode(node.cocoon.pullImage('http://127.0.0.1:1/dl/x', true), 'RegistryUnreachable');
  });

  test('a connection reset mid-body is DownloadIncomplete', async () => {
    registry.pushCloudImage('driver/reset', await readFixtureImage('base-v1'));
    registry.injectFault({ route: 'blob' }, { kind: 'reset', afterBytes: 10_000 });
    const digest = (await node.cocoon.inspectImage(registry.downloadUrl('driver/base')))?.id ?? '';
    await expectCode(
      node.cocoon.pullImage(registry.blobUrl('driver/reset', digest), true),
      'DownloadIncomplete'
    );
  });

  test('clone errors: invalid name, taken name, missing base blob', async () => {
    const image = registry.pushCloudImage('driver/clone', await readFixtureImage('base-v2'));
    const url = registry.downloadUrl('driver/clone');
    await node.importSnapshot('driver-hot', { image: url, digest: image.digest });

    await expectCode(node.cocoon.cloneVm('driver-hot', { name: 'bad name' }), 'InvalidVmName');
    await expectCode(node.cocoon.cloneVm('driver-hot', { name: 'vm-a' }), 'BaseBlobMissing');

    await node.cocoon.pullImage(url, true);
    const vm = await node.cocoon.cloneVm('driver-hot', { name: 'vm-a' });
    assert.equal(vm.pid, 0, 'vm clone prints pid 0; vm inspect has the real one');
    assert.ok(((await node.cocoon.inspectVm('vm-a'))?.pid ?? 0) > 0);
    await expectCode(node.cocoon.cloneVm('driver-hot', { name: 'vm-a' }), 'VmNameTaken');
    assert.deepEqual(
      (await node.cocoon.listVms()).map((listed) => listed.config.name),
      ['vm-a']
    );
    await expectCode(
      node.cocoon.cloneVm('driver-hot', { name: 'vm-b', cpu: 1 }),
      'ResourceBelowSnapshot'
    );
  });

  test('a binary that cannot run is NotStarted', async () => {
    const cli = new CocoonCli({ ...node.cocoon.options, binary: join(scratch, 'absent') });
    await expectCode(cli.inspectSnapshot('x'), 'NotStarted');
  });

  test('output that is not the expected JSON is MalformedOutput', async () => {
    const cli = await fakeCocoon(`echo 'Welcome to cocoon!'`);
    await expectCode(cli.inspectSnapshot('x'), 'MalformedOutput');
    const wrongShape = await fakeCocoon(`echo '{"id": 7}'`);
    await expectCode(wrongShape.inspectVm('x'), 'MalformedOutput');
  });

  test('an exit 1 without an Error line is Unknown and keeps the exit code', async () => {
    const cli = await fakeCocoon('echo oops >&2; exit 1');
    const error = await expectCode(cli.inspectSnapshot('x'), 'Unknown');
    assert.equal(error.details.exitCode, 1);
  });
});

describe('error line parsing', () => {
  test('finds the last Error line through ANSI colour codes', () => {
    const stderr = [
      '\x1b[90m03 Dec 26 16:37 +0000\x1b[0m \x1b[32mINF\x1b[0m pulling',
      '\x1b[31mError: \x1b[0mpull x: http get x: status 502 502 Bad Gateway',
    ].join('\n');
    assert.equal(findErrorLine(stderr), 'pull x: http get x: status 502 502 Bad Gateway');
  });
});
