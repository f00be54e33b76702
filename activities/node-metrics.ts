import type { MetricMeter } from '@temporalio/common';

// The node's own figures, exported beside Temporal's worker metrics on the worker's Prometheus
// endpoint. They count work done once per node (one download or one hash shared by many
// clones counts once), so they show what the node and the registry really did.

export type PullOutcome = 'ok' | 'failed' | 'stalled' | 'cancelled';

export class NodeMetrics {
  private readonly pulls;
  private readonly pulledBytes;
  private readonly verifySeconds;

  constructor(meter: MetricMeter) {
    this.pulls = meter.createCounter('cocoon_flow_pulls', 'pulls', 'Downloads run by cocoon');
    this.pulledBytes = meter.createCounter(
      'cocoon_flow_pulled_bytes',
      'bytes',
      'Bytes of base images downloaded'
    );
    this.verifySeconds = meter.createHistogram(
      'cocoon_flow_verify_seconds',
      'float',
      's',
      'Time to hash a base image blob'
    );
  }

  pullEnded(outcome: PullOutcome, bytes: number): void {
    this.pulls.add(1, { outcome });
    if (outcome === 'ok') this.pulledBytes.add(bytes);
  }

  blobHashed(seconds: number, verdict: string): void {
    this.verifySeconds.record(seconds, { verdict });
  }
}
