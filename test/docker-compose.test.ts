import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { execa } from 'execa';
import { parse } from 'yaml';
import { loadSettings } from '../common/config/load-settings.js';
import type { FlowSettings } from '../common/config/settings.js';
import { CLONE_SEARCH_ATTRIBUTES } from '../common/search-attributes.js';
import { SHUTDOWN_GRACE_SECONDS } from '../worker/node-worker.js';
import { findTemporalCli } from './support/temporal-cli.js';
import { PROCESS_VARIABLES, SETTING_OF_VARIABLE, repoPath } from './support/worker-variables.js';

// No Docker engine runs here, so the stack is never started. What can be checked is that the
// file parses, that its services agree with each other, with the worker's own settings loader
// and with deploy/README.md, and that the setup job's script does its work against a real
// Temporal server (the dev server standing in for the compose one).

interface Service {
  image?: string;
  build?: { context?: string; dockerfile?: string };
  pull_policy?: string;
  environment?: Record<string, string>;
  ports?: string[];
  network_mode?: string;
  pid?: string;
  stop_signal?: string;
  stop_grace_period?: string;
  depends_on?: Record<string, { condition: string }>;
  command?: string[];
}

// @temporalio/proto is CommonJS; its namespace is reached through the default export.
const { IndexedValueType } = proto.temporal.api.enums.v1;

const WORKERS = ['cocoon-flow-worker-a', 'cocoon-flow-worker-b'];
const SETUP_JOB = 'temporal-setup';

async function services(): Promise<Record<string, Service>> {
  // The workers share their settings through YAML merge keys, as compose reads them.
  const text = await readFile(repoPath('docker-compose.yml'), 'utf8');
  return (parse(text, { merge: true }) as { services: Record<string, Service> }).services;
}

async function service(name: string): Promise<Service> {
  const found = (await services())[name];
  assert.ok(found, `service ${name}`);
  return found;
}

/** Compose's `${VAR:-default}`, as compose resolves it when VAR is unset. */
function withDefaults(value: string): string {
  const resolved = value.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}/g, '$1');
  assert.ok(!resolved.includes('${'), `${value} uses a variable without a default`);
  return resolved;
}

function environmentOf(worker: Service): Record<string, string> {
  return Object.fromEntries(
    Object.entries(worker.environment ?? {}).map(([key, value]) => [key, withDefaults(value)])
  );
}

function portOf(address: string): string {
  return address.slice(address.lastIndexOf(':') + 1);
}

function publishedPorts(entry: Service): string[] {
  return (entry.ports ?? []).map((mapping) => mapping.split(':')[0] ?? '');
}

/** The setup job's shell script, as the shell inside the container receives it. */
function setupScript(job: Service): string {
  const text = job.command?.[0] ?? '';
  // Compose expands `$VAR` in the file itself; a script's own `$` must be written `$$`.
  assert.ok(!text.replaceAll('$$', '').includes('$'), 'every $ in the script is escaped as $$');
  return text.replaceAll('$$', '$');
}

let scratch: string;

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'cocoon-flow-compose-'));
});

