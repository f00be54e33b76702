import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateCloneRequest, type CloneRequest } from '../common/request.js';
import { isAllowedUrl } from '../activities/registry/allow-list.js';
import { digestPinnedUrl } from '../common/epoch-url.js';

const DIGEST = `sha256:${'c'.repeat(64)}`;
const valid: CloneRequest = {
  node: 'node-a',
  vmName: 'vk-default-demo-0',
  snapshot: 'simular/win11-hot-testing:v1-20260509',
  requestId: '3f0c9a2e-1b7d-4c55-9d0e-6a1f2b3c4d5e',
  resources: {
    cpu: 2,
    memoryBytes: 4 * 1024 ** 3,
    storageBytes: 20 * 1024 ** 3,
    network: 'cocoon',
  },
  base: { image: 'https://epoch.simular.cloud/dl/simular/win11', digest: DIGEST, type: 'cloudimg' },
};

function problemsOf(request: unknown): string[] {
  const result = validateCloneRequest(request);
  return result.ok ? [] : result.problems.map((p) => p.field);
}

describe('clone request validation', () => {
  test('accepts a request vk-cocoon would make', () => {
    assert.deepEqual(problemsOf(valid), []);
  });

  const rejected: [string, unknown, string][] = [
    ['not an object', 'clone me', 'request'],
    ['an empty node', { ...valid, node: '' }, 'node'],
    ['an upper-case node', { ...valid, node: 'Node-A' }, 'node'],
    ['a VM name with shell characters', { ...valid, vmName: 'a;reboot' }, 'vmName'],
    ['a VM name with a space', { ...valid, vmName: 'a b' }, 'vmName'],
    ['a VM name of 64 characters', { ...valid, vmName: 'a'.repeat(64) }, 'vmName'],
    ['a VM name starting with a dash', { ...valid, vmName: '-rf' }, 'vmName'],
    ['a VM name with a slash', { ...valid, vmName: '../etc' }, 'vmName'],
    ['a snapshot with traversal', { ...valid, snapshot: 'a/../../b' }, 'snapshot'],
    ['a snapshot starting with a dash', { ...valid, snapshot: '--force' }, 'snapshot'],
    ['a short digest', { ...valid, base: { ...valid.base, digest: 'sha256:abc' } }, 'base.digest'],
    [
      'an upper-case digest',
      { ...valid, base: { ...valid.base, digest: DIGEST.toUpperCase() } },
      'base.digest',
    ],
    [
      'a sha512 digest',
      { ...valid, base: { ...valid.base, digest: `sha512:${'c'.repeat(128)}` } },
      'base.digest',
    ],
    [
      'a file URL base',
      { ...valid, base: { ...valid.base, image: 'file:///etc/shadow' } },
      'base.image',
    ],
    [
      'a gopher URL base',
      { ...valid, base: { ...valid.base, image: 'gopher://x/y' } },
      'base.image',
    ],
    [
      'a URL with user info',
      { ...valid, base: { ...valid.base, image: 'https://u:p@epoch/dl/x' } },
      'base.image',
    ],
    [
      'a URL with a query',
      { ...valid, base: { ...valid.base, image: 'https://epoch/dl/x?a=b' } },
      'base.image',
    ],
    [
      'a URL with dot segments',
      { ...valid, base: { ...valid.base, image: 'https://epoch/dl/../x' } },
      'base.image',
    ],
    [
      'a URL with a quote',
      { ...valid, base: { ...valid.base, image: "https://epoch/dl/x'y" } },
      'base.image',
    ],
    ['an unknown base type', { ...valid, base: { ...valid.base, type: 'vmdk' } }, 'base.type'],
    ['negative CPUs', { ...valid, resources: { cpu: -1 } }, 'resources.cpu'],
    ['fractional CPUs', { ...valid, resources: { cpu: 1.5 } }, 'resources.cpu'],
    ['huge memory', { ...valid, resources: { memoryBytes: 2 ** 60 } }, 'resources.memoryBytes'],
    ['memory as a string', { ...valid, resources: { memoryBytes: '4G' } }, 'resources.memoryBytes'],
    ['a bad DNS server', { ...valid, resources: { dns: ['8.8.8.8; reboot'] } }, 'resources.dns'],
    ['an unknown top-level field', { ...valid, privileged: true }, 'privileged'],
    ['an unknown resource field', { ...valid, resources: { gpu: 1 } }, 'resources.gpu'],
    [
      'a zero node timeout',
      { ...valid, options: { nodeTimeoutSeconds: 0 } },
      'options.nodeTimeoutSeconds',
    ],
    [
      'too many pull attempts',
      { ...valid, options: { pullAttempts: 1000 } },
      'options.pullAttempts',
    ],
  ];

  for (const [what, request, field] of rejected) {
    test(`refuses ${what}, naming ${field}`, () => {
      assert.ok(problemsOf(request).includes(field), `problems: ${problemsOf(request).join(', ')}`);
    });
  }

  test('accepts an import name as a cloud-image base', () => {
    assert.deepEqual(problemsOf({ ...valid, base: { ...valid.base, image: 'simular/win11' } }), []);
  });
});

describe('registry allow-list', () => {
  test('matches whole path segments only', () => {
    const allowed = ['https://epoch.simular.cloud'];
    assert.ok(isAllowedUrl('https://epoch.simular.cloud/dl/simular/win11', allowed));
    assert.ok(!isAllowedUrl('https://epoch.simular.cloud.evil.net/dl/x', allowed));
    assert.ok(
      !isAllowedUrl('http://epoch.simular.cloud/dl/x', allowed),
      'scheme is part of the prefix'
    );
    assert.ok(isAllowedUrl('https://r/dl/a', ['https://r/dl/']));
    assert.ok(!isAllowedUrl('https://r/v2/a', ['https://r/dl/']));
    assert.ok(!isAllowedUrl('https://r/dl/a', []));
  });
});

describe('epoch digest URL', () => {
  test('derives the content-addressed blob URL from a /dl/ URL', () => {
    assert.equal(
      digestPinnedUrl('https://epoch.simular.cloud/dl/simular/win11', DIGEST),
      `https://epoch.simular.cloud/v2/simular/win11/blobs/${DIGEST}`
    );
    assert.equal(digestPinnedUrl('https://cloud-images.ubuntu.com/x.img', DIGEST), undefined);
  });
});
