import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { CloneFailedError, InvalidCloneRequestError } from '../client/clone-errors.js';
import { FailureType } from '../common/failures.js';
import type { CloneRequest } from '../common/request.js';
import { cloneStatusQuery } from '../common/status.js';
import { CLONE_WORKFLOW_QUEUE, CLONE_WORKFLOW_TYPE, cloneWorkflowId } from '../common/names.js';
import { blobPath } from '../activities/image/blob-file.js';
import { CloneFixture } from './support/clone-fixture.js';
import type { SimulatedNode } from './support/simulated-node.js';

// The clone workflow end to end: a real Temporal dev server, a real worker per node, the
// epoch-shaped registry on loopback and the cocoon simulator.

let fixture: CloneFixture;
let vmCount = 0;

before(async () => {
  fixture = await CloneFixture.start();
});

after(async () => {
  await fixture?.stop();
});

function request(
  node: SimulatedNode,
  snapshot: string,
  extra: Partial<CloneRequest> = {}
): CloneRequest {
  vmCount += 1;
  return {
    node: node.name,
    vmName: `vm-${vmCount}`,
    snapshot,
    requestId: `pod-${vmCount}`,
    ...extra,
  };
}

async function expectCloneFailure(
  promise: Promise<unknown>,
  type: string
): Promise<CloneFailedError> {
  const error = await promise.then(
    () => assert.fail(`expected the clone to fail with ${type}`),
    (e: unknown) => e
  );
  assert.ok(error instanceof CloneFailedError, `expected CloneFailedError, got ${String(error)}`);
  assert.equal(error.type, type, error.message);
  return error;
}

async function statusOf(req: CloneRequest) {
  const handle = fixture.env.client.workflow.getHandle(
    cloneWorkflowId(req.node, req.vmName, req.requestId)
  );
  return handle.query(cloneStatusQuery);
}

function downloads(repo: string): number {
  return fixture.registry.requestCount({ route: 'download', repo });
}

describe('the incident: a stale URL cache on the node', () => {
  test('force-pulls the pinned digest, verifies it and restores a running VM', async () => {
    const node = await fixture.node();
    const repo = 'simular/win11';
    const old = await fixture.push(repo, 'base-v1');
    // The node cached the URL at the old digest with a plain pull, as cocoon does by default.
    assert.equal((await node.cocoonRun(['image', 'pull', old.url])).exitCode, 0);
    const current = await fixture.push(repo, 'base-v2');
    await node.importSnapshot('win11-hot', { image: current.url, digest: current.digest });
    fixture.registry.resetStats();

    const req = request(node, 'win11-hot');
    const vm = await fixture.client.clone(req);

    assert.equal(vm.state, 'running');
    assert.ok(typeof vm.pid === 'number' && vm.pid > 0, 'the record carries the real pid');
    assert.equal(vm.config.name, req.vmName);
    assert.equal(downloads(repo), 1, 'the registry served the image exactly once');
    assert.ok(
      (await node.commands()).includes(
        `--root-dir ${node.settings.cocoon.rootDir} --run-dir ${node.settings.cocoon.runDir} image pull --force ${current.url}`
      )
    );
    const blob = await stat(blobPath(node.settings.cocoon.rootDir, current.digest));
    assert.ok(blob.size > 0);

    const status = await statusOf(req);
    assert.equal(status.step, 'done');
    assert.equal(status.verification, 'byte-exact');
    assert.equal(status.pullAttempts, 1);
    assert.deepEqual(status.base, { image: current.url, digest: current.digest, type: 'cloudimg' });
  });
});

describe('the fast path', () => {
  test('a digest already on the node sends no request to the registry', async () => {
    const node = await fixture.node();
    const image = await fixture.push('fast/base', 'base-v1');
    assert.equal((await node.cocoonRun(['image', 'pull', image.url])).exitCode, 0);
    await node.importSnapshot('fast-hot', image);
    fixture.registry.resetStats();

    const req = request(node, 'fast-hot');
    const vm = await fixture.client.clone(req);

    assert.equal(vm.state, 'running');
    assert.equal(fixture.registry.requestCount(), 0, 'no request reached the registry');
    assert.ok(!(await node.commands()).some((c) => c.includes('image pull --force')));
    assert.equal((await statusOf(req)).verification, 'already-present');
  });
});