after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('docker-compose.yml', () => {
  // The host's /etc/cocoon-flow/config.json must not leak in: every setting comes from compose.
  async function settingsFrom(environment: Record<string, string>): Promise<FlowSettings> {
    const config = join(scratch, 'empty-config.json');
    await writeFile(config, '{}\n');
    return loadSettings({}, { ...environment, COCOON_FLOW_CONFIG: config });
  }

  test('runs Temporal, its schema and setup jobs, the UI and two node workers', async () => {
    const names = Object.keys(await services());
    for (const name of ['postgresql', 'temporal-schema', 'temporal', SETUP_JOB, 'temporal-ui']) {
      assert.ok(names.includes(name), `service ${name}`);
    }
    for (const name of WORKERS) assert.ok(names.includes(name), `service ${name}`);
  });

  test('pins every image to a version, and uses no auto-setup image', async () => {
    for (const [name, entry] of Object.entries(await services())) {
      const image = entry.image ?? '';
      const tag = /^[a-z0-9./_-]+:([A-Za-z0-9._-]+)$/.exec(image)?.[1];

      assert.ok(tag, `${name}: image ${JSON.stringify(image)} has a tag`);
      assert.notEqual(tag, 'latest', `${name}: ${image}`);
      assert.match(tag, /^\d+\.\d+(\.\d+)?([.-][A-Za-z0-9.-]+)?$/, `${name}: ${image}`);
      assert.ok(!image.includes('auto-setup'), `${name}: ${image} is the deprecated image`);
    }
  });

  test("the admin tools are the server's own version", async () => {
    const all = await services();
    const serverVersion = all.temporal?.image?.split(':')[1];

    for (const job of ['temporal-schema', SETUP_JOB]) {
      const tag = all[job]?.image?.split(':')[1] ?? '';
      assert.ok(tag.startsWith(`${serverVersion}-`), `${job}: ${tag} is for ${serverVersion}`);
    }
  });

  test('builds the worker image from this checkout, tagged with the package version', async () => {
    const { version } = JSON.parse(await readFile(repoPath('package.json'), 'utf8')) as {
      version: string;
    };
    for (const name of WORKERS) {
      const worker = await service(name);

      assert.equal(worker.image, `cocoon-flow:${version}`);
      // An image of that name on a public registry would be somebody else's.
      assert.equal(worker.pull_policy, 'build');
      assert.ok(existsSync(repoPath(worker.build?.dockerfile ?? 'missing')), 'Dockerfile exists');
    }
  });

  test('the image installs the cocoon binary the workers are given', async () => {
    const dockerfile = await readFile(repoPath('deploy/Dockerfile'), 'utf8');
    const installed = /^COPY\s.*deploy\/cocoon-on-host\.sh\s+(\S+)\s*$/m.exec(dockerfile)?.[1];

    for (const name of WORKERS) {
      const binary = (await service(name)).environment?.COCOON_FLOW_COCOON_BINARY;
      assert.ok(installed, 'the Dockerfile copies cocoon-on-host.sh');
      assert.equal(binary, installed);
    }
  });

  test('the setup job registers exactly the search attributes the workflow sets', async () => {
    const script = setupScript(await service(SETUP_JOB));
    const registered = [...script.matchAll(/^\s*retry register (\S+) (\S+)\s*$/gm)].map(
      ([, name, type]) => `${name}: ${type?.toUpperCase()}`
    );
    const declared = CLONE_SEARCH_ATTRIBUTES.map(
      (key) => `${key.name}: ${key.type.replaceAll('_', '')}`
    );

    assert.deepEqual([...registered].sort(), [...declared].sort());
    assert.match(script, /temporal operator search-attribute create /);
  });

  test('the setup job prepares the namespace the workers use', async () => {
    const job = await service(SETUP_JOB);
    for (const name of WORKERS) {
      const namespace = (await service(name)).environment?.TEMPORAL_NAMESPACE;
      assert.equal(job.environment?.NAMESPACE, namespace, name);
    }
  });

  test('each service starts once what it needs is ready', async () => {
    const all = await services();
    const waitsFor = (name: string, dependency: string) =>
      all[name]?.depends_on?.[dependency]?.condition;

    assert.equal(waitsFor('temporal-schema', 'postgresql'), 'service_healthy');
    assert.equal(waitsFor('temporal', 'temporal-schema'), 'service_completed_successfully');
    assert.equal(waitsFor(SETUP_JOB, 'temporal'), 'service_healthy');
    // A clone's first step sets its search attributes, which must exist by then.
    for (const name of WORKERS) {
      assert.equal(waitsFor(name, SETUP_JOB), 'service_completed_successfully', name);
    }
  });

  test('the two workers are two nodes, each with a metrics port of its own', async () => {
    const environments = await Promise.all(
      WORKERS.map(async (name) => environmentOf(await service(name)))
    );
    const nodes = environments.map((env) => env.COCOON_FLOW_NODE);
    const ports = environments.map((env) => portOf(env.COCOON_FLOW_METRICS_ADDRESS ?? ''));

    assert.equal(new Set(nodes).size, WORKERS.length, `node names ${nodes.join(', ')}`);
    assert.equal(new Set(ports).size, WORKERS.length, `metrics ports ${ports.join(', ')}`);
    for (const port of ports) assert.match(port, /^\d+$/);
  });

  test("each worker's environment is read by the worker's own settings loader", async () => {
    const loaderSource = await readFile(repoPath('common/config/load-settings.ts'), 'utf8');

    for (const name of WORKERS) {
      const environment = environmentOf(await service(name));
      const settings = await settingsFrom(environment);

      for (const [key, value] of Object.entries(environment)) {
        if (key in PROCESS_VARIABLES) {
          assert.equal(value, PROCESS_VARIABLES[key], `${name}: ${key}`);
          continue;
        }
        const setting = SETTING_OF_VARIABLE[key];
        assert.ok(setting, `${name}: ${key} is not a variable the worker reads`);
        assert.ok(loaderSource.includes(`env.${key}`), `${name}: loadSettings reads ${key}`);
        assert.equal(setting(settings), value, `${name}: ${key}`);
      }
    }
  });

  test('each worker reaches the server on a port the server publishes', async () => {
    const all = await services();
    for (const name of WORKERS) {
      const worker = await service(name);
      const [host, port] = (environmentOf(worker).TEMPORAL_ADDRESS ?? '').split(':');

      assert.equal(worker.network_mode, 'host', name);
      assert.equal(host, 'localhost', `${name}: a host-networked container cannot resolve names`);
      assert.ok(
        publishedPorts(all.temporal ?? {}).includes(port ?? ''),
        `temporal publishes ${port}`
      );
    }
    assert.equal(all['temporal-ui']?.environment?.TEMPORAL_ADDRESS, 'temporal:7233');
  });

  test("each worker shares the host's PID namespace, which cocoon-on-host.sh needs", async () => {
    for (const name of WORKERS) assert.equal((await service(name)).pid, 'host', name);
  });

  test("compose waits longer than the worker's graceful drain before killing it", async () => {
    for (const name of WORKERS) {
      const worker = await service(name);
      const grace = Number(/^(\d+)s$/.exec(worker.stop_grace_period ?? '')?.[1]);

      assert.equal(worker.stop_signal ?? 'SIGTERM', 'SIGTERM', name);
      assert.ok(grace > SHUTDOWN_GRACE_SECONDS, `${name}: stop_grace_period ${grace}s`);
    }
  });

  test('deploy/README.md names every port the stack opens on the host', async () => {
    const guide = await readFile(repoPath('deploy/README.md'), 'utf8');
    const all = await services();
    const ports = [
      ...Object.values(all).flatMap(publishedPorts),
      ...WORKERS.map((name) =>
        portOf(environmentOf(all[name] ?? {}).COCOON_FLOW_METRICS_ADDRESS ?? '')
      ),
    ];

    assert.ok(ports.length >= 4, `ports ${ports.join(', ')}`);
    for (const port of ports) {
      assert.match(guide, new RegExp(`\\b${port}\\b`), `deploy/README.md mentions port ${port}`);
    }
  });
});

