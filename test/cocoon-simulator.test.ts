import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';

import { execa } from 'execa';

import { SIMULATOR_PATH } from './cocoon-sim/paths.js';
import {
  writeSnapshotArchive,
  type SnapshotArchiveOptions,
} from './cocoon-sim/snapshot-archive.js';

// The cocoon simulator run as a real subprocess against a loopback HTTP server, each test in
// fresh --root-dir/--run-dir directories.

const GiB = 1024 ** 3;

interface SimResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

interface RunningSim {
  kill(signal: NodeJS.Signals): void;
  result: Promise<SimResult>;
}

interface Sandbox {
  dir: string;
  root: string;
  run: string;
  sim(args: string[], env?: Record<string, string>): Promise<SimResult>;
  start(args: string[], env?: Record<string, string>): RunningSim;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const routes = new Map<string, Handler>();
const hits = new Map<string, number>();
const sandboxes: Sandbox[] = [];
let server: Server;
let baseUrl: string;
let fixtureDir: string;
let routeCounter = 0;

// Disk images built once with qemu-img: two distinct qcow2 v3 images and one qcow2 v2.
const images: Record<'v3a' | 'v3b' | 'v2', Buffer> = {
  v3a: Buffer.alloc(0),
  v3b: Buffer.alloc(0),
  v2: Buffer.alloc(0),
};

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function lastLine(text: string): string {
  return text.trimEnd().split('\n').at(-1) ?? '';
}

async function makeQcow2(name: string, compat: string, pattern: string): Promise<Buffer> {
  const file = path.join(fixtureDir, name);
  await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `compat=${compat}`, file, '1M']);
  await execa('qemu-io', ['-c', `write -P ${pattern} 0 64k`, file]);
  return readFile(file);
}

// A fresh URL path per call, so no test sees another's route or hit count.
function route(handler: Handler): { url: string; hits: () => number } {
  routeCounter += 1;
  const urlPath = `/dl/image-${routeCounter}`;
  routes.set(urlPath, handler);
  return { url: `${baseUrl}${urlPath}`, hits: () => hits.get(urlPath) ?? 0 };
}

function bytesHandler(
  body: () => Buffer | string,
  status = 200,
  type = 'application/octet-stream'
) {
  return (_req: IncomingMessage, res: ServerResponse) => {
    const bytes = body();
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(bytes) });
    res.end(bytes);
  };
}

function serve(body: Buffer) {
  let current = body;
  const served = route(bytesHandler(() => current));
  return { ...served, replace: (next: Buffer) => (current = next) };
}

async function createSandbox(): Promise<Sandbox> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cocoon-sim-test-'));
  const root = path.join(dir, 'root');
  const run = path.join(dir, 'run');
  const argv = (args: string[]) => ['--root-dir', root, '--run-dir', run, ...args];
  // stdout is compared whole, trailing newline included.
  const execute = (args: string[], env: Record<string, string> = {}) =>
    execa(SIMULATOR_PATH, argv(args), {
      reject: false,
      stripFinalNewline: false,
      env: { NO_COLOR: '1', ...env },
    });
  const settle = async (child: ReturnType<typeof execute>): Promise<SimResult> => {
    const result = await child;
    return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
  };

  const sandbox: Sandbox = {
    dir,
    root,
    run,
    sim: (args, env) => settle(execute(args, env)),
    start(args, env) {
      const child = execute(args, env);
      return { kill: (signal) => child.kill(signal), result: settle(child) };
    },
  };
  sandboxes.push(sandbox);
  return sandbox;
}

async function readIndex(sandbox: Sandbox) {
  const text = await readFile(path.join(sandbox.root, 'cloudimg/db/images.json'), 'utf8');
  return JSON.parse(text) as {
    images: Record<string, { ref: string; content_sum: string; size: number; created_at: string }>;
  };
}

function blobPath(sandbox: Sandbox, hex: string): string {
  return path.join(sandbox.root, 'cloudimg/blobs', `${hex}.qcow2`);
}

async function tempEntries(sandbox: Sandbox): Promise<string[]> {
  return readdir(path.join(sandbox.root, 'cloudimg/temp')).catch(() => []);
}

async function importSnapshot(
  sandbox: Sandbox,
  overrides: Partial<SnapshotArchiveOptions> & { imageDigest: string }
): Promise<void> {
  const archive = path.join(sandbox.dir, `snapshot-${randomBytes(4).toString('hex')}.tar`);
  await writeSnapshotArchive(archive, {
    name: 'golden',
    image: 'http://epoch.invalid/dl/base',
    imageType: 'cloudimg',
    cpu: 2,
    memory: 4 * GiB,
    storage: 20 * GiB,
    network: 'cocoon',
    ...overrides,
  });
  const result = await sandbox.sim(['snapshot', 'import', archive]);
  assert.equal(result.exitCode, 0, result.stderr);
}

