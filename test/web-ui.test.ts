import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { CloneFailedError } from '../client/clone-errors.js';
import { FailureType } from '../common/failures.js';
import { cloneWorkflowId } from '../common/names.js';
import type { CloneRequest } from '../common/request.js';
import { CLONE_STEP } from '../common/search-attributes.js';
import { launchChromium, saveScreenshot } from './support/browser.js';
import { CloneFixture } from './support/clone-fixture.js';
import type { SimulatedNode } from './support/simulated-node.js';
import { freePort } from './support/free-port.js';
import { waitFor } from './support/wait.js';

// What an operator does in the dev server's Web UI, in a real headless Chromium: list the
// clones of one node through the CloneNode search attribute, open the one that failed, and
// read its failure type and message there. Screenshots go to test-artifacts/web-ui/.

const SCREENSHOTS = 'web-ui';

// The UI loads its data with several requests after the page itself; each wait is for the
// element that shows the data, up to this long.
const UI_TIMEOUT_MS = 30_000;

let fixture: CloneFixture;
let browser: Browser;
let page: Page;
let uiUrl: string;
let nodeA: SimulatedNode;
let succeededOnA: string;
let failedOnA: CloneFailedError;
let succeededOnB: string;

before(async () => {
  const uiPort = await freePort();
  fixture = await CloneFixture.start({ ui: true, uiPort });
  uiUrl = `http://127.0.0.1:${uiPort}`;

  nodeA = await fixture.node();
  const nodeB = await fixture.node();
  const image = await fixture.push('ui/base', 'base-v1');
  await nodeA.importSnapshot('ui-hot', image);
  await nodeB.importSnapshot('ui-hot', image);
  // A digest the registry never served: the clone fails with DigestUnavailable.
  const lost = `sha256:${createHash('sha256').update('never pushed').digest('hex')}`;
  await nodeA.importSnapshot('ui-lost', { image: image.url, digest: lost });

  succeededOnA = await cloneOn(nodeA, 'vm-ok', 'ui-hot');
  failedOnA = await failingCloneOn(nodeA, 'vm-lost', 'ui-lost');
  succeededOnB = await cloneOn(nodeB, 'vm-ok', 'ui-hot');

  // Visibility lags a closed clone by a moment; the UI reads the same index.
  await waitForVisibleClones(`CloneNode="${nodeA.name}"`, 2);
  await waitForVisibleClones(`CloneNode="${nodeB.name}"`, 1);

  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.setDefaultTimeout(UI_TIMEOUT_MS);
});

after(async () => {
  await browser?.close();
  await fixture?.stop();
});

describe('the Temporal Web UI', () => {
  test('lists the clones of one node, filtered by the CloneNode search attribute', async () => {
    await withScreenshot('clones-of-node-a', async () => {
      await openClonesOf(nodeA);

      // The query became a CloneNode filter, not free text the UI ignored.
      await filterChip('CloneNode', nodeA.name).waitFor();
      await workflowLink(succeededOnA).waitFor();
      await workflowLink(failedOnA.workflowId).waitFor();

      const rows = await page.getByTestId('workflows-summary-configurable-table-row').all();
      assert.equal(rows.length, 2, 'only the two clones of node A are listed');
      assert.equal(await workflowLink(succeededOnB).count(), 0, "node B's clone is not listed");
    });
  });

  test("opens the failed clone and shows its failure's type and message", async () => {
    await withScreenshot('failed-clone', async () => {
      await openFailedClone();

      // The Result panel is the closing event's attributes as JSON: the message verbatim,
      // and the application failure's type.
      const result = page.getByTestId('input-and-result');
      await result.filter({ hasText: `"message": ${JSON.stringify(failedOnA.message)}` }).waitFor();
      await result.filter({ hasText: `"type": ${JSON.stringify(failedOnA.type)}` }).waitFor();
    });
  });

  test("shows the failed clone's step and failure in its Current Details", async () => {
    await withScreenshot('failed-clone-current-details', async () => {
      await openFailedClone();
      await page.getByTestId('user-metadata-tab').click();

      // The UI asks a worker for the details and renders their markdown in a frame; they lead
      // with the step in bold, the one the clone's CloneStep attribute names.
      const details = currentDetails();
      const step = await cloneStep(failedOnA.workflowId);
      await details
        .locator('strong', { hasText: new RegExp(`^${step}$`) })
        .first()
        .waitFor();
      await details.locator('strong', { hasText: failedOnA.type }).waitFor();
    });
  });
});

async function cloneOn(node: SimulatedNode, vmName: string, snapshot: string): Promise<string> {
  const req = cloneRequest(node, vmName, snapshot);
  await fixture.client.clone(req);
  return cloneWorkflowId(req.node, req.vmName, req.requestId);
}

async function failingCloneOn(
  node: SimulatedNode,
  vmName: string,
  snapshot: string
): Promise<CloneFailedError> {
  const error = await fixture.client.clone(cloneRequest(node, vmName, snapshot)).then(
    () => assert.fail(`expected the clone of ${snapshot} to fail`),
    (e: unknown) => e
  );
  assert.ok(error instanceof CloneFailedError, `expected CloneFailedError, got ${String(error)}`);
  assert.equal(error.type, FailureType.DigestUnavailable, error.message);
  return error;
}

function cloneRequest(node: SimulatedNode, vmName: string, snapshot: string): CloneRequest {
  return { node: node.name, vmName, snapshot, requestId: `pod-${vmName}` };
}

async function waitForVisibleClones(query: string, count: number): Promise<void> {
  await waitFor(async () => {
    let closed = 0;
    for await (const execution of fixture.env.client.workflow.list({ query })) {
      if (execution.status.name !== 'RUNNING') closed += 1;
    }
    return closed === count;
  }, `${count} closed clones to match ${query}`);
}

/** The workflow list with a visibility query in its URL, as a shared link would open it. */
async function openClonesOf(node: SimulatedNode): Promise<void> {
  const query = encodeURIComponent(`CloneNode="${node.name}"`);
  await page.goto(
    `${uiUrl}/namespaces/${fixture.env.namespace ?? 'default'}/workflows?query=${query}`
  );
}

/** From node A's list to the failed clone's page, as an operator would click through. */
async function openFailedClone(): Promise<void> {
  await openClonesOf(nodeA);
  await workflowLink(failedOnA.workflowId).click();
  await page.getByTestId('workflow-id-heading').filter({ hasText: failedOnA.workflowId }).waitFor();
}

// The button that opens a filter of the list: the attribute's name and the value it matches.
function filterChip(attribute: string, value: string) {
  return page.locator(`[aria-controls^="dropdown-filter-chip-${attribute}-"]`, { hasText: value });
}

function workflowLink(workflowId: string) {
  return page.getByRole('link', { name: workflowId, exact: true });
}

// The frame under the "Current Details" heading (Summary and Details have frames of their own).
function currentDetails() {
  return page
    .getByRole('heading', { name: 'Current Details' })
    .locator('xpath=ancestor::div[.//iframe][1]')
    .locator('iframe')
    .contentFrame();
}

async function cloneStep(workflowId: string): Promise<string> {
  const description = await fixture.env.client.workflow.getHandle(workflowId).describe();
  const step = description.typedSearchAttributes.get(CLONE_STEP);
  assert.ok(step, `${workflowId} has no CloneStep`);
  return step;
}

// The screenshot is taken whether the check passed or not: a failing one is the more useful.
async function withScreenshot(name: string, check: () => Promise<void>): Promise<void> {
  try {
    await check();
  } finally {
    await saveScreenshot(page, SCREENSHOTS, name);
  }
}
