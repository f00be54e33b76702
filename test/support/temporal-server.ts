import { TestWorkflowEnvironment } from '@temporalio/testing';
import { CLONE_SEARCH_ATTRIBUTES } from '../../common/search-attributes.js';
import { findTemporalCli } from './temporal-cli.js';

/** A real Temporal dev server on a free loopback port, for one test file or the demo. */
export async function startTemporalDevServer(
  options: {
    ui?: boolean;
    uiPort?: number;
    dbFilename?: string;
    /** False starts a namespace without the clone search attributes, as a new server has. */
    searchAttributes?: boolean;
  } = {}
): Promise<TestWorkflowEnvironment> {
  const executable = await findTemporalCli({
    onBuild: (message) => process.stderr.write(`${message}\n`),
  });

  return TestWorkflowEnvironment.createLocal({
    server: {
      executable,
      ui: options.ui ?? false,
      uiPort: options.uiPort,
      dbFilename: options.dbFilename,
      log: { format: 'pretty', level: 'error' },
      // Registered before any clone starts, as the compose stack's setup job does.
      searchAttributes: options.searchAttributes === false ? [] : [...CLONE_SEARCH_ATTRIBUTES],
    },
  });
}
