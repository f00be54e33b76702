import { bundleWorkflowCode } from '@temporalio/worker';
import { writeFile } from 'node:fs/promises';
import { WORKFLOW_BUNDLE_PATH, WORKFLOWS_PATH } from './workflow-bundle.js';

// Build step: writes the workflow bundle next to the compiled code.
const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger() });
await writeFile(WORKFLOW_BUNDLE_PATH, code);

function quietLogger() {
  const ignore = () => undefined;
  return {
    trace: ignore,
    debug: ignore,
    info: ignore,
    warn: console.warn,
    error: console.error,
    log: ignore,
  };
}
