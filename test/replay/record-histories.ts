// `npm run record-histories`: runs representative clones against a real dev server, registry
// and worker, and writes the history of each to test/fixtures/histories/. A history already
// recorded is never written again; to record a scenario anew, add it under a new name.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { historyFileContent } from '../../worker/history-file.js';
import { HISTORIES_DIR } from '../fixtures/histories.js';
import { CloneFixture } from '../support/clone-fixture.js';
import { waitForDownload } from '../support/wait.js';

interface Recording {
  name: string;
  /** Starts the clone; the recorder waits for it to end however it ends. */
  run(fixture: CloneFixture): Promise<WorkflowHandle>;
}

const SCENARIOS: Recording[] = [
  {
    name: 'clone-succeeds-after-pull',
    async run(fixture) {
      const node = await fixture.node();
      const image = await fixture.push('history/fresh', 'base-v1');
      await node.importSnapshot('fresh-hot', image);
      return fixture.client.start({ node: node.name, vmName: 'fresh-vm', snapshot: 'fresh-hot' });
    },
  },
  {
    name: 'clone-succeeds-blob-already-present',
    async run(fixture) {
      const node = await fixture.node();
      const image = await fixture.push('history/present', 'base-v1');
      await node.cocoonRun(['image', 'pull', image.url]);
      await node.importSnapshot('present-hot', image);
      return fixture.client.start({
        node: node.name,
        vmName: 'present-vm',
        snapshot: 'present-hot',
      });
    },
  },
  {
    // The incident: the node's cache holds the URL's old image, the snapshot pins the new one.
    name: 'stale-cache-force-pulled',
    async run(fixture) {
      const node = await fixture.node();
      const old = await fixture.push('history/stale', 'base-v1');
      await node.cocoonRun(['image', 'pull', old.url]);
      const current = await fixture.push('history/stale', 'base-v2');
      await node.importSnapshot('stale-hot', current);
      return fixture.client.start({ node: node.name, vmName: 'stale-vm', snapshot: 'stale-hot' });
    },
  },
  {
    name: 'tag-moved-pulled-by-digest',
    async run(fixture) {
      const node = await fixture.node();
      const pinned = await fixture.push('history/moved', 'base-v1');
      await fixture.push('history/moved', 'base-v2');
      await node.importSnapshot('moved-hot', pinned);
      return fixture.client.start({ node: node.name, vmName: 'moved-vm', snapshot: 'moved-hot' });
    },
  },
  {
    name: 'digest-unavailable',
    async run(fixture) {
      const node = await fixture.node();
      const served = await fixture.push('history/lost', 'base-v1');
      const pinned = `sha256:${createHash('sha256').update('never pushed').digest('hex')}`;
      await node.importSnapshot('lost-hot', { image: served.url, digest: pinned });
      return fixture.client.start({ node: node.name, vmName: 'lost-vm', snapshot: 'lost-hot' });
    },
  },
  {
    name: 'node-unavailable',
    async run(fixture) {
      const node = await fixture.node({ worker: false });
      return fixture.client.start({
        node: node.name,
        vmName: 'orphan-vm',
        snapshot: 'any',
        options: { nodeTimeoutSeconds: 3 },
      });
    },
  },
  {
    name: 'cancelled-mid-pull',
    async run(fixture) {
      const node = await fixture.node();
      const image = await fixture.push('history/cancel', 'base-v2');
      fixture.registry.injectFault(
        { route: 'download', repo: 'history/cancel' },
        { kind: 'slow', bytesPerSecond: 50_000 }
      );
      await node.importSnapshot('cancel-hot', image);
      const handle = await fixture.client.start({
        node: node.name,
        vmName: 'cancel-vm',
        snapshot: 'cancel-hot',
      });
      await waitForDownload(node);
      await handle.cancel();
      return handle;
    },
  },
];

// Each workflow change behind `patched()` records the scenarios it touches again under new
// names, so both the old and the new command sequences stay covered.
const PATCHED_AGAIN: { suffix: string; scenarios: string[] }[] = [
  {
    // The node watch starts after a short wait instead of at once.
    suffix: 'late-watch',
    scenarios: ['clone-succeeds-blob-already-present', 'node-unavailable', 'cancelled-mid-pull'],
  },
];

const RECORDINGS: Recording[] = [
  ...SCENARIOS,
  ...PATCHED_AGAIN.flatMap(({ suffix, scenarios }) =>
    SCENARIOS.filter((s) => scenarios.includes(s.name)).map((s) => ({
      ...s,
      name: `${s.name}.${suffix}`,
    }))
  ),
];

const pending = RECORDINGS.filter((r) => !existsSync(`${HISTORIES_DIR}${r.name}.json`));
if (pending.length === 0) {
  process.stdout.write('every history is recorded already; add a new name to record more\n');
} else {
  const fixture = await CloneFixture.start();
  try {
    for (const recording of pending) {
      const handle = await recording.run(fixture);
      await handle.result().catch(() => undefined);
      const history = await handle.fetchHistory();
      const file = `${HISTORIES_DIR}${recording.name}.json`;
      await writeFile(file, historyFileContent(handle.workflowId, history));
      process.stdout.write(`recorded ${file} (${history.events?.length ?? 0} events)\n`);
    }
  } finally {
    await fixture.stop();
  }
}
