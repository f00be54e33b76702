import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdir } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { CloneFailedError } from '../client/clone-errors.js';
import { FailureType } from '../common/failures.js';
import { cloneStatusQuery } from '../common/status.js';
import { CloneFixture } from './support/clone-fixture.js';

// Registry faults a pull must survive, or end in a typed image-layer error within a bounded
// time, never restoring a VM on anything but the pinned digest.

let fixture: CloneFixture;
let count = 0;

before(async () => {
  fixture = await CloneFixture.start();
});

after(async () => {
  await fixture?.stop();
});

async function nodeWith(repoImage: 'base-v1' | 'base-v2', options = {}) {
  count += 1;
  const repo = `faults/base-${count}`;
  const node = await fixture.node(options);
  const image = await fixture.push(repo, repoImage);
  await node.importSnapshot('hot', image);
  return { node, repo, image, vmName: `faulty-${count}` };
}

describe('a download that stops growing', () => {
  test('is stopped as PullStalled within the stall timeout, not after 30 minutes', async () => {
    const { node, repo, image } = await nodeWith('base-v2');
    fixture.registry.injectFault(
      { route: 'download', repo },
      { kind: 'stall', afterBytes: 100_000 }
    );
    const activities = node.activities({ pullStallSeconds: 2 });
    const started = Date.now();

    const error = await new MockActivityEnvironment()
      .run(activities.pullCloudImage, { url: image.url })
      .then(
        () => assert.fail('the stalled pull succeeded'),
        (e: unknown) => e
      );

    assert.ok(error instanceof ApplicationFailure, String(error));
    assert.equal(error.type, FailureType.PullStalled);
    assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms`);
    assert.deepEqual(await node.tempFiles(), [], 'cocoon removed its temp file');
    assert.deepEqual(await node.cocoonProcesses(), []);
  });

  test('is retried, and the clone succeeds once the registry answers again', async () => {
    const { node, repo, vmName } = await nodeWith('base-v2', { pullStallSeconds: 2 });
    fixture.registry.injectFault(
      { route: 'download', repo },
      { kind: 'stall', afterBytes: 100_000 }
    );

    const vm = await fixture.client.clone({ node: node.name, vmName, snapshot: 'hot' });

    assert.equal(vm.state, 'running');
    const downloads = fixture.registry.requests({ route: 'download', repo });
    assert.equal(downloads.length, 2);
    assert.equal(downloads[0]?.completed, false, 'the first download was abandoned');
  });
});

describe('a node without disk room for the image', () => {
  test('fails DiskFull before downloading, from the size in the manifest', async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip('needs root to mount a small tmpfs as the node disk; CI runs it as root');
      return;
    }
    count += 1;
    const repo = `faults/full-${count}`;
    const node = await fixture.node();
    // A 256 KiB filesystem as cocoon's root: the 448 KiB image cannot fit.
    await mkdir(node.settings.cocoon.rootDir, { recursive: true });
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', node.settings.cocoon.rootDir]);
    try {
      await node.importSnapshot('full-hot', await fixture.push(repo, 'base-v2'));

      const error = await fixture.client
        .clone({ node: node.name, vmName: `full-${count}`, snapshot: 'full-hot' })
        .then(
          () => assert.fail('the clone succeeded on a full disk'),
          (e: unknown) => e
        );

      assert.ok(error instanceof CloneFailedError, String(error));
      assert.equal(error.type, FailureType.DiskFull);
      assert.match(error.message, /needs \d+ bytes .* has \d+ free/);
      assert.equal(fixture.registry.requestCount({ route: 'download', repo }), 0);
      assert.ok(fixture.registry.requestCount({ route: 'manifest', repo }) > 0);
      assert.ok(!(await node.commands()).some((c) => c.includes(' vm clone ')));
    } finally {
      // The node's files are removed with the fixture, once its disk is unmounted.
      await execa('umount', [node.settings.cocoon.rootDir], { reject: false });
    }
  });
});

describe('damaged downloads', () => {
  test('wrong bytes are caught by the digest and pulled again', async () => {
    const { node, repo, vmName } = await nodeWith('base-v2');
    fixture.registry.injectFault({ route: 'download', repo }, { kind: 'corrupt' });

    const req = { node: node.name, vmName, snapshot: 'hot' };
    const vm = await fixture.client.clone(req);

    assert.equal(vm.state, 'running');
    assert.equal(fixture.registry.requestCount({ route: 'download', repo }), 2);
    const status = await fixture.env.client.workflow
      .getHandle(`clone/${node.name}/${vmName}`)
      .query(cloneStatusQuery);
    assert.equal(status.verification, 'byte-exact');
    assert.equal(status.pullAttempts, 2);
  });
});
