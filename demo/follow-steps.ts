import type { WorkflowHandle } from '@temporalio/client';
import { cloneStatusQuery, type CloneStatus } from '../common/status.js';
import { say } from './print.js';

// Prints each step of a running clone as it finishes, by polling the clone's status query.

const POLL_MS = 200;

export function followSteps(handle: WorkflowHandle): { stop: () => Promise<void> } {
  let printed = 0;
  let stopped = false;

  const printNew = (status: CloneStatus) => {
    for (const step of status.steps.slice(printed)) {
      if (!step.endedAt) break;
      const seconds = (Date.parse(step.endedAt) - Date.parse(step.startedAt)) / 1000;
      const note =
        step.step === 'verify' && status.verification ? `  (${status.verification})` : '';
      say(
        `     ${step.step.padEnd(15)} ${(step.outcome ?? '').padEnd(7)} ${seconds.toFixed(2)}s${note}`
      );
      printed += 1;
    }
  };

  const poll = async () => {
    while (!stopped) {
      const status = await handle.query(cloneStatusQuery).catch(() => undefined);
      if (status) printNew(status);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    const last = await handle.query(cloneStatusQuery).catch(() => undefined);
    if (last) printNew(last);
  };

  const polling = poll();
  return {
    async stop() {
      stopped = true;
      await polling;
    },
  };
}
