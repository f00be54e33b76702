import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { execa } from 'execa';
import { CloneClient } from '../client/clone-client.js';
import { CloneFailedError, SearchAttributesMissingError } from '../client/clone-errors.js';
import { cloneWorkflowId } from '../common/names.js';
import { sha256Digest, readFixtureImage } from './fixtures/images.js';
import { CloneFixture } from './support/clone-fixture.js';
import type { SimulatedNode } from './support/simulated-node.js';
import { startTemporalDevServer } from './support/temporal-server.js';
import { waitFor } from './support/wait.js';

// What an operator does from a terminal: list clones by their search attributes, start failed
// ones again, replay their histories, and prepare a namespace. All through the real CLI.

const CLI = fileURLToPath(new URL('../client/cli/main.js', import.meta.url));

let fixture: CloneFixture;
let node: SimulatedNode;
let other: SimulatedNode;

before(async () => {
  fixture = await CloneFixture.start();
  node = await fixture.node();
  other = await fixture.node();
});

after(async () => {
  await fixture?.stop();
});

function runCli(args: string[]) {
  return execa(process.execPath, [CLI, ...args, '--address', fixture.env.address], {
    reject: false,
  });
}

/** Until `cocoon-flow list` with `filters` shows exactly `count` clones (visibility lags). */
async function waitForListed(filters: string[], count: number): Promise<string> {
  let stdout = '';
  await waitFor(
    async () => {
      stdout = (await runCli(['list', ...filters])).stdout;
      return stdout.trim().split('\n').length === count + 1;
    },
    `list ${filters.join(' ')} to show ${count} clones`
  );
  return stdout;
}

describe('a clone that failed because the registry lacked its digest', () => {
  test('is listed by node and outcome, retried once the image is pushed, and replays', async () => {
    const v1 = await fixture.push('ops/base', 'base-v1');
    const pinned = sha256Digest(await readFixtureImage('base-v2'));
    await node.importSnapshot('ops-hot', { image: v1.url, digest: pinned });
    const good = await fixture.push('ops/good', 'base-v1');
    await node.importSnapshot('ops-good-hot', good);
    await other.importSnapshot('ops-good-hot', good);

    const failing = { node: node.name, vmName: 'ops-vm', snapshot: 'ops-hot' };
    await assert.rejects(fixture.client.clone(failing), CloneFailedError);
    await fixture.client.clone({ node: node.name, vmName: 'ops-ok', snapshot: 'ops-good-hot' });
    await fixture.client.clone({ node: other.name, vmName: 'ops-ok', snapshot: 'ops-good-hot' });

    const failedListing = await waitForListed(['--node', node.name, '--outcome', 'failed'], 1);
    const failedId = cloneWorkflowId(node.name, 'ops-vm');
    assert.match(
      failedListing,
      new RegExp(`^${failedId}\\s.*\\sfailed\\s+DigestUnavailable\\s`, 'm')
    );
    const nodeListing = await waitForListed(['--node', node.name], 2);
    assert.ok(!nodeListing.includes(other.name), 'the other node is filtered out');

    // The remedy: the pinned image is pushed again, and the failed clone is started again.
    await fixture.push('ops/base', 'base-v2');
    const retried = await runCli(['retry', '--node', node.name]);
    assert.equal(retried.exitCode, 0, retried.stderr);
    assert.match(retried.stdout, new RegExp(`^retried  ${failedId} as run \\S+$`, 'm'));
    assert.equal(retried.stdout.trim().split('\n').length, 1, 'only the failed clone is retried');

    const vm = await fixture.client.result(fixture.env.client.workflow.getHandle(failedId));
    assert.equal(vm.config.image_digest, pinned);

    const again = await runCli(['retry', 'ops-vm', '--node', node.name]);
    assert.match(
      again.stdout,
      new RegExp(`^skipped  ${failedId}: its latest run is completed$`, 'm')
    );

    // Both runs of the retried clone, the failed and the succeeded one, replay.
    const replayed = await runCli(['replay', '--node', node.name]);
    assert.equal(replayed.exitCode, 0, replayed.stdout + replayed.stderr);
    const lines = replayed.stdout.trim().split('\n');
    assert.equal(
      lines.filter((line) => line.startsWith('ok') && line.includes(failedId)).length,
      2
    );
    assert.ok(
      lines.every((line) => line.startsWith('ok')),
      replayed.stdout
    );
  });

  test('a filter value that cannot name a clone is refused with the flag to fix', async () => {
    const result = await runCli(['list', '--outcome', "failed' OR 1=1"]);
    assert.equal(result.exitCode, 1);
    assert.match(
      result.stderr,
      /^Error: invalid outcome .*: use one of running, succeeded, failed, cancelled$/m
    );

    const since = await runCli(['list', '--since', 'yesterday']);
    assert.match(since.stderr, /^Error: invalid argument "yesterday" for "--since"/m);
  });
});

describe('a namespace without the clone search attributes', () => {
  let bare: TestWorkflowEnvironment;

  before(async () => {
    bare = await startTemporalDevServer({ searchAttributes: false });
  });

  after(async () => {
    await bare?.teardown();
  });

  test('refuses a start naming what is missing, until cocoon-flow setup adds them', async () => {
    const client = new CloneClient(bare.client);
    const request = { node: 'setup-node', vmName: 'setup-vm', snapshot: 'setup-hot' };

    const refused = await client.start(request).then(
      () => assert.fail('the start should be refused'),
      (error: unknown) => error
    );
    assert.ok(refused instanceof SearchAttributesMissingError, String(refused));
    assert.deepEqual(refused.missing, [
      'CloneNode',
      'CloneSnapshot',
      'CloneBaseDigest',
      'CloneStep',
      'CloneOutcome',
      'CloneFailureType',
    ]);

    const setup = await execa(process.execPath, [CLI, 'setup', '--address', bare.address], {
      reject: false,
    });
    assert.equal(setup.exitCode, 0, setup.stderr);
    assert.match(
      setup.stdout,
      /^added search attributes CloneNode, .*CloneFailureType to namespace default$/m
    );

    const handle = await client.start(request);
    assert.equal(handle.workflowId, cloneWorkflowId('setup-node', 'setup-vm'));
    await handle.terminate('no worker serves this test node');

    const rerun = await execa(process.execPath, [CLI, 'setup', '--address', bare.address], {
      reject: false,
    });
    assert.match(rerun.stdout, /has every clone search attribute already/);
  });
});
