import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FlowSettings } from '../../common/config/settings.js';

// What the deployment files (compose, systemd, the DaemonSet) are checked against: where each
// variable a worker may be given lands in its settings, as the text it was given.

export const SETTING_OF_VARIABLE: Record<string, (settings: FlowSettings) => string | undefined> = {
  TEMPORAL_ADDRESS: (s) => s.temporal.address,
  TEMPORAL_NAMESPACE: (s) => s.temporal.namespace,
  TEMPORAL_TLS_CLIENT_CERT_PATH: (s) => s.temporal.tls?.certPath,
  TEMPORAL_TLS_CLIENT_KEY_PATH: (s) => s.temporal.tls?.keyPath,
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: (s) => s.temporal.tls?.caPath,
  TEMPORAL_TLS_SERVER_NAME: (s) => s.temporal.tls?.serverName,
  TEMPORAL_API_KEY: (s) => s.temporal.apiKey,
  COCOON_FLOW_NODE: (s) => s.node,
  COCOON_FLOW_COCOON_BINARY: (s) => s.cocoon.binary,
  COCOON_FLOW_ROOT_DIR: (s) => s.cocoon.rootDir,
  COCOON_FLOW_RUN_DIR: (s) => s.cocoon.runDir,
  COCOON_FLOW_LEDGER_DIR: (s) => s.ledgerDir,
  COCOON_FLOW_REGISTRIES: (s) => s.registries.join(','),
  COCOON_FLOW_PULL_STALL_SECONDS: (s) => String(s.pullStallSeconds),
  COCOON_FLOW_METRICS_ADDRESS: (s) => s.metricsAddress,
};

/**
 * Variables for the worker's process rather than its settings, with the value every deployment
 * file must give: two glibc malloc arenas keep the worker's many threads from holding memory.
 */
export const PROCESS_VARIABLES: Record<string, string> = { MALLOC_ARENA_MAX: '2' };

/** A path in the repository, from compiled tests in dist/test/. */
export function repoPath(relative: string): string {
  return fileURLToPath(new URL(`../../../${relative}`, import.meta.url));
}

export async function repoText(relative: string): Promise<string> {
  return readFile(repoPath(relative), 'utf8');
}
