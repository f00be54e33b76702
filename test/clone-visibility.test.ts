import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { workflowMetadataQuery } from '@temporalio/workflow';
import { CloneCancelledError, CloneFailedError } from '../client/clone-errors.js';
import { FailureType } from '../common/failures.js';
import {
  CLONE_BASE_DIGEST,
  CLONE_FAILURE_TYPE,
  CLONE_NODE,
  CLONE_OUTCOME,
  CLONE_SNAPSHOT,
  CLONE_STEP,
} from '../common/search-attributes.js';
import { readFixtureImage } from './fixtures/images.js';
import { CloneFixture } from './support/clone-fixture.js';
import type { SimulatedNode } from './support/simulated-node.js';
import { waitFor, waitForDownload } from './support/wait.js';

// What an operator sees of a clone in the Web UI and through visibility queries: search
// attributes on every ending, a summary and details, activity summaries, current details, and
// the pull's progress in its heartbeats.

let fixture: CloneFixture;
let node: SimulatedNode;

before(async () => {
  fixture = await CloneFixture.start();
  node = await fixture.node();
});

after(async () => {
  await fixture?.stop();
});

// Every clone attribute is a Keyword, so one key type serves them all.
async function attribute(handle: WorkflowHandle, key: typeof CLONE_NODE): Promise<unknown> {
  return (await handle.describe()).typedSearchAttributes.get(key);
}

async function activitySummaries(handle: WorkflowHandle): Promise<string[]> {
  const history = await handle.fetchHistory();
  return (history.events ?? [])
    .filter((event) => event.activityTaskScheduledEventAttributes)
    .map((event) => {
      const summary = event.userMetadata?.summary;
      return summary ? String(defaultPayloadConverter.fromPayload(summary)) : '';
    });
}

/** Until a visibility query finds exactly the given workflow ids (visibility lags a little). */
async function waitForListing(query: string, expected: string[]): Promise<void> {
  await waitFor(
    async () => {
      const found: string[] = [];
      for await (const execution of fixture.env.client.workflow.list({ query })) {
        found.push(execution.workflowId);
      }
      return found.sort().join(',') === [...expected].sort().join(',');
    },
    `visibility to list ${expected.join(', ')} for ${query}`
  );
}

describe('a clone that succeeds', () => {
  test('carries node, snapshot, digest, step and outcome, a summary and activity summaries', async () => {
    const image = await fixture.push('seen/base', 'base-v1');
    await node.importSnapshot('seen-hot', image);
    const handle = await fixture.client.start({
      node: node.name,
      vmName: 'seen-vm',
      snapshot: 'seen-hot',
    });
    await fixture.client.result(handle);

    assert.equal(await attribute(handle, CLONE_NODE), node.name);
    assert.equal(await attribute(handle, CLONE_SNAPSHOT), 'seen-hot');
    assert.equal(await attribute(handle, CLONE_BASE_DIGEST), image.digest);
    assert.equal(await attribute(handle, CLONE_STEP), 'done');
    assert.equal(await attribute(handle, CLONE_OUTCOME), 'succeeded');
    assert.equal(await attribute(handle, CLONE_FAILURE_TYPE), undefined);

    const description = await handle.describe();
    assert.equal(
      await description.staticSummary(),
      `clone VM seen-vm from snapshot seen-hot on ${node.name}`
    );
    assert.match((await description.staticDetails()) ?? '', /\*\*snapshot\*\*: `seen-hot`/);

    const summaries = await activitySummaries(handle);
    assert.ok(summaries.includes(`force pull ${image.url} on ${node.name}`), summaries.join('\n'));
    assert.ok(summaries.includes(`verify sha256 of ${image.digest} on ${node.name}`));
    assert.ok(summaries.includes(`restore VM seen-vm from seen-hot on ${node.name}`));

    const metadata = await handle.query(workflowMetadataQuery);
    assert.match(metadata.currentDetails ?? '', /^\*\*done\*\*/);
    assert.match(metadata.currentDetails ?? '', /\| restore \|/);

    await waitForListing(`CloneNode = '${node.name}' AND CloneOutcome = 'succeeded'`, [
      handle.workflowId,
    ]);
  });
});

describe('a clone that fails', () => {
  test('ends with outcome failed, its step, and its failure type', async () => {
    const served = await fixture.push('unseen/base', 'base-v1');
    const pinned = `sha256:${createHash('sha256').update('never pushed').digest('hex')}`;
    await node.importSnapshot('unseen-hot', { image: served.url, digest: pinned });
    const handle = await fixture.client.start({
      node: node.name,
      vmName: 'unseen-vm',
      snapshot: 'unseen-hot',
    });
    await assert.rejects(fixture.client.result(handle), CloneFailedError);

    assert.equal(await attribute(handle, CLONE_OUTCOME), 'failed');
    assert.equal(await attribute(handle, CLONE_STEP), 'failed');
    assert.equal(await attribute(handle, CLONE_FAILURE_TYPE), FailureType.DigestUnavailable);
    assert.equal(await attribute(handle, CLONE_BASE_DIGEST), pinned);
    const metadata = await handle.query(workflowMetadataQuery);
    assert.match(metadata.currentDetails ?? '', /Failed: \*\*DigestUnavailable\*\*/);

    await waitForListing(`CloneFailureType = '${FailureType.DigestUnavailable}'`, [
      handle.workflowId,
    ]);
  });
});

describe('a clone cancelled mid-pull', () => {
  test('reports its download progress with the total, then ends with outcome cancelled', async () => {
    const image = await fixture.push('slow-seen/base', 'base-v2');
    fixture.registry.injectFault(
      { route: 'download', repo: 'slow-seen/base' },
      { kind: 'slow', bytesPerSecond: 50_000 }
    );
    await node.importSnapshot('slow-seen-hot', image);
    const handle = await fixture.client.start({
      node: node.name,
      vmName: 'slow-seen-vm',
      snapshot: 'slow-seen-hot',
    });
    await waitForDownload(node);

    let details: { bytesDownloaded?: number; totalBytes?: number } = {};
    await waitFor(async () => {
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      const payload = pending.find((a) => a.activityType?.name === 'pullCloudImage')
        ?.heartbeatDetails?.payloads?.[0];
      details = payload ? (defaultPayloadConverter.fromPayload(payload) as typeof details) : {};
      return (details.bytesDownloaded ?? 0) > 0;
    }, 'a heartbeat with download progress');
    // The registry's manifest gives the size before a byte is downloaded.
    assert.equal(details.totalBytes, (await readFixtureImage('base-v2')).length);
    assert.ok((details.bytesDownloaded ?? 0) < (details.totalBytes ?? 0));

    await handle.cancel();
    await assert.rejects(fixture.client.result(handle), CloneCancelledError);
    assert.equal(await attribute(handle, CLONE_OUTCOME), 'cancelled');
    assert.equal(await attribute(handle, CLONE_STEP), 'cancelled');
  });
});