describe('a tag that moved after the snapshot was baked', () => {
  test('pulls the pinned digest by content address and downloads the moved tag at most once', async () => {
    const node = await fixture.node();
    const repo = 'moving/base';
    const old = await fixture.push(repo, 'base-v1');
    assert.equal((await node.cocoonRun(['image', 'pull', old.url])).exitCode, 0);
    const pinned = await fixture.push(repo, 'base-v2');
    await node.importSnapshot('moving-hot', pinned);
    await fixture.push(repo, 'base-v3');
    fixture.registry.resetStats();

    const req = request(node, 'moving-hot');
    const vm = await fixture.client.clone(req);

    assert.equal(vm.state, 'running');
    assert.equal(vm.config.image_digest, pinned.digest);
    assert.ok(downloads(repo) <= 1, 'the moved tag content was downloaded at most once');
    assert.equal(fixture.registry.requestCount({ route: 'blob', repo, method: 'GET' }), 1);
    const status = await statusOf(req);
    assert.equal(status.verification, 'byte-exact');
    assert.ok(status.steps.some((s) => s.step === 'pull-by-digest' && s.outcome === 'ok'));
    const blob = await stat(blobPath(node.settings.cocoon.rootDir, pinned.digest));
    assert.ok(blob.isFile());
  });
});

describe('an OCI base', () => {
  test('is pulled by repo@digest, which names exactly one image', async () => {
    const node = await fixture.node();
    const digest = `sha256:${createHash('sha256').update('oci manifest').digest('hex')}`;
    const image = 'ghcr.io/cocoonstack/cocoon/ubuntu:24.04';
    await node.importSnapshot('oci-hot', { image, digest, type: 'oci' });

    const req = request(node, 'oci-hot');
    const vm = await fixture.client.clone(req);

    assert.equal(vm.state, 'running');
    assert.ok((await node.commands()).some((c) => c.endsWith(`image pull ${image}@${digest}`)));
    assert.equal((await statusOf(req)).verification, 'oci-by-digest');
  });
});

describe('a base image that cocoon converts', () => {
  test('is recorded as converted, not as a mismatch', async () => {
    const node = await fixture.node();
    const image = await fixture.push('legacy/base', 'legacy-compat-0.10');
    await node.importSnapshot('legacy-hot', image);

    const req = request(node, 'legacy-hot');
    const vm = await fixture.client.clone(req);

    assert.equal(vm.state, 'running');
    assert.equal((await statusOf(req)).verification, 'converted');
  });
});

describe('an index entry whose blob file is gone', () => {
  test('is treated as absent and pulled again', async () => {
    const node = await fixture.node();
    const image = await fixture.push('gone/base', 'base-v1');
    assert.equal((await node.cocoonRun(['image', 'pull', image.url])).exitCode, 0);
    await rm(blobPath(node.settings.cocoon.rootDir, image.digest));
    const inspect = await node.cocoonRun(['image', 'inspect', image.digest]);
    assert.equal(inspect.exitCode, 0, 'the index still lists the digest');
    await node.importSnapshot('gone-hot', image);
    fixture.registry.resetStats();

    const vm = await fixture.client.clone(request(node, 'gone-hot'));

    assert.equal(vm.state, 'running');
    assert.equal(downloads('gone/base'), 1);
  });
});

