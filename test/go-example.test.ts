import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { CloneFixture } from './support/clone-fixture.js';

// The Go example in the README, built with the real Temporal Go SDK, starts a clone by
// workflow type name on the same dev server as the TypeScript worker serves.

const EXAMPLE_DIR = fileURLToPath(new URL('../../examples/go-start-clone/', import.meta.url));

let fixture: CloneFixture;
let buildDir: string;
let binary: string;

before(async () => {
  buildDir = await mkdtemp(join(tmpdir(), 'go-example-'));
  binary = join(buildDir, 'go-start-clone');
  const built = await execa('go', ['build', '-o', binary, '.'], {
    cwd: EXAMPLE_DIR,
    reject: false,
    timeout: 540_000,
  });
  assert.equal(built.exitCode, 0, `go build of the example failed (Go is needed): ${built.stderr}`);
  fixture = await CloneFixture.start();
});

after(async () => {
  await fixture?.stop();
  await rm(buildDir, { recursive: true, force: true });
});

describe('the Go example', () => {
  test('starts cloneVM by type name and prints the VM record', async () => {
    const node = await fixture.node();
    const image = await fixture.push('go/base', 'base-v1');
    await node.importSnapshot('go-hot', image);

    const run = async () =>
      execa(binary, ['--node', node.name, '--name', 'go-vm', '--request-id', 'pod-go', 'go-hot'], {
        env: { TEMPORAL_ADDRESS: fixture.env.address },
        reject: false,
        timeout: 120_000,
      });
    const first = await run();
    const second = await run();

    assert.equal(first.exitCode, 0, first.stderr);
    const vm = JSON.parse(first.stdout) as { id: string; state: string; config: { name: string } };
    assert.equal(vm.config.name, 'go-vm');
    assert.equal(vm.state, 'running');
    assert.equal((JSON.parse(second.stdout) as { id: string }).id, vm.id, 'a repeated start joins');
  });
});