// A snapshot whose base blob is on disk, ready to clone.
async function prepareClonable(sandbox: Sandbox): Promise<void> {
  const image = path.join(sandbox.dir, 'base.qcow2');
  await writeFile(image, images.v3a);
  assert.equal((await sandbox.sim(['image', 'import', 'base', image])).exitCode, 0);
  await importSnapshot(sandbox, { image: 'base', imageDigest: `sha256:${sha256(images.v3a)}` });
}

// A killed stand-in can linger as a zombie until it is reaped; that counts as dead.
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function waitUntil(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    if (await check()) return;
    await delay(25);
  }
  assert.fail(`timed out waiting for ${what}`);
}

before(async () => {
  fixtureDir = await mkdtemp(path.join(tmpdir(), 'cocoon-sim-fixtures-'));
  images.v3a = await makeQcow2('a.qcow2', '1.1', '0xaa');
  images.v3b = await makeQcow2('b.qcow2', '1.1', '0xbb');
  images.v2 = await makeQcow2('c.qcow2', '0.10', '0xcc');

  server = createServer((req, res) => {
    const urlPath = req.url ?? '';
    hits.set(urlPath, (hits.get(urlPath) ?? 0) + 1);
    const handler = routes.get(urlPath);
    if (handler) {
      handler(req, res);
    } else {
      res.writeHead(404).end('404 page not found\n');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const sandbox of sandboxes) {
    const listed = await sandbox.sim(['vm', 'list', '-o', 'json']);
    if (listed.stdout.startsWith('[')) {
      const ids = (JSON.parse(listed.stdout) as { id: string }[]).map((vm) => vm.id);
      if (ids.length > 0) await sandbox.sim(['vm', 'rm', '--force', ...ids]);
    }
    await rm(sandbox.dir, { recursive: true, force: true });
  }
  await rm(fixtureDir, { recursive: true, force: true });
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('cocoon simulator: image pull', { concurrency: 4 }, () => {
  it('stores a qcow2 v3 download byte-for-byte, named and indexed by its sha256', async () => {
    const sandbox = await createSandbox();
    const { url } = serve(images.v3a);
    const hex = sha256(images.v3a);

    const result = await sandbox.sim(['image', 'pull', url]);

    assert.equal(result.exitCode, 0, result.stderr);
    assert.match(result.stderr, new RegExp(`INF pull complete: ${url} -> sha256:${hex}`));
    assert.match(result.stdout, /\r {2}(\d+) \/ \1 \(100%\)\n$/);
    const entry = (await readIndex(sandbox)).images[url];
    assert.deepEqual(
      { ref: entry?.ref, content_sum: entry?.content_sum, size: entry?.size },
      { ref: url, content_sum: `sha256:${hex}`, size: images.v3a.length }
    );
    assert.match(entry?.created_at ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
    assert.deepEqual(await readFile(blobPath(sandbox, hex)), images.v3a);
    assert.equal((await stat(blobPath(sandbox, hex))).mode & 0o777, 0o444);
    assert.deepEqual(await tempEntries(sandbox), []);
  });

  it('keeps the cached digest of a URL without any HTTP request when not forced', async () => {
    const sandbox = await createSandbox();
    const served = serve(images.v3a);
    assert.equal((await sandbox.sim(['image', 'pull', served.url])).exitCode, 0);
    served.replace(images.v3b);
    const hitsBefore = served.hits();

    const result = await sandbox.sim(['image', 'pull', served.url]);

    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(served.hits(), hitsBefore);
    assert.equal(result.stdout, '');
    const entry = (await readIndex(sandbox)).images[served.url];
    assert.equal(entry?.content_sum, `sha256:${sha256(images.v3a)}`);
  });

  it('re-downloads with --force, moving the URL to the new digest', async () => {
    const sandbox = await createSandbox();
    const served = serve(images.v3a);
    assert.equal((await sandbox.sim(['image', 'pull', served.url])).exitCode, 0);
    served.replace(images.v3b);

    const result = await sandbox.sim(['image', 'pull', '--force', served.url]);

    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(served.hits(), 2);
    const entry = (await readIndex(sandbox)).images[served.url];
    assert.equal(entry?.content_sum, `sha256:${sha256(images.v3b)}`);
    assert.deepEqual(await readFile(blobPath(sandbox, sha256(images.v3b))), images.v3b);
    assert.deepEqual(await readFile(blobPath(sandbox, sha256(images.v3a))), images.v3a);
  });

  it('converts a qcow2 v2 download to v3, still named by the source digest', async () => {
    const sandbox = await createSandbox();
    const { url } = serve(images.v2);
    const hex = sha256(images.v2);

    const result = await sandbox.sim(['image', 'pull', url]);

    assert.equal(result.exitCode, 0, result.stderr);
    assert.match(result.stderr, /INF converting to qcow2\.\.\./);
    const blob = await readFile(blobPath(sandbox, hex));
    assert.notEqual(sha256(blob), hex);
    const info = JSON.parse(
      (await execa('qemu-img', ['info', '--output', 'json', blobPath(sandbox, hex)])).stdout
    ) as { format: string; 'format-specific': { data: { compat: string } } };
    assert.equal(info.format, 'qcow2');
    assert.equal(info['format-specific'].data.compat, '1.1');
    assert.equal((await readIndex(sandbox)).images[url]?.size, blob.length);
    assert.deepEqual(await tempEntries(sandbox), []);
  });

  it('converts a raw download to qcow2', async () => {
    const sandbox = await createSandbox();
    const raw = Buffer.concat([Buffer.alloc(4096), randomBytes(60 * 1024)]);
    const { url } = serve(raw);

    const result = await sandbox.sim(['image', 'pull', url]);

    assert.equal(result.exitCode, 0, result.stderr);
    const blob = await readFile(blobPath(sandbox, sha256(raw)));
    assert.equal(blob.subarray(0, 4).toString('latin1'), 'QFI\xfb');
  });

  it('fails on HTTP 404 with the status text twice and leaves no temp file or entry', async () => {
    const sandbox = await createSandbox();
    const { url } = route(bytesHandler(() => 'gone', 404, 'text/plain'));

    const result = await sandbox.sim(['image', 'pull', url]);

    assert.equal(result.exitCode, 1);
    assert.equal(
      lastLine(result.stderr),
      `Error: pull ${url}: http get ${url}: status 404 404 Not Found`
    );
    assert.deepEqual(await tempEntries(sandbox), []);
    assert.equal((await sandbox.sim(['image', 'list'])).stdout, 'No images found.\n');
  });

  it('rejects an HTML page served with status 200 as not a disk image', async () => {
    const sandbox = await createSandbox();
    const page = `<!DOCTYPE html><html><body>${'login required '.repeat(50)}</body></html>`;
    const { url } = route(bytesHandler(() => page, 200, 'text/html'));

    const result = await sandbox.sim(['image', 'pull', url]);

    assert.equal(result.exitCode, 1);
    assert.equal(
      lastLine(result.stderr),
      `Error: pull ${url}: download ${url}: content looks like HTML/XML, not a disk image`
    );
    assert.deepEqual(await tempEntries(sandbox), []);
  });

  it('rejects content too small to be a disk image', async () => {
    const sandbox = await createSandbox();
    const { url } = route(bytesHandler(() => Buffer.alloc(100, 1)));

    const result = await sandbox.sim(['image', 'pull', url]);

    assert.equal(
      lastLine(result.stderr),
      `Error: pull ${url}: download ${url}: content too small to be a disk image (100 bytes)`
    );
  });

  it('fails with unexpected EOF when the body ends before its Content-Length', async () => {
    const sandbox = await createSandbox();
    const { url } = route((_req, res) => {
      res.writeHead(200, { 'content-length': String(images.v3a.length) });
      res.write(images.v3a.subarray(0, 1000));
      setTimeout(() => res.socket?.destroy(), 50);
    });

    const result = await sandbox.sim(['image', 'pull', url]);

    assert.equal(result.exitCode, 1);
    assert.equal(lastLine(result.stderr), `Error: pull ${url}: download ${url}: unexpected EOF`);
    assert.deepEqual(await tempEntries(sandbox), []);
  });

  it("reports a refused connection with Go's dial error", async () => {
    const sandbox = await createSandbox();
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const url = `http://127.0.0.1:${port}/dl/nothing`;

    const result = await sandbox.sim(['image', 'pull', url]);

    assert.equal(
      lastLine(result.stderr),
      `Error: pull ${url}: http get ${url}: Get "${url}": ` +
        `dial tcp 127.0.0.1:${port}: connect: connection refused`
    );
  });

  it('stops a download on SIGTERM with context canceled and removes its temp file', async () => {
    const sandbox = await createSandbox();
    let streaming!: () => void;
    const started = new Promise<void>((resolve) => (streaming = resolve));
    const { url } = route((_req, res) => {
      res.writeHead(200, { 'content-length': String(64 * 1024 * 1024) });
      res.write(images.v3a, () => streaming());
    });

    const child = sandbox.start(['image', 'pull', url]);
    await started;
    await waitUntil(async () => (await tempEntries(sandbox)).length > 0, 'the temp file');
    child.kill('SIGTERM');
    const result = await child.result;

    assert.equal(result.exitCode, 1);
    assert.equal(lastLine(result.stderr), `Error: pull ${url}: download ${url}: context canceled`);
    assert.deepEqual(await tempEntries(sandbox), []);
  });

  it('loses no index entry when several processes pull at once', async () => {
    const sandbox = await createSandbox();
    const urls = [images.v3a, images.v3b, images.v3a, images.v3b].map((body) => serve(body).url);

    const results = await Promise.all(urls.map((url) => sandbox.sim(['image', 'pull', url])));

    assert.deepEqual(
      results.map((r) => r.exitCode),
      [0, 0, 0, 0]
    );
    assert.deepEqual(Object.keys((await readIndex(sandbox)).images).sort(), [...urls].sort());
  });
});

describe('cocoon simulator: image inspect, list, import and rm', { concurrency: 4 }, () => {
  it('resolves a URL, a full digest, bare hex and a 12-char prefix, and nothing else', async () => {
    const sandbox = await createSandbox();
    const { url } = serve(images.v3a);
    const hex = sha256(images.v3a);
    assert.equal((await sandbox.sim(['image', 'pull', url])).exitCode, 0);

    for (const ref of [url, `sha256:${hex}`, hex, hex.slice(0, 12), `sha256:${hex.slice(0, 12)}`]) {
      const result = await sandbox.sim(['image', 'inspect', ref]);
      assert.equal(result.exitCode, 0, `${ref}: ${result.stderr}`);
      const info = JSON.parse(result.stdout) as Record<string, unknown>;
      assert.deepEqual(Object.keys(info), ['id', 'name', 'type', 'size', 'created_at']);
      assert.deepEqual(
        { id: info.id, name: info.name, type: info.type, size: info.size },
        { id: `sha256:${hex}`, name: url, type: 'cloudimg', size: images.v3a.length }
      );
      assert.ok(result.stdout.startsWith('{\n  "id"') && result.stdout.endsWith('}\n'));
    }

    for (const ref of [hex.slice(0, 11), `${url}/`, 'ubuntu']) {
      const result = await sandbox.sim(['image', 'inspect', ref]);
      assert.equal(result.exitCode, 1);
      assert.equal(lastLine(result.stderr), `Error: image "${ref}": not found in any backend`);
    }
  });

  it('reads only the index: inspect still answers after the blob file is gone', async () => {
    const sandbox = await createSandbox();
    const { url } = serve(images.v3a);
    assert.equal((await sandbox.sim(['image', 'pull', url])).exitCode, 0);
    await rm(blobPath(sandbox, sha256(images.v3a)), { force: true });

    const result = await sandbox.sim(['image', 'inspect', url]);

    assert.equal(result.exitCode, 0);
  });

  it('lists images as JSON, or the "No images found." text even with -o json', async () => {
    const sandbox = await createSandbox();
    const empty = await sandbox.sim(['image', 'list', '-o', 'json']);
    assert.deepEqual([empty.exitCode, empty.stdout], [0, 'No images found.\n']);

    const { url } = serve(images.v3a);
    assert.equal((await sandbox.sim(['image', 'pull', url])).exitCode, 0);
    const listed = await sandbox.sim(['image', 'ls', '--format=json']);

    const entries = JSON.parse(listed.stdout) as { name: string; type: string }[];
    assert.deepEqual(
      entries.map((e) => [e.name, e.type]),
      [[url, 'cloudimg']]
    );
  });

  it('imports under a name; rm by digest drops every key but keeps the blob', async () => {
    const sandbox = await createSandbox();
    const file = path.join(sandbox.dir, 'a.qcow2');
    await writeFile(file, images.v3a);
    const hex = sha256(images.v3a);

    const first = await sandbox.sim(['image', 'import', 'win11', file]);
    const second = await sandbox.sim(['image', 'import', 'win11-copy', file]);

    assert.equal(first.exitCode, 0, first.stderr);
    assert.match(first.stderr, new RegExp(`INF import complete: win11 -> sha256:${hex}`));
    assert.match(second.stderr, /import complete \(cached\): win11-copy/);
    assert.deepEqual(Object.keys((await readIndex(sandbox)).images).sort(), [
      'win11',
      'win11-copy',
    ]);

    const removed = await sandbox.sim(['image', 'rm', `sha256:${hex}`]);

    assert.equal(removed.exitCode, 0, removed.stderr);
    assert.deepEqual((await readIndex(sandbox)).images, {});
    assert.deepEqual(await readFile(blobPath(sandbox, hex)), images.v3a);
  });

  it('records an OCI pull by digest and refuses OCI refs without one', async () => {
    const sandbox = await createSandbox();
    const digest = `sha256:${'ab'.repeat(32)}`;

    const pulled = await sandbox.sim(['image', 'pull', `ghcr.io/acme/agent@${digest}`]);
    const tagged = await sandbox.sim(['image', 'pull', 'ghcr.io/acme/agent:latest']);
    const inspected = await sandbox.sim(['image', 'inspect', digest]);

    assert.equal(pulled.exitCode, 0, pulled.stderr);
    assert.equal(
      lastLine(tagged.stderr),
      'Error: pull ghcr.io/acme/agent:latest: simulator only pulls OCI images by digest'
    );
    assert.equal((JSON.parse(inspected.stdout) as { type: string }).type, 'oci');
  });
});

describe('cocoon simulator: snapshots', { concurrency: 4 }, () => {
  it('imports an archive quietly and inspects it by name, ID and ID prefix', async () => {
    const sandbox = await createSandbox();
    const digest = `sha256:${sha256(images.v3a)}`;
    const archive = path.join(sandbox.dir, 'golden.tar.gz');
    await writeSnapshotArchive(archive, {
      image: 'http://epoch.invalid/dl/base',
      imageDigest: digest,
      imageType: 'cloudimg',
      cpu: 2,
      memory: 4 * GiB,
      storage: 20 * GiB,
      network: 'cocoon',
      gzip: true,
    });

    const imported = await sandbox.sim([
      'snapshot',
      'import',
      archive,
      '--name',
      'golden',
      '--description=hot base',
    ]);

    assert.equal(imported.exitCode, 0, imported.stderr);
    assert.equal(imported.stdout, '');
    const id = /INF snapshot imported: ([A-Z2-7]{26}) /.exec(imported.stderr)?.[1] ?? '';
    assert.ok(id, imported.stderr);
    for (const ref of ['golden', id, id.slice(0, 3)]) {
      const result = await sandbox.sim(['snapshot', 'inspect', ref]);
      assert.equal(result.exitCode, 0, result.stderr);
      const snapshot = JSON.parse(result.stdout) as Record<string, unknown>;
      assert.deepEqual(Object.keys(snapshot), [
        'cpu',
        'memory',
        'storage',
        'image',
        'image_digest',
        'image_type',
        'network',
        'id',
        'name',
        'description',
        'image_blob_ids',
        'hypervisor',
        'nics',
        'created_at',
      ]);
      assert.deepEqual(
        { ...snapshot, created_at: undefined },
        {
          cpu: 2,
          memory: 4 * GiB,
          storage: 20 * GiB,
          image: 'http://epoch.invalid/dl/base',
          image_digest: digest,
          image_type: 'cloudimg',
          network: 'cocoon',
          id,
          name: 'golden',
          description: 'hot base',
          image_blob_ids: { [sha256(images.v3a)]: {} },
          hypervisor: 'cloud-hypervisor',
          nics: 1,
          created_at: undefined,
        }
      );
    }
    const files = await readdir(path.join(sandbox.root, 'snapshot/localfile', id));
    assert.deepEqual(files.sort(), ['config.json', 'memory-ranges', 'overlay.qcow2', 'state.json']);
  });

  it('refuses a taken name and an archive without snapshot.json', async () => {
    const sandbox = await createSandbox();
    await importSnapshot(sandbox, { imageDigest: `sha256:${'1'.repeat(64)}` });
    const { stdout } = await sandbox.sim(['snapshot', 'inspect', 'golden']);
    const holder = (JSON.parse(stdout) as { id: string }).id;
    const archive = path.join(sandbox.dir, 'again.tar');
    await writeSnapshotArchive(archive, {
      name: 'golden',
      image: 'x',
      imageDigest: `sha256:${'2'.repeat(64)}`,
      imageType: 'cloudimg',
      cpu: 1,
      memory: GiB,
      storage: GiB,
    });
    const bare = path.join(sandbox.dir, 'bare.tar');
    await execa('tar', ['-cf', bare, '-C', fixtureDir, 'a.qcow2']);

    const taken = await sandbox.sim(['snapshot', 'import', archive]);
    const invalid = await sandbox.sim(['snapshot', 'import', bare]);

    assert.equal(taken.exitCode, 1);
    assert.equal(
      lastLine(taken.stderr),
      `Error: import: snapshot name "golden" already in use by ${holder}`
    );
    assert.equal(
      lastLine(invalid.stderr),
      'Error: import: invalid snapshot archive: snapshot.json not found'
    );
    assert.deepEqual(await readdir(path.join(sandbox.root, 'snapshot/localfile')), [holder]);
  });

  it('prints "No snapshots found." even with -o json; unknown refs are not found', async () => {
    const sandbox = await createSandbox();

    const listed = await sandbox.sim(['snapshot', 'list', '-o', 'json']);
    const inspected = await sandbox.sim(['snapshot', 'inspect', 'nope']);

    assert.equal(listed.stdout, 'No snapshots found.\n');
    assert.equal(inspected.exitCode, 1);
    assert.equal(lastLine(inspected.stderr), 'Error: inspect: snapshot not found');
  });
});

describe('cocoon simulator: vm clone, inspect, list and rm', { concurrency: 4 }, () => {
  it('prints the clone with pid 0 and shows the live stand-in process in vm inspect', async () => {
    const sandbox = await createSandbox();
    await prepareClonable(sandbox);

    const cloned = await sandbox.sim([
      'vm',
      'clone',
      '--name',
      'vk-demo-0',
      '-o',
      'json',
      'golden',
    ]);

    assert.equal(cloned.exitCode, 0, cloned.stderr);
    const vm = JSON.parse(cloned.stdout) as Record<string, unknown> & {
      id: string;
      config: Record<string, unknown>;
    };
    assert.match(vm.id, /^[A-Z2-7]{26}$/);
    assert.deepEqual(
      [vm.state, vm.pid, vm.first_booted, 'socket_path' in vm],
      ['running', 0, false, false]
    );
    assert.deepEqual(vm.config, {
      cpu: 2,
      memory: 4 * GiB,
      storage: 20 * GiB,
      image: 'base',
      image_digest: `sha256:${sha256(images.v3a)}`,
      image_type: 'cloudimg',
      network: 'cocoon',
      name: 'vk-demo-0',
    });
    assert.match(cloned.stderr, new RegExp(`INF VM ${vm.id} cloned from snapshot`));

    const inspected = await sandbox.sim(['vm', 'inspect', 'vk-demo-0']);
    const live = JSON.parse(inspected.stdout) as Record<string, unknown> & { pid: number };
    const runDir = path.join(sandbox.run, 'cloudhypervisor', vm.id);
    assert.equal(live.state, 'running');
    assert.equal(live.first_booted, true);
    assert.equal(live.socket_path, path.join(runDir, 'api.sock'));
    assert.ok(isAlive(live.pid), `pid ${live.pid} should be alive`);
    assert.equal(Number(await readFile(path.join(runDir, 'ch.pid'), 'utf8')), live.pid);
    assert.ok((await readdir(runDir)).includes('overlay.qcow2'));
  });

  it('fails at vm.restore without the base blob and leaves nothing behind', async () => {
    const sandbox = await createSandbox();
    const hex = 'f'.repeat(64);
    await importSnapshot(sandbox, { imageDigest: `sha256:${hex}` });

    const result = await sandbox.sim(['vm', 'clone', '--name', 'doomed', '-o', 'json', 'golden']);

    assert.equal(result.exitCode, 1);
    assert.equal(result.stdout, '');
    assert.equal(
      lastLine(result.stderr),
      'Error: clone VM: vm.restore: PUT http://localhost/api/v1/vm.restore → 500: ' +
        `{"error":"Backing file I/O error: ${blobPath(sandbox, hex)} — ` +
        'No such file or directory"}'
    );
    assert.equal((await sandbox.sim(['vm', 'list', '-o', 'json'])).stdout, 'No VMs found.\n');
    assert.deepEqual(await readdir(path.join(sandbox.run, 'cloudhypervisor')), []);
  });

  it('refuses a taken name and an invalid name', async () => {
    const sandbox = await createSandbox();
    await prepareClonable(sandbox);
    const first = await sandbox.sim(['vm', 'clone', '--name', 'vk-demo-0', '-o', 'json', 'golden']);
    const id = (JSON.parse(first.stdout) as { id: string }).id;

    const taken = await sandbox.sim(['vm', 'clone', '--name', 'vk-demo-0', 'golden']);
    const invalid = await sandbox.sim(['vm', 'clone', '--name', '-bad', 'golden']);
    const tooLong = await sandbox.sim(['vm', 'clone', `--name=${'a'.repeat(64)}`, 'golden']);

    assert.equal(
      lastLine(taken.stderr),
      `Error: clone VM: reserve VM record: vm name "vk-demo-0" already exists (id: ${id})`
    );
    assert.equal(
      lastLine(invalid.stderr),
      'Error: vm name "-bad" is invalid: ' +
        'must match ^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$ (max 63 chars)'
    );
    assert.equal(tooLong.exitCode, 1);
    assert.match(lastLine(tooLong.stderr), /^Error: vm name "a{64}" is invalid/);
  });

  it('refuses resources below the snapshot and accepts go-units sizes above it', async () => {
    const sandbox = await createSandbox();
    await prepareClonable(sandbox);

    const cpu = await sandbox.sim(['vm', 'clone', '--cpu', '1', 'golden']);
    const memory = await sandbox.sim(['vm', 'clone', '--memory', '2G', 'golden']);
    const storage = await sandbox.sim(['vm', 'clone', '--storage', '10240MiB', 'golden']);
    const bigger = await sandbox.sim(['vm', 'clone', '--memory', '8GiB', '-o', 'json', 'golden']);

    assert.equal(lastLine(cpu.stderr), 'Error: --cpu 1 below snapshot minimum 2');
    assert.equal(lastLine(memory.stderr), 'Error: --memory 2 GiB below snapshot minimum 4 GiB');
    assert.equal(lastLine(storage.stderr), 'Error: --storage 10 GiB below snapshot minimum 20 GiB');
    assert.equal(bigger.exitCode, 0, bigger.stderr);
    assert.equal(
      (JSON.parse(bigger.stdout) as { config: { memory: number } }).config.memory,
      8 * GiB
    );
  });

  it('removes a running VM only with --force, killing its process', async () => {
    const sandbox = await createSandbox();
    await prepareClonable(sandbox);
    const cloned = await sandbox.sim(['vm', 'clone', '--name', 'victim', '-o', 'json', 'golden']);
    const id = (JSON.parse(cloned.stdout) as { id: string }).id;
    const { pid } = JSON.parse((await sandbox.sim(['vm', 'inspect', id])).stdout) as {
      pid: number;
    };

    const refused = await sandbox.sim(['vm', 'rm', 'victim']);
    const removed = await sandbox.sim(['vm', 'rm', '--force', '-o', 'json', 'victim']);

    assert.equal(refused.exitCode, 1);
    assert.equal(
      lastLine(refused.stderr),
      `Error: rm: item ${id}: stop before delete: running (force required)`
    );
    assert.equal(removed.exitCode, 0, removed.stderr);
    assert.deepEqual(JSON.parse(removed.stdout), { succeeded: [id] });
    await waitUntil(() => !isAlive(pid), `pid ${pid} to exit`);
    assert.equal((await sandbox.sim(['vm', 'list'])).stdout, 'No VMs found.\n');
    assert.deepEqual(await readdir(path.join(sandbox.run, 'cloudhypervisor')), []);
  });

  it('fails rm and inspect of an unknown VM with VM not found, removing nothing', async () => {
    const sandbox = await createSandbox();
    await prepareClonable(sandbox);
    assert.equal((await sandbox.sim(['vm', 'clone', '--name', 'keep', 'golden'])).exitCode, 0);

    const removed = await sandbox.sim(['vm', 'rm', '--force', 'keep', 'ghost']);
    const inspected = await sandbox.sim(['vm', 'inspect', 'ghost']);

    assert.equal(removed.exitCode, 1);
    assert.equal(lastLine(removed.stderr), 'Error: vm ghost: VM not found');
    assert.equal(lastLine(inspected.stderr), 'Error: inspect: vm ghost: VM not found');
    assert.equal((await sandbox.sim(['vm', 'inspect', 'keep'])).exitCode, 0);
  });

  it('inspect shows a VM whose process died as "stopped (stale)"; list does not', async () => {
    const sandbox = await createSandbox();
    await prepareClonable(sandbox);
    assert.equal((await sandbox.sim(['vm', 'clone', '--name', 'crashy', 'golden'])).exitCode, 0);
    const { pid } = JSON.parse((await sandbox.sim(['vm', 'inspect', 'crashy'])).stdout) as {
      pid: number;
    };

    process.kill(pid, 'SIGKILL');
    await waitUntil(() => !isAlive(pid), `pid ${pid} to exit`);

    const inspected = JSON.parse((await sandbox.sim(['vm', 'inspect', 'crashy'])).stdout) as {
      state: string;
    };
    const listed = JSON.parse((await sandbox.sim(['vm', 'list', '-o', 'json'])).stdout) as {
      state: string;
    }[];
    assert.equal(inspected.state, 'stopped (stale)');
    assert.equal(listed[0]?.state, 'running');
    assert.equal((await sandbox.sim(['vm', 'rm', 'crashy'])).exitCode, 0);
  });

  it('rolls back the creating record when a clone is interrupted with SIGTERM', async () => {
    const sandbox = await createSandbox();
    await prepareClonable(sandbox);

    const child = sandbox.start(['vm', 'clone', '--name', 'interrupted', 'golden'], {
      COCOON_SIM_CLONE_DELAY_MS: '10000',
    });
    await waitUntil(async () => {
      const listed = await sandbox.sim(['vm', 'list', '-o', 'json']);
      return listed.stdout.includes('"state": "creating"');
    }, 'the creating record');
    child.kill('SIGTERM');
    const result = await child.result;

    assert.equal(result.exitCode, 1);
    assert.equal(lastLine(result.stderr), 'Error: clone VM: context canceled');
    assert.equal((await sandbox.sim(['vm', 'list'])).stdout, 'No VMs found.\n');
  });

  it('reproduces the incident: clone --pull on a stale URL entry warns, then fails', async () => {
    const sandbox = await createSandbox();
    const served = serve(images.v3a);
    assert.equal((await sandbox.sim(['image', 'pull', served.url])).exitCode, 0);
    served.replace(images.v3b);
    const newHex = sha256(images.v3b);
    await importSnapshot(sandbox, { image: served.url, imageDigest: `sha256:${newHex}` });
    const hitsBefore = served.hits();

    const result = await sandbox.sim(['vm', 'clone', '--pull', '-o', 'json', 'golden']);

    assert.equal(result.exitCode, 1);
    assert.equal(served.hits(), hitsBefore);
    assert.ok(
      result.stderr.includes(
        `WRN pulled ${served.url} but expected digest sha256:${newHex} not found locally — ` +
          'clone may fail in VerifyBaseFiles'
      ),
      result.stderr
    );
    assert.match(
      lastLine(result.stderr),
      /^Error: clone VM: vm\.restore: .*Backing file I\/O error/
    );
    assert.ok(lastLine(result.stderr).includes(blobPath(sandbox, newHex)));
    assert.equal((await sandbox.sim(['vm', 'list'])).stdout, 'No VMs found.\n');

    const forced = await sandbox.sim(['image', 'pull', '--force', served.url]);
    const retried = await sandbox.sim(['vm', 'clone', '--pull', '-o', 'json', 'golden']);

    assert.equal(forced.exitCode, 0, forced.stderr);
    assert.equal(retried.exitCode, 0, retried.stderr);
  });

  it('clone --pull downloads a missing base image and then clones', async () => {
    const sandbox = await createSandbox();
    const served = serve(images.v3b);
    const hex = sha256(images.v3b);
    await importSnapshot(sandbox, { image: served.url, imageDigest: `sha256:${hex}` });

    const result = await sandbox.sim(['vm', 'clone', '--pull', '-o', 'json', 'golden']);

    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(served.hits(), 1);
    assert.match(result.stderr, new RegExp(`INF base image ${served.url} pulled successfully`));
    assert.equal((JSON.parse(result.stdout) as { state: string }).state, 'running');
  });
});

describe('cocoon simulator: process contract', { concurrency: 4 }, () => {
  it('fails unknown flags and wrong argument counts like cobra', async () => {
    const sandbox = await createSandbox();

    const unknown = await sandbox.sim(['image', 'inspect', '-o', 'json', 'x']);
    const unknownLong = await sandbox.sim(['vm', 'list', '--bogus']);
    const missing = await sandbox.sim(['image', 'inspect']);
    const none = await sandbox.sim(['image', 'pull']);

    assert.deepEqual(
      [unknown, unknownLong, missing, none].map((r) => [r.exitCode, lastLine(r.stderr)]),
      [
        [1, "Error: unknown shorthand flag: 'o' in -o"],
        [1, 'Error: unknown flag: --bogus'],
        [1, 'Error: accepts 1 arg(s), received 0'],
        [1, 'Error: requires at least 1 arg(s), only received 0'],
      ]
    );
  });

  it('accepts global flags anywhere and in --flag=value form', async () => {
    const sandbox = await createSandbox();
    const { url } = serve(images.v3a);

    const result = await execa(
      SIMULATOR_PATH,
      [
        'image',
        `--root-dir=${sandbox.root}`,
        'pull',
        url,
        '--log-level',
        'debug',
        '--run-dir',
        sandbox.run,
      ],
      { reject: false, env: { NO_COLOR: '1' } }
    );

    assert.equal(result.exitCode, 0, result.stderr);
    assert.ok((await readIndex(sandbox)).images[url]);
  });

  it('writes zerolog console lines, coloured unless NO_COLOR is set', async () => {
    const sandbox = await createSandbox();
    await prepareClonable(sandbox);

    const plain = await sandbox.sim(['vm', 'clone', '--name', 'plain', 'golden']);
    const coloured = await sandbox.sim(['vm', 'clone', '--name', 'coloured', 'golden'], {
      NO_COLOR: '',
    });

    const timestamp = String.raw`\d\d [A-Z][a-z]{2} \d\d \d\d:\d\d [+-]\d{4}`;
    const line = String.raw`INF cloning VM from snapshot golden \(direct\) \.\.\. func=vm\.clone`;
    assert.match(plain.stderr, new RegExp(`^${timestamp} ${line}$`, 'm'));
    const green = (text: string) => `\u001b[32m${text}\u001b[0m`;
    assert.ok(coloured.stderr.includes(`${green('INF')} VM `), coloured.stderr);
  });
});
