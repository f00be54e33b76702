import type { WorkflowHandle } from '@temporalio/client';
import { cloneStatusQuery, type CloneStep } from '../../common/status.js';
import type { SimulatedNode } from './simulated-node.js';

// Tests wait for real things to happen (a step, a download, a process), never for fixed times.

export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 60_000
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Until the clone reports `step` as its current step. */
export function waitForStep(handle: WorkflowHandle, step: CloneStep): Promise<void> {
  return waitFor(
    async () => (await handle.query(cloneStatusQuery)).step === step,
    `the clone to reach ${step}`
  );
}

/** Until cocoon on `node` has started writing a download into its temp dir. */
export function waitForDownload(node: SimulatedNode): Promise<void> {
  return waitFor(
    async () => (await node.tempFiles()).some((name) => name.startsWith('pull-')),
    'the download to start'
  );
}
