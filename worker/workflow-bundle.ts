import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Workflow code is bundled once at build time (npm run build) so a worker starts in about a
// second instead of spending its start-up running webpack. A bundle older than the compiled
// workflow code (a developer ran only tsc) is ignored and the worker bundles on start, so a
// worker never runs stale workflow code.

export const WORKFLOW_BUNDLE_PATH = fileURLToPath(
  new URL('../workflow-bundle.js', import.meta.url)
);
export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.js', import.meta.url));
const WORKFLOW_SOURCE_DIRS = ['../workflows/', '../common/'].map((dir) =>
  fileURLToPath(new URL(dir, import.meta.url))
);

export function workflowSource():
  { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  const fresh =
    existsSync(WORKFLOW_BUNDLE_PATH) &&
    statSync(WORKFLOW_BUNDLE_PATH).mtimeMs >= newestSourceMtime(WORKFLOW_SOURCE_DIRS);
  return fresh
    ? { workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH } }
    : { workflowsPath: WORKFLOWS_PATH };
}

function newestSourceMtime(dirs: string[]): number {
  let newest = 0;
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir, { recursive: true }) as string[]) {
      if (name.endsWith('.js')) newest = Math.max(newest, statSync(join(dir, name)).mtimeMs);
    }
  }
  return newest;
}
