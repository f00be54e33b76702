import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { execa } from 'execa';
import { replayHistories, type ReplayVerdict } from '../worker/replay-histories.js';
import { HISTORIES_DIR, readRecordedHistories } from './fixtures/histories.js';

// Recorded clone histories replay against this build's workflow code, so a change that would
// break clones running during a deploy fails here, in CI, and not on the fleet.

const CLI = fileURLToPath(new URL('../client/cli/main.js', import.meta.url));
const CHANGED_WORKFLOW = fileURLToPath(
  new URL('./replay/changed-clone-workflow.js', import.meta.url)
);

// The part of a history that shows a patch: the marker `patched()` records.
interface MarkedHistory {
  events?: { markerRecordedEventAttributes?: { markerName?: string | null } | null }[] | null;
}

// The runs an operator meets most: each must keep replaying for as long as such clones may run.
const REPRESENTATIVE = [
  'clone-succeeds-after-pull.json',
  'stale-cache-force-pulled.json',
  'digest-unavailable.json',
  'node-unavailable.json',
  'cancelled-mid-pull.json',
];

describe('recorded clone histories', () => {
  test('include the representative runs', async () => {
    const files = (await readRecordedHistories()).map((history) => history.file);
    for (const name of REPRESENTATIVE) assert.ok(files.includes(name), `${name} is recorded`);
  });

  test('cover both sides of every patch: recorded before it and after it', async () => {
    const histories = await readRecordedHistories();
    const patchedBy = (history: (typeof histories)[number]) =>
      ((history.history as MarkedHistory).events ?? []).some(
        (event) => event.markerRecordedEventAttributes?.markerName === 'core_patch'
      );

    const late = histories.filter((h) => h.file.endsWith('.late-watch.json'));
    assert.ok(late.length >= 3, 'histories recorded after the late-watch patch');
    for (const history of late) assert.ok(patchedBy(history), `${history.file} carries the patch`);
    for (const name of REPRESENTATIVE) {
      const before = histories.find((h) => h.file === name);
      assert.ok(before && !patchedBy(before), `${name} predates every patch`);
    }
  });

  test('every one replays against the current workflow code', async () => {
    const histories = await readRecordedHistories();
    const verdicts = await replayHistories(histories, () => undefined);

    assert.equal(verdicts.length, histories.length);
    const broken = verdicts.filter((verdict) => verdict.outcome !== 'ok');
    assert.deepEqual(broken, [], 'histories that no longer replay');
  });

  test('a workflow that issues other commands is reported as nondeterministic', async () => {
    const histories = await readRecordedHistories();
    const success = histories.filter((h) => h.file === 'clone-succeeds-after-pull.json');
    const verdicts: ReplayVerdict[] = await replayHistories(success, () => undefined, {
      workflowsPath: CHANGED_WORKFLOW,
    });

    assert.equal(verdicts.length, 1);
    assert.equal(verdicts[0]?.outcome, 'nondeterminism', verdicts[0]?.message);
  });

  test('cocoon-flow replay --file prints one line per history and exits 0 when all replay', async () => {
    const files = REPRESENTATIVE.map((name) => `${HISTORIES_DIR}${name}`);
    const result = await execa(
      process.execPath,
      [CLI, 'replay', ...files.flatMap((file) => ['--file', file])],
      { reject: false }
    );

    assert.equal(result.exitCode, 0, result.stderr);
    const lines = result.stdout.trim().split('\n');
    assert.equal(lines.length, REPRESENTATIVE.length, result.stdout);
    for (const line of lines) assert.match(line, /^ok\s+clone\//);
  });

  test('cocoon-flow replay --file of something else fails with a clear error', async () => {
    const result = await execa(process.execPath, [CLI, 'replay', '--file', CLI], { reject: false });
    assert.equal(result.exitCode, 1);
    assert.match(result.stderr, new RegExp(`^Error: cannot read history file ${CLI}: `, 'm'));
  });
});