describe('the setup job, run against a Temporal dev server', () => {
  let server: TestWorkflowEnvironment;
  let cliDir: string | undefined;
  let script: string;

  before(async () => {
    const cli = await findTemporalCli({
      onBuild: (message) => process.stderr.write(`${message}\n`),
    });
    cliDir = cli.type === 'existing-path' ? dirname(cli.path) : undefined;
    script = setupScript(await service(SETUP_JOB));
    // No search attributes at start-up: registering them is the job's work.
    server = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: cli,
        ui: false,
        log: { format: 'pretty', level: 'error' },
      },
    });
  });

  after(async () => {
    await server?.teardown();
  });

  async function runSetup(namespace: string) {
    assert.ok(cliDir, 'the temporal CLI is on this machine (scripts/install-temporal-cli.sh)');
    // Only what the compose service sets: no TEMPORAL_* variable of this machine, and a home
    // without a `temporal` CLI profile.
    return execa('/bin/sh', ['-c', script], {
      reject: false,
      timeout: 240_000,
      extendEnv: false,
      env: {
        PATH: `${cliDir}:${process.env.PATH ?? ''}`,
        HOME: scratch,
        TEMPORAL_ADDRESS: server.address,
        NAMESPACE: namespace,
      },
    });
  }

  async function customAttributes(namespace: string): Promise<Record<string, string>> {
    const { customAttributes } = await server.connection.operatorService.listSearchAttributes({
      namespace,
    });
    return Object.fromEntries(
      Object.entries(customAttributes ?? {}).map(([name, type]) => [name, IndexedValueType[type]])
    );
  }

  const expected = Object.fromEntries(
    CLONE_SEARCH_ATTRIBUTES.map((key) => [key.name, `INDEXED_VALUE_TYPE_${key.type}`])
  );

  test('creates the namespace and registers the clone search attributes in it', async () => {
    const namespace = 'compose-setup-fresh';
    const result = await runSetup(namespace);

    assert.equal(result.exitCode, 0, result.stderr);
    assert.deepEqual(await customAttributes(namespace), expected);
  });

  test('can run again on a namespace it has prepared', async () => {
    const namespace = 'compose-setup-again';
    const first = await runSetup(namespace);
    const second = await runSetup(namespace);

    assert.equal(first.exitCode, 0, first.stderr);
    assert.equal(second.exitCode, 0, second.stderr);
    assert.deepEqual(await customAttributes(namespace), expected);
  });

  test('fails, without retrying, when an attribute exists with another type', async () => {
    const namespace = 'compose-setup-clash';
    assert.equal((await runSetup(namespace)).exitCode, 0);
    const { operatorService } = server.connection;
    await operatorService.removeSearchAttributes({ namespace, searchAttributes: ['CloneStep'] });
    await operatorService.addSearchAttributes({
      namespace,
      searchAttributes: {
        CloneStep: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
      },
    });

    const started = Date.now();
    const result = await runSetup(namespace);

    assert.notEqual(result.exitCode, 0);
    assert.match(result.stderr, /CloneStep/);
    assert.match(result.stderr, /different type/);
    // The retry loop gives up after two minutes; a clash must not wait for it.
    assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
  });
});
