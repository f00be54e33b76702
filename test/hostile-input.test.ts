import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { CloneFailedError, InvalidCloneRequestError } from '../client/clone-errors.js';
import { FailureType } from '../common/failures.js';
import { CLONE_WORKFLOW_QUEUE, CLONE_WORKFLOW_TYPE } from '../common/names.js';
import type { CloneRequest } from '../common/request.js';
import { CloneFixture } from './support/clone-fixture.js';
import type { SimulatedNode } from './support/simulated-node.js';

// Anyone who can start a workflow drives a root process on every node. Each malformed or
// malicious request is refused with a clear, non-retryable InvalidRequest: by the client, by
// the workflow when a caller bypasses the client, and by the activities themselves, before any
// cocoon command runs.

const DIGEST = `sha256:${'a'.repeat(64)}`;
const URL_OK = 'http://127.0.0.1:9/dl/simular/win11';
const base = (image: string, digest = DIGEST, type = 'cloudimg') => ({
  base: { image, digest, type },
});

const HOSTILE: [string, Record<string, unknown>][] = [
  ['VM name with ;', { vmName: 'vm;reboot' }],
  ['VM name with $()', { vmName: '$(id)' }],
  ['VM name with backticks', { vmName: '`id`' }],
  ['VM name with a pipe', { vmName: 'a|b' }],
  ['VM name with &&', { vmName: 'a&&b' }],
  ['VM name with a newline', { vmName: 'a\nb' }],
  ['VM name with a NUL byte', { vmName: 'a\u0000b' }],
  ['VM name with ../', { vmName: '../../etc/passwd' }],
  ['VM name that is ..', { vmName: '..' }],
  ['VM name that looks like a flag', { vmName: '--force' }],
  ['VM name of 64 characters', { vmName: 'v'.repeat(64) }],
  ['VM name of 10 000 characters', { vmName: 'v'.repeat(10_000) }],
  ['VM name that is a number', { vmName: 42 }],
  ['empty node', { node: '' }],
  ['node with ../', { node: '../node' }],
  ['node with spaces', { node: 'node a' }],
  ['node of 300 characters', { node: 'n'.repeat(300) }],
  ['snapshot with ../', { snapshot: '../../var/lib/cocoon' }],
  ['snapshot that looks like a flag', { snapshot: '--pull' }],
  ['snapshot with a space', { snapshot: 'snap --name x' }],
  ['snapshot of 1 000 characters', { snapshot: 's'.repeat(1000) }],
  ['request id with /', { requestId: 'a/b' }],
  ['request id of 500 characters', { requestId: 'r'.repeat(500) }],
  ['digest too short', base(URL_OK, 'sha256:abc')],
  ['digest too long', base(URL_OK, `sha256:${'a'.repeat(65)}`)],
  ['digest in upper case', base(URL_OK, `sha256:${'A'.repeat(64)}`)],
  ['digest with ../', base(URL_OK, `sha256:../../${'a'.repeat(58)}`)],
  ['digest of another algorithm', base(URL_OK, `sha512:${'a'.repeat(128)}`)],
  ['digest without algorithm', base(URL_OK, 'a'.repeat(64))],
  ['file URL', base('file:///etc/shadow')],
  ['ftp URL', base('ftp://registry/x.qcow2')],
  ['gopher URL', base('gopher://registry/x')],
  ['data URL', base('data:text/plain,hello')],
  ['URL with user info', base('http://user:pass@127.0.0.1/dl/x')],
  ['URL with a query', base('http://127.0.0.1/dl/x?y=$(id)')],
  ['URL with a fragment', base('http://127.0.0.1/dl/x#y')],
  ['URL with a space', base('http://127.0.0.1/dl/x y')],
  ['URL with dot segments', base('http://127.0.0.1/dl/../../admin')],
  ['URL with a quote', base("http://127.0.0.1/dl/x'y")],
  ['unknown base type', base(URL_OK, DIGEST, 'vmdk')],
  ['OCI ref with a flag', base('--insecure', DIGEST, 'oci')],
  ['negative CPUs', { resources: { cpu: -2 } }],
  ['a million CPUs', { resources: { cpu: 1_000_000 } }],
  ['memory of 2^60 bytes', { resources: { memoryBytes: 2 ** 60 } }],
  ['fractional storage', { resources: { storageBytes: 1.5 } }],
  ['storage as a string', { resources: { storageBytes: '20G; reboot' } }],
  ['network with a space', { resources: { network: 'cocoon --bridge br0' } }],
  ['DNS that is not an IP', { resources: { dns: ['$(id)'] } }],
  ['unknown top-level field', { privileged: true }],
  ['unknown resource field', { resources: { devices: ['/dev/kvm'] } }],
  ['unknown option', { options: { shell: '/bin/sh' } }],
];

let fixture: CloneFixture;
let node: SimulatedNode;

before(async () => {
  fixture = await CloneFixture.start();
  node = await fixture.node();
});

