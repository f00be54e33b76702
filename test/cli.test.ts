import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { CloneFixture } from './support/clone-fixture.js';
import type { SimulatedNode } from './support/simulated-node.js';

// The cocoon-flow CLI as vk-cocoon would run it: a subprocess, with the node and Temporal
// address taken from a config file, since sudo drops the environment and vk-cocoon passes no
// node.

const CLI = fileURLToPath(new URL('../client/cli/main.js', import.meta.url));

let fixture: CloneFixture;
let node: SimulatedNode;
let configPath: string;

before(async () => {
  fixture = await CloneFixture.start();
  node = await fixture.node();
  configPath = await node.writeConfigFile({
    address: fixture.env.address,
    namespace: fixture.env.namespace ?? 'default',
  });
});

after(async () => {
  await fixture?.stop();
});

// A clean environment, as under sudo: only the config file tells the CLI where to go.
function runCli(args: string[], env: Record<string, string> = {}) {
  return execa(process.execPath, [CLI, ...args], {
    reject: false,
    extendEnv: false,
    env: { PATH: process.env.PATH ?? '', COCOON_FLOW_CONFIG: configPath, ...env },
    timeout: 120_000,
    stripFinalNewline: false,
  });
}

function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('Error: '));
}

describe('cocoon-flow clone', () => {
  test('prints the VM record as JSON, like cocoon vm clone --output json', async () => {
    const image = await fixture.push('cli/base', 'base-v1');
    await node.importSnapshot('cli-hot', image);

    const result = await runCli([
      'vm',
      'clone',
      '--output',
      'json',
      '--name',
      'cli-vm-1',
      '--cpu',
      '2',
      '--memory',
      '1073741824',
      'cli-hot',
    ]);

    assert.equal(result.exitCode, 0, result.stderr);
    const vm = JSON.parse(result.stdout) as {
      id: string;
      state: string;
      pid: number;
      config: { name: string; cpu: number };
    };
    assert.equal(vm.config.name, 'cli-vm-1');
    assert.equal(vm.state, 'running');
    assert.ok(vm.pid > 0);
    assert.ok(/^[A-Z2-7]{26}$/.test(vm.id), `cocoon id, got ${vm.id}`);
    assert.ok(result.stdout.endsWith('}\n'), 'one JSON document and a newline');
  });

  test('exits 1 with one Error line naming the failure type when the snapshot is missing', async () => {
    const result = await runCli(['clone', '-o', 'json', '--name', 'cli-vm-2', 'no-such-snapshot']);

    assert.equal(result.exitCode, 1);
    assert.equal(result.stdout, '');
    const lines = errorLines(result.stderr);
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0] ?? '', /^Error: SnapshotNotFound: .*no-such-snapshot/);
  });

  test('exits 1 with an Error line for a bad VM name, before anything starts', async () => {
    const result = await runCli(['clone', '--name', 'bad;name', 'cli-hot']);

    assert.equal(result.exitCode, 1);
    assert.match(errorLines(result.stderr)[0] ?? '', /^Error: invalid clone request: vmName/);
  });

  test('exits 1 with an Error line for an unknown flag', async () => {
    const result = await runCli(['clone', '--name', 'x', '--fc', 'cli-hot']);

    assert.equal(result.exitCode, 1);
    assert.equal(errorLines(result.stderr)[0], 'Error: unknown flag: --fc');
  });

  test('exits 1 within seconds with an Error line naming the address when Temporal is unreachable', async () => {
    const started = Date.now();
    const result = await runCli(['clone', '--name', 'cli-vm-3', 'cli-hot'], {
      TEMPORAL_ADDRESS: '127.0.0.1:1',
    });

    assert.equal(result.exitCode, 1);
    assert.match(
      errorLines(result.stderr)[0] ?? '',
      /^Error: cannot reach Temporal at 127\.0\.0\.1:1/
    );
    assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms`);
  });
});

describe('cocoon-flow status', () => {
  test("shows a finished clone's step, verification and VM", async () => {
    const result = await runCli(['status', 'cli-vm-1']);

    assert.equal(result.exitCode, 0, result.stderr);
    assert.match(result.stdout, /COMPLETED/);
    assert.match(result.stdout, /step: done/);
    assert.match(result.stdout, /base image: already-present|base image: byte-exact/);
    assert.match(result.stdout, /vm: cli-vm-1 [A-Z2-7]{26} running/);
  });

  test('shows the failure type of a failed clone', async () => {
    const result = await runCli(['status', '--output', 'json', 'cli-vm-2']);

    assert.equal(result.exitCode, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { state: string; failure: { type: string } };
    assert.equal(report.state, 'FAILED');
    assert.equal(report.failure.type, 'SnapshotNotFound');
  });
});

describe('cocoon commands cocoon-flow does not handle', () => {
  test('run the configured cocoon binary on the configured root, output and exit code unchanged', async () => {
    const found = await runCli(['snapshot', 'inspect', 'cli-hot']);
    const missing = await runCli(['vm', 'inspect', 'no-such-vm']);

    assert.equal(found.exitCode, 0, found.stderr);
    assert.equal((JSON.parse(found.stdout) as { name: string }).name, 'cli-hot');
    assert.equal(missing.exitCode, 1);
    assert.match(errorLines(missing.stderr)[0] ?? '', /VM not found/);
  });
});
