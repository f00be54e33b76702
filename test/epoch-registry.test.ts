import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { type Dispatcher, request } from 'undici';

import {
  fixtureImageNames,
  fixtureImagePath,
  readFixtureImage,
  sha256Digest,
} from './fixtures/images.js';
import { EpochRegistry } from './registry/index.js';

interface Fetched {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  bytes: Buffer;
}

async function fetchBytes(url: string, method: Dispatcher.HttpMethod = 'GET'): Promise<Fetched> {
  const { statusCode, headers, body } = await request(url, { method });
  return { status: statusCode, headers, bytes: Buffer.from(await body.arrayBuffer()) };
}

async function fetchJson(url: string): Promise<{ status: number; json: unknown }> {
  const { status, bytes } = await fetchBytes(url);
  return { status, json: JSON.parse(bytes.toString('utf8')) };
}

interface ManifestShape {
  artifactType: string;
  config: { mediaType: string; digest: string; size: number };
  layers: {
    mediaType: string;
    digest: string;
    size: number;
    annotations: Record<string, string>;
  }[];
}

async function fetchManifest(url: string): Promise<ManifestShape> {
  const { status, json } = await fetchJson(url);
  assert.equal(status, 200);
  return json as ManifestShape;
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await sleep(5);
  }
}

/** Settles with 'timeout' when `promise` takes longer than `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(resolve, ms, 'timeout');
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('epoch test registry', () => {
  let registry: EpochRegistry;

  beforeEach(async () => {
    registry = await EpochRegistry.start();
  });

  afterEach(async () => {
    await registry.close();
  });

  describe('fixture images', () => {
    const qcow2Versions = {
      'base-v1': 3,
      'base-v2': 3,
      'base-v3': 3,
      'legacy-compat-0.10': 2,
    } as const;

    for (const [name, version] of Object.entries(qcow2Versions)) {
      test(`${name} is a qcow2 v${version} image without a backing file`, async () => {
        const bytes = await readFixtureImage(name as keyof typeof qcow2Versions);
        assert.deepEqual([...bytes.subarray(0, 4)], [0x51, 0x46, 0x49, 0xfb]);
        assert.equal(bytes.readUInt32BE(4), version);
        assert.equal(bytes.readBigUInt64BE(8), 0n);
      });
    }

    test('raw-disk is not qcow2', async () => {
      const bytes = await readFixtureImage('raw-disk');
      assert.notDeepEqual([...bytes.subarray(0, 4)], [0x51, 0x46, 0x49, 0xfb]);
      assert.equal(bytes[0], 0x55);
    });

    test('every image is small and has its own content', async () => {
      const digests = new Set<string>();
      for (const name of fixtureImageNames) {
        const { size } = await stat(fixtureImagePath(name));
        assert.ok(size > 0 && size < 1024 * 1024, `${name} is ${size} bytes`);
        digests.add(sha256Digest(await readFixtureImage(name)));
      }
      assert.equal(digests.size, fixtureImageNames.length);
    });
  });

  describe('/dl/', () => {
    test('streams the latest image chunked with no length, digest or ETag', async () => {
      const image = await readFixtureImage('base-v1');
      registry.pushCloudImage('cocoon/ubuntu', image);

      const fetched = await fetchBytes(registry.downloadUrl('cocoon/ubuntu'));

      assert.equal(fetched.status, 200);
      assert.equal(fetched.headers['content-type'], 'application/octet-stream');
      assert.equal(fetched.headers['transfer-encoding'], 'chunked');
      assert.equal(fetched.headers['content-length'], undefined);
      assert.equal(fetched.headers['docker-content-digest'], undefined);
      assert.equal(fetched.headers['etag'], undefined);
      assert.ok(fetched.bytes.equals(image));
    });

    test('follows the latest tag only', async () => {
      const v1 = await readFixtureImage('base-v1');
      registry.pushCloudImage('base', v1);
      registry.pushCloudImage('base', await readFixtureImage('base-v2'), 'next');

      assert.ok((await fetchBytes(registry.downloadUrl('base'))).bytes.equals(v1));
      assert.equal((await fetchBytes(`${registry.downloadUrl('base')}:next`)).status, 404);
    });

    test('a re-push moves /dl/ while the old blob and manifest stay served by digest', async () => {
      const v1 = await readFixtureImage('base-v1');
      const v2 = await readFixtureImage('base-v2');
      const first = registry.pushCloudImage('base', v1);
      const second = registry.pushCloudImage('base', v2);

      assert.notEqual(first.digest, second.digest);
      assert.ok((await fetchBytes(registry.downloadUrl('base'))).bytes.equals(v2));
      const old = await fetchBytes(registry.blobUrl('base', first.digest));
      assert.equal(old.status, 200);
      assert.ok(old.bytes.equals(v1));
      const oldManifest = await fetchManifest(registry.manifestUrl('base', first.manifestDigest));
      assert.equal(oldManifest.layers[0]?.digest, first.digest);
    });

    test('answers an unknown repository with 404 artifact not found', async () => {
      const fetched = await fetchBytes(registry.downloadUrl('nothing/here'));

      assert.equal(fetched.status, 404);
      assert.equal(fetched.bytes.toString('utf8').trim(), 'artifact not found');
    });

    test('does not route HEAD', async () => {
      registry.pushCloudImage('base', await readFixtureImage('base-v1'));

      const fetched = await fetchBytes(registry.downloadUrl('base'), 'HEAD');

      assert.equal(fetched.status, 405);
      assert.equal(fetched.headers['docker-content-digest'], undefined);
    });

    test('serves a non-disk body pushed as raw content unchanged', async () => {
      const page = Buffer.from('<!DOCTYPE html><html><body>Sign in</body></html>');
      registry.pushRawBody('portal', page);

      const fetched = await fetchBytes(registry.downloadUrl('portal'));
      const manifest = await fetchManifest(registry.manifestUrl('portal'));

      assert.equal(fetched.status, 200);
      assert.ok(fetched.bytes.equals(page));
      assert.equal(manifest.layers[0]?.mediaType, 'application/vnd.cocoonstack.disk.raw');
    });

    test('concatenates split parts in title order, matching no layer digest', async () => {
      const parts = [Buffer.alloc(1000, 1), Buffer.alloc(2000, 2), Buffer.alloc(500, 3)];
      parts[0]?.write('QFI\xfb', 'latin1');
      const pushed = registry.pushCloudImageParts('win/11', parts);

      const fetched = await fetchBytes(registry.downloadUrl('win/11'));
      const manifest = await fetchManifest(registry.manifestUrl('win/11'));

      assert.ok(fetched.bytes.equals(Buffer.concat(parts)));
      assert.equal(sha256Digest(fetched.bytes), pushed.digest);
      assert.ok(manifest.layers.every((layer) => layer.digest !== pushed.digest));
      assert.deepEqual(
        manifest.layers.map((layer) => layer.annotations['org.opencontainers.image.title']),
        ['11.qcow2.00.part', '11.qcow2.01.part', '11.qcow2.02.part']
      );
      assert.ok(
        manifest.layers.every((l) => l.mediaType === 'application/vnd.cocoonstack.disk.qcow2.part')
      );
    });
  });

  describe('/v2/ manifests and blobs', () => {
    test('a single-part manifest layer digest is the sha256 of the /dl/ body', async () => {
      const pushed = registry.pushCloudImage('base', await readFixtureImage('base-v3'));

      const body = (await fetchBytes(registry.downloadUrl('base'))).bytes;
      const manifest = await fetchManifest(registry.manifestUrl('base', 'latest'));

      assert.equal(manifest.artifactType, 'application/vnd.cocoonstack.os-image.v1+json');
      assert.equal(manifest.layers.length, 1);
      assert.equal(manifest.layers[0]?.mediaType, 'application/vnd.cocoonstack.disk.qcow2');
      assert.equal(manifest.layers[0]?.digest, sha256Digest(body));
      assert.equal(manifest.layers[0]?.size, body.length);
      assert.equal(manifest.layers[0]?.annotations['org.opencontainers.image.title'], 'base.qcow2');
      assert.equal(pushed.digest, sha256Digest(body));
    });

    test('a raw disk gets the raw layer media type', async () => {
      registry.pushCloudImage('raw', await readFixtureImage('raw-disk'));

      const manifest = await fetchManifest(registry.manifestUrl('raw'));

      assert.equal(manifest.layers[0]?.mediaType, 'application/vnd.cocoonstack.disk.raw');
    });

    test('manifests carry their type, length and the digest of their bytes', async () => {
      const pushed = registry.pushCloudImage('base', await readFixtureImage('base-v1'));

      for (const reference of ['latest', pushed.manifestDigest]) {
        const fetched = await fetchBytes(registry.manifestUrl('base', reference));
        assert.equal(fetched.status, 200);
        assert.equal(fetched.headers['content-type'], 'application/vnd.oci.image.manifest.v1+json');
        assert.equal(fetched.headers['docker-content-digest'], pushed.manifestDigest);
        assert.equal(sha256Digest(fetched.bytes), pushed.manifestDigest);
        assert.equal(Number(fetched.headers['content-length']), fetched.bytes.length);
      }
      const head = await fetchBytes(registry.manifestUrl('base'), 'HEAD');
      assert.equal(head.status, 200);
      assert.equal(head.headers['docker-content-digest'], pushed.manifestDigest);
      assert.equal(head.bytes.length, 0);
    });

    test('blobs are global, sized, and echo the requested digest', async () => {
      const image = await readFixtureImage('base-v2');
      const pushed = registry.pushCloudImage('team/base', image);

      for (const method of ['GET', 'HEAD'] as const) {
        const fetched = await fetchBytes(registry.blobUrl('any/other/repo', pushed.digest), method);
        assert.equal(fetched.status, 200);
        assert.equal(fetched.headers['docker-content-digest'], pushed.digest);
        assert.equal(fetched.headers['content-length'], String(image.length));
        assert.ok(fetched.bytes.equals(method === 'GET' ? image : Buffer.alloc(0)));
      }
      const manifest = await fetchManifest(registry.manifestUrl('team/base'));
      const config = await fetchBytes(registry.blobUrl('team/base', manifest.config.digest));
      assert.equal(config.bytes.toString('utf8'), '{}');
    });

    test('unknown manifests and blobs answer with OCI error JSON', async () => {
      registry.pushCloudImage('base', await readFixtureImage('base-v1'));
      const missing = `sha256:${'0'.repeat(64)}`;

      const manifest = await fetchJson(registry.manifestUrl('base', 'v9'));
      const blob = await fetchJson(registry.blobUrl('base', missing));
      const head = await fetchBytes(registry.manifestUrl('base', missing), 'HEAD');
      const stray = await fetchBytes(`${registry.url}/v2/base/tags`);

      assert.equal(manifest.status, 404);
      assert.deepEqual(manifest.json, {
        errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest base:v9 not found' }],
      });
      assert.equal(blob.status, 404);
      assert.deepEqual(blob.json, {
        errors: [{ code: 'BLOB_UNKNOWN', message: 'blob not found' }],
      });
      assert.equal(head.status, 404);
      assert.equal(stray.status, 404);
    });
  });

  describe('faults', () => {
    let image: Buffer;

    beforeEach(async () => {
      image = await readFixtureImage('base-v1');
      registry.pushCloudImage('base', image);
    });

    test('a status fault answers for its count of requests, then the registry recovers', async () => {
      registry.pushCloudImage('other', image);
      registry.injectFault({ route: 'download', repo: 'base' }, { kind: 'status', status: 503 }, 2);

      assert.equal((await fetchBytes(registry.downloadUrl('other'))).status, 200);
      assert.equal((await fetchBytes(registry.downloadUrl('base'))).status, 503);
      assert.equal((await fetchBytes(registry.manifestUrl('base'))).status, 200);
      assert.equal((await fetchBytes(registry.downloadUrl('base'))).status, 503);
      assert.equal((await fetchBytes(registry.downloadUrl('base'))).status, 200);
    });

    test('a fault injected until cleared lasts until clearFaults', async () => {
      const handle = registry.injectFault({}, { kind: 'status', status: 500 }, Infinity);

      for (let i = 0; i < 3; i += 1) {
        assert.equal((await fetchBytes(registry.manifestUrl('base'))).status, 500);
      }
      assert.equal(handle.remaining, Infinity);
      registry.clearFaults();
      assert.equal((await fetchBytes(registry.manifestUrl('base'))).status, 200);
    });

    test('a reset breaks the /dl/ body after the given bytes', async () => {
      registry.injectFault({ route: 'download' }, { kind: 'reset', afterBytes: 50_000 });

      const { statusCode, body } = await request(registry.downloadUrl('base'));

      assert.equal(statusCode, 200);
      await assert.rejects(body.arrayBuffer());
      const [record] = registry.requests({ route: 'download' });
      assert.equal(record?.bytesSent, 50_000);
      assert.equal(record?.completed, false);
      assert.equal(record?.fault, 'reset');
    });

    test('a reset breaks a sized blob body too', async () => {
      const pushed = registry.pushCloudImage('base', image);
      registry.injectFault({ route: 'blob' }, { kind: 'reset', afterBytes: 1000 });

      const { statusCode, body } = await request(registry.blobUrl('base', pushed.digest));

      assert.equal(statusCode, 200);
      await assert.rejects(body.arrayBuffer());
    });

    test('a truncate on /dl/ gives a clean 200 with short content', async () => {
      registry.injectFault({ route: 'download' }, { kind: 'truncate', afterBytes: 70_000 });

      const fetched = await fetchBytes(registry.downloadUrl('base'));

      assert.equal(fetched.status, 200);
      assert.equal(fetched.bytes.length, 70_000);
      assert.ok(fetched.bytes.equals(image.subarray(0, 70_000)));
      assert.equal(registry.requests({ route: 'download' })[0]?.completed, true);
      assert.ok((await fetchBytes(registry.downloadUrl('base'))).bytes.equals(image));
    });

    test('a truncate under a Content-Length shows up as a broken body', async () => {
      const pushed = registry.pushCloudImage('base', image);
      registry.injectFault({ route: 'blob' }, { kind: 'truncate', afterBytes: 1000 });

      const { statusCode, headers, body } = await request(registry.blobUrl('base', pushed.digest));

      assert.equal(statusCode, 200);
      assert.equal(headers['content-length'], String(image.length));
      await assert.rejects(body.arrayBuffer());
    });

    test('a corrupt fault keeps the length and changes the sha256', async () => {
      registry.injectFault({ route: 'download', repo: 'base' }, { kind: 'corrupt' });

      const fetched = await fetchBytes(registry.downloadUrl('base'));

      assert.equal(fetched.status, 200);
      assert.equal(fetched.bytes.length, image.length);
      assert.notEqual(sha256Digest(fetched.bytes), sha256Digest(image));
      assert.ok(fetched.bytes.subarray(0, 4).equals(image.subarray(0, 4)));
    });

    test('a stall holds the body until the registry closes, and close does not hang', async () => {
      registry.injectFault({ route: 'download' }, { kind: 'stall', afterBytes: 20_000 });
      const { statusCode, body } = await request(registry.downloadUrl('base'));
      let received = 0;
      const reading = (async () => {
        for await (const chunk of body) {
          received += (chunk as Buffer).length;
        }
      })();
      await waitFor(() => received >= 20_000, 'the bytes before the stall');
      await sleep(100);

      assert.equal(statusCode, 200);
      assert.equal(received, 20_000);
      assert.equal(registry.requests({ route: 'download' })[0]?.open, true);
      assert.notEqual(await within(registry.close(), 2000), 'timeout');
      await assert.rejects(reading);
      assert.equal(registry.requests({ route: 'download' })[0]?.completed, false);
    });

    test('a timed stall pauses the body and then sends the rest', async () => {
      registry.injectFault({ route: 'download' }, { kind: 'stall', afterBytes: 1000, forMs: 150 });

      const started = Date.now();
      const fetched = await fetchBytes(registry.downloadUrl('base'));

      assert.ok(Date.now() - started >= 140);
      assert.ok(fetched.bytes.equals(image));
    });

    test('a slow fault limits the transfer rate', async () => {
      const small = Buffer.alloc(40_000, 7);
      registry.pushCloudImage('small', small);
      registry.injectFault({ repo: 'small' }, { kind: 'slow', bytesPerSecond: 100_000 });

      const started = Date.now();
      const fetched = await fetchBytes(registry.downloadUrl('small'));
      const elapsed = Date.now() - started;

      // 40 kB at 100 kB/s needs about 400 ms; only the lower bound is stable.
      assert.ok(elapsed >= 250, `took ${elapsed} ms`);
      assert.ok(fetched.bytes.equals(small));
    });

    test('an html fault serves a 200 HTML page instead of the content', async () => {
      registry.injectFault({ route: 'download' }, { kind: 'html' });

      const fetched = await fetchBytes(registry.downloadUrl('base'));

      assert.equal(fetched.status, 200);
      assert.match(String(fetched.headers['content-type']), /^text\/html/);
      assert.match(fetched.bytes.toString('utf8'), /^<!DOCTYPE html>/);
    });

    test('bad fault settings are refused', () => {
      assert.throws(() => registry.injectFault({}, { kind: 'status', status: 42 }), RangeError);
      assert.throws(() => registry.injectFault({}, { kind: 'reset', afterBytes: -1 }), RangeError);
      assert.throws(() => registry.injectFault({}, { kind: 'html' }, 0), RangeError);
    });
  });

  describe('stats', () => {
    test('count requests and body bytes by route and repository', async () => {
      const v1 = await readFixtureImage('base-v1');
      const pushed = registry.pushCloudImage('base', v1);
      const manifestBytes = (await fetchBytes(registry.manifestUrl('base'))).bytes;
      await fetchBytes(registry.downloadUrl('base'));
      await fetchBytes(registry.downloadUrl('base'));
      await fetchBytes(registry.blobUrl('base', pushed.digest), 'HEAD');
      await fetchBytes(registry.downloadUrl('missing'));

      assert.equal(registry.requestCount(), 5);
      assert.equal(registry.requestCount({ route: 'download', repo: 'base' }), 2);
      assert.equal(registry.requestCount({ status: 404 }), 1);
      assert.equal(registry.bytesSent({ route: 'download', repo: 'base' }), 2 * v1.length);
      assert.equal(registry.bytesSent({ route: 'manifest' }), manifestBytes.length);
      assert.equal(registry.bytesSent({ route: 'blob' }), 0);
      const [first] = registry.requests();
      assert.deepEqual(first, {
        method: 'GET',
        path: '/v2/base/manifests/latest',
        route: 'manifest',
        repo: 'base',
        status: 200,
        bytesSent: manifestBytes.length,
        completed: true,
        open: false,
        fault: undefined,
      });

      registry.resetStats();
      assert.equal(registry.requestCount(), 0);
    });
  });
});