describe('a digest no registry serves', () => {
  test('fails at the image layer naming URL, expected and served digest, and never runs vm clone', async () => {
    const node = await fixture.node();
    const served = await fixture.push('lost/base', 'base-v1');
    const pinned = `sha256:${createHash('sha256').update('never pushed').digest('hex')}`;
    await node.importSnapshot('lost-hot', { image: served.url, digest: pinned });

    const req = request(node, 'lost-hot');
    const error = await expectCloneFailure(
      fixture.client.clone(req),
      FailureType.DigestUnavailable
    );

    assert.match(error.message, new RegExp(served.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    assert.ok(error.message.includes(pinned), 'names the expected digest');
    assert.ok(error.message.includes(served.digest), 'names the served digest');
    assert.ok(!(await node.commands()).some((c) => c.includes('vm clone')), 'no restore was tried');
    const status = await statusOf(req);
    assert.ok(status.pullAttempts <= 4, `bounded pulls, got ${status.pullAttempts}`);
  });
});

describe('transient registry errors', () => {
  test('a 503 and a silently truncated body are retried until the clone succeeds', async () => {
    const node = await fixture.node();
    const repo = 'flaky/base';
    const image = await fixture.push(repo, 'base-v2');
    await node.importSnapshot('flaky-hot', image);
    fixture.registry.injectFault({ route: 'download', repo }, { kind: 'status', status: 503 });
    fixture.registry.injectFault(
      { route: 'download', repo },
      { kind: 'truncate', afterBytes: 200_000 }
    );

    const req = request(node, 'flaky-hot');
    const vm = await fixture.client.clone(req);

    assert.equal(vm.state, 'running');
    const statuses = fixture.registry.requests({ route: 'download', repo }).map((r) => r.status);
    assert.deepEqual(statuses, [503, 200, 200]);
    assert.equal((await statusOf(req)).verification, 'byte-exact');
  });
});

describe('a node without a worker', () => {
  test('fails with NodeUnavailable within the configured timeout', async () => {
    const node = await fixture.node({ worker: false });
    const started = Date.now();

    const error = await expectCloneFailure(
      fixture.client.clone(request(node, 'any', { options: { nodeTimeoutSeconds: 3 } })),
      FailureType.NodeUnavailable
    );

    const elapsed = Date.now() - started;
    assert.ok(error.message.includes(node.name), 'the error names the node');
    assert.ok(elapsed >= 3_000 && elapsed < 20_000, `failed after ${elapsed} ms`);
  });
});

describe('bad requests', () => {
  const cases: [string, Partial<CloneRequest>][] = [
    ['a VM name with shell characters', { vmName: 'vm;rm -rf /' }],
    ['a VM name over 63 characters', { vmName: 'v'.repeat(64) }],
    ['an empty node', { node: '' }],
    [
      'a malformed digest',
      { base: { image: 'http://127.0.0.1/dl/x', digest: 'sha256:abc', type: 'cloudimg' } },
    ],
    [
      'a cloud-image base that is a file URL',
      {
        base: { image: 'file:///etc/shadow', digest: `sha256:${'a'.repeat(64)}`, type: 'cloudimg' },
      },
    ],
    [
      'a cloud-image base that is an ftp URL',
      {
        base: { image: 'ftp://host/x.qcow2', digest: `sha256:${'a'.repeat(64)}`, type: 'cloudimg' },
      },
    ],
  ];

  for (const [what, override] of cases) {
    test(`${what} is refused by the client before anything starts`, async () => {
      const node = await fixture.node({ worker: false });
      const req = { ...request(node, 'snap'), ...override };
      await assert.rejects(fixture.client.start(req), InvalidCloneRequestError);
    });
  }

  test('the workflow itself refuses a bad request, non-retryably, before any cocoon command', async () => {
    const node = await fixture.node();
    const req = { ...request(node, 'snap'), vmName: '$(reboot)' };

    const handle = await fixture.env.client.workflow.start(CLONE_WORKFLOW_TYPE, {
      taskQueue: CLONE_WORKFLOW_QUEUE,
      workflowId: `raw-${vmCount}`,
      args: [req],
    });
    const error = await expectCloneFailure(
      fixture.client.result(handle),
      FailureType.InvalidRequest
    );

    assert.match(error.message, /vmName/);
    assert.deepEqual(await node.commands(), []);
  });

  test('a URL outside the allowed registries fails before any cocoon command runs', async () => {
    const node = await fixture.node({ registries: ['https://epoch.example.com/'] });
    const image = await fixture.push('elsewhere/base', 'base-v1');
    const req = request(node, 'snap', {
      base: { image: image.url, digest: image.digest, type: 'cloudimg' },
    });

    const error = await expectCloneFailure(
      fixture.client.clone(req),
      FailureType.RegistryNotAllowed
    );

    assert.ok(error.message.includes(image.url));
    assert.deepEqual(await node.commands(), []);
  });
});

describe('idempotent starts', () => {
  test('the same request started five times at once makes one workflow, one VM, one result', async () => {
    const node = await fixture.node();
    const image = await fixture.push('twice/base', 'base-v1');
    await node.importSnapshot('twice-hot', image);
    const req = request(node, 'twice-hot');

    const handles = await Promise.all(Array.from({ length: 5 }, () => fixture.client.start(req)));
    const results = await Promise.all(handles.map((handle) => fixture.client.result(handle)));
    const again = await fixture.client.clone(req);

    assert.equal(new Set(handles.map((h) => h.workflowId)).size, 1);
    assert.equal(new Set(results.map((vm) => vm.id)).size, 1, 'every caller got the same VM');
    assert.equal(again.id, results[0]?.id, 'a finished clone returns its result');
    const listed = JSON.parse(
      (await node.cocoonRun(['vm', 'list', '-o', 'json'])).stdout
    ) as unknown[];
    assert.equal(listed.length, 1);
    assert.equal((await node.commands()).filter((c) => c.includes('vm clone')).length, 1);
    const runs = fixture.env.client.workflow.list({
      query: `WorkflowId = '${handles[0]?.workflowId}'`,
    });
    const runIds: string[] = [];
    for await (const run of runs) runIds.push(run.runId);
    assert.equal(runIds.length, 1, 'one workflow run');
  });

  test('a failed clone can be started again and resumes', async () => {
    const node = await fixture.node();
    const image = await fixture.push('again/base', 'base-v1');
    const req = request(node, 'again-hot');

    await expectCloneFailure(fixture.client.clone(req), FailureType.SnapshotNotFound);
    await node.importSnapshot('again-hot', image);
    const vm = await fixture.client.clone(req);

    assert.equal(vm.state, 'running');
  });
});

describe('VM names and bases the clone must not touch', () => {
  test('a VM of the same name made by someone else is left alone and the clone fails VmNameTaken', async () => {
    const node = await fixture.node();
    const image = await fixture.push('taken/base', 'base-v1');
    await node.importSnapshot('taken-hot', image);
    assert.equal((await node.cocoonRun(['image', 'pull', image.url])).exitCode, 0);
    const req = request(node, 'taken-hot');
    const made = await node.cocoonRun([
      'vm',
      'clone',
      '--name',
      req.vmName,
      '-o',
      'json',
      'taken-hot',
    ]);
    assert.equal(made.exitCode, 0, made.stderr);
    const theirs = JSON.parse(made.stdout) as { id: string };

    await expectCloneFailure(fixture.client.clone(req), FailureType.VmNameTaken);

    const still = await node.cocoonRun(['vm', 'inspect', req.vmName]);
    assert.equal((JSON.parse(still.stdout) as { id: string }).id, theirs.id);
  });

  test('a base imported under a name and absent from the node fails ImportedBaseMissing', async () => {
    const node = await fixture.node();
    const digest = `sha256:${'b'.repeat(64)}`;
    await node.importSnapshot('imported-hot', { image: 'simular/win11', digest });

    const error = await expectCloneFailure(
      fixture.client.clone(request(node, 'imported-hot')),
      FailureType.ImportedBaseMissing
    );
    assert.ok(error.message.includes('simular/win11'));
    assert.ok(!(await node.commands()).some((c) => c.includes('image pull')));
  });
});
