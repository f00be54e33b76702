import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Workflow code is bundled once at build time (npm run build) so a worker starts in about a
// second instead of spending its start-up running webpack. Without the bundle (a developer
// running from a fresh compile) the worker bundles on start.

export const WORKFLOW_BUNDLE_PATH = fileURLToPath(
  new URL('../workflow-bundle.js', import.meta.url)
);
export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.js', import.meta.url));

export function workflowSource():
  { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  return existsSync(WORKFLOW_BUNDLE_PATH)
    ? { workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH } }
    : { workflowsPath: WORKFLOWS_PATH };
}