after(async () => {
  await fixture?.stop();
});

function hostile(override: Record<string, unknown>, index: number): CloneRequest {
  return {
    node: node.name,
    vmName: `vm-${index}`,
    snapshot: 'hot',
    ...override,
  } as unknown as CloneRequest;
}

describe(`${HOSTILE.length} hostile requests`, () => {
  test('are at least forty', () => {
    assert.ok(HOSTILE.length >= 40);
  });

  test('are each refused by the client, naming the field', async () => {
    for (const [index, [what, override]] of HOSTILE.entries()) {
      const error = await fixture.client.start(hostile(override, index)).then(
        () => assert.fail(`${what} was accepted`),
        (e: unknown) => e
      );
      assert.ok(error instanceof InvalidCloneRequestError, `${what}: ${String(error)}`);
      assert.ok(error.problems.length > 0, what);
    }
  });

  test('are each refused by the workflow, non-retryably, before any cocoon command', async () => {
    for (const [index, [what, override]] of HOSTILE.entries()) {
      const handle = await fixture.env.client.workflow.start(CLONE_WORKFLOW_TYPE, {
        taskQueue: CLONE_WORKFLOW_QUEUE,
        workflowId: `hostile-${index}`,
        args: [hostile(override, index)],
      });
      const error = await fixture.client.result(handle).then(
        () => assert.fail(`${what} was accepted`),
        (e: unknown) => e
      );
      assert.ok(error instanceof CloneFailedError, `${what}: ${String(error)}`);
      assert.equal(error.type, FailureType.InvalidRequest, `${what}: ${error.message}`);
    }
    assert.deepEqual(await node.commands(), []);
  });
});

describe('the activities', () => {
  const activities = () => node.activities({ registries: [`${fixture.registry.url}/dl/`] });

  async function refusal(run: () => Promise<unknown>): Promise<string | undefined> {
    const error = await run().then(
      () => undefined,
      (e: unknown) => e
    );
    return error instanceof ApplicationFailure ? (error.type ?? undefined) : String(error);
  }

  test('refuse hostile input themselves, before touching the disk or running cocoon', async () => {
    const a = activities();
    const env = () => new MockActivityEnvironment();
    const traversal = `sha256:../../${'a'.repeat(58)}`;
    const cases: [string, () => Promise<unknown>][] = [
      [
        'restore with a traversal name',
        () => env().run(a.restoreVm, { cloneId: 'c', snapshot: 'hot', vmName: '../../x' }),
      ],
      [
        'restore with a flag as snapshot',
        () => env().run(a.restoreVm, { cloneId: 'c', snapshot: '--pull', vmName: 'vm' }),
      ],
      [
        'restore with negative CPUs',
        () =>
          env().run(a.restoreVm, {
            cloneId: 'c',
            snapshot: 'hot',
            vmName: 'vm',
            resources: { cpu: -1 },
          }),
      ],
      [
        'blob check with a traversal digest',
        () => env().run(a.findBaseBlob, { digest: traversal }),
      ],
      [
        'verify with a traversal digest',
        () => env().run(a.verifyCloudImage, { url: URL_OK, digest: traversal }),
      ],
      ['pull of a file URL', () => env().run(a.pullCloudImage, { url: 'file:///etc/shadow' })],
      [
        'pull by a malformed digest',
        () => env().run(a.pullCloudImage, { url: URL_OK, byDigest: 'sha256:xyz' }),
      ],
      [
        'OCI pull of a flag',
        () => env().run(a.pullOciImage, { image: '--insecure', digest: DIGEST }),
      ],
      ['confirm of a flag', () => env().run(a.confirmVmRunning, { vmName: '--all' })],
      [
        'removal of a traversal name',
        () => env().run(a.removeClonedVm, { cloneId: 'c', vmName: '../x' }),
      ],
      [
        'resolve of a traversal snapshot',
        () => env().run(a.resolveBaseImage, { snapshot: '../../x' }),
      ],
    ];

    for (const [what, run] of cases) {
      assert.equal(await refusal(run), FailureType.InvalidRequest, what);
    }
    assert.deepEqual(await node.commands(), []);
  });

  test('refuse URLs outside the allowed registry prefixes: other hosts, ports and paths', async () => {
    const a = activities();
    const allowed = new URL(fixture.registry.url);
    const outside = [
      `http://127.0.0.2:${allowed.port}/dl/x`,
      `http://${allowed.hostname}:1/dl/x`,
      `${fixture.registry.url}/v2/x/blobs/${DIGEST}`,
      `${fixture.registry.url}/dlx/x`,
      `https://${allowed.host}/dl/x`,
      `http://${allowed.hostname}.evil.example:${allowed.port}/dl/x`,
    ];

    for (const url of outside) {
      assert.equal(
        await refusal(() => new MockActivityEnvironment().run(a.pullCloudImage, { url })),
        FailureType.RegistryNotAllowed,
        url
      );
    }
    assert.deepEqual(await node.commands(), []);
  });
});
