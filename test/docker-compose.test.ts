import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { loadSettings } from '../common/config/load-settings.js';
import { SHUTDOWN_GRACE_SECONDS } from '../worker/node-worker.js';

// No Docker engine runs here, so the stack cannot be started in CI. What can be checked is
// that the file parses and that its services agree with each other and with the worker.

interface Service {
  image?: string;
  environment?: Record<string, string>;
  ports?: string[];
  network_mode?: string;
  stop_grace_period?: string;
  depends_on?: Record<string, { condition: string }>;
}

const COMPOSE = fileURLToPath(new URL('../../docker-compose.yml', import.meta.url));

async function services(): Promise<Record<string, Service>> {
  const doc = parse(await readFile(COMPOSE, 'utf8')) as { services: Record<string, Service> };
  return doc.services;
}

function publishedPorts(service: Service | undefined): string[] {
  return (service?.ports ?? []).map((p) => p.split(':')[0] ?? '');
}

describe('docker-compose.yml', () => {
  test('has the Temporal server, its schema and namespace jobs, the UI and a node worker', async () => {
    const names = Object.keys(await services());
    for (const name of [
      'postgresql',
      'temporal-schema',
      'temporal',
      'temporal-namespace',
      'temporal-ui',
      'cocoon-flow-worker',
    ]) {
      assert.ok(names.includes(name), `service ${name}`);
    }
  });

  test("the worker's environment is read by the worker's own settings loader", async () => {
    const worker = (await services())['cocoon-flow-worker'];
    const env = worker?.environment ?? {};
    // Compose substitutes ${VAR:-default}; the test does the same with the defaults.
    const substituted = Object.fromEntries(
      Object.entries(env).map(([k, v]) => [k, v.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')])
    );

    const settings = loadSettings({}, substituted);

    assert.equal(settings.node, 'node-a');
    assert.equal(settings.cocoon.rootDir, '/var/lib/cocoon');
    assert.equal(settings.cocoon.binary, '/usr/local/bin/cocoon');
    assert.deepEqual(settings.registries, ['https://epoch.simular.cloud/']);
    for (const key of Object.keys(substituted)) {
      assert.match(key, /^(TEMPORAL|COCOON_FLOW)_/, `${key} is a variable the worker reads`);
    }
  });

  test('the worker reaches the server on a port the server publishes', async () => {
    const all = await services();
    const worker = all['cocoon-flow-worker'];
    const [host, port] = (worker?.environment?.TEMPORAL_ADDRESS ?? '').split(':');

    assert.equal(worker?.network_mode, 'host');
    assert.equal(host, 'localhost', 'a host-networked container cannot resolve service names');
    assert.ok(publishedPorts(all.temporal).includes(port ?? ''), `temporal publishes ${port}`);
    assert.equal(all['temporal-ui']?.environment?.TEMPORAL_ADDRESS, 'temporal:7233');
  });

  test("compose waits longer than the worker's graceful drain before killing it", async () => {
    const worker = (await services())['cocoon-flow-worker'];
    const grace = Number(/^(\d+)s$/.exec(worker?.stop_grace_period ?? '')?.[1]);
    assert.ok(grace > SHUTDOWN_GRACE_SECONDS, `stop_grace_period ${grace}s`);
  });
});
