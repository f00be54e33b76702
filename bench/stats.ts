// Summaries of repeated measurements. Machines here are shared and noisy, so benchmarks report
// medians and spread, and compare ratios measured in the same run, never absolute times alone.

export interface Summary {
  count: number;
  median: number;
  p99: number;
  min: number;
  max: number;
  /** Half the distance between the 25th and 75th percentiles: the spread around the median. */
  halfIqr: number;
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new RangeError('no samples to summarize');
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    count: sorted.length,
    median: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    min: sorted[0] ?? 0,
    max: sorted.at(-1) ?? 0,
    halfIqr: (percentile(sorted, 75) - percentile(sorted, 25)) / 2,
  };
}

/** Nearest-rank percentile of already sorted samples. */
export function percentile(sorted: readonly number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? 0;
}

/** `12.3 ms ± 1.1` style: the median and half the interquartile range. */
export function formatMs(summary: Summary, digits = 1): string {
  return `${summary.median.toFixed(digits)} ms ± ${summary.halfIqr.toFixed(digits)}`;
}

/** How long `work` took, in milliseconds. */
export async function timeMs(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}
