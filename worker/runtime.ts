import { Runtime } from '@temporalio/worker';
import { createJsonLogger } from './logging.js';

// The worker process's Temporal runtime, installed once before any connection: JSON log lines
// on stderr, and when an address is set, a Prometheus endpoint with Temporal's worker metrics
// and cocoon-flow's own (clones, pulls, bytes pulled, verify time).

export function installWorkerRuntime(options: { metricsAddress: string }): void {
  Runtime.install({
    logger: createJsonLogger('INFO'),
    telemetryOptions:
      options.metricsAddress === ''
        ? undefined
        : {
            metrics: {
              prometheus: {
                bindAddress: options.metricsAddress,
                // Prometheus naming: counters end in _total, durations are in seconds.
                countersTotalSuffix: true,
                useSecondsForDurations: true,
              },
            },
          },
  });
}
