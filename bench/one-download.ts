import { CloneFixture } from '../test/support/clone-fixture.js';
import { makeQcow2Image } from './large-image.js';
import { ratio, type BenchResult } from './report.js';
import { timeMs } from './stats.js';

// One download for many: clones on one node that all need the same missing image at once.
// The registry must serve the image once, and the whole burst must take about as long as one
// clone that has to pull alone.

export async function benchOneDownload(
  options: { mib?: number; clones?: number } = {}
): Promise<BenchResult> {
  const mib = options.mib ?? 512;
  const clones = options.clones ?? 50;
  const fixture = await CloneFixture.start();
  try {
    const image = await makeQcow2Image(mib);
    const { digest, size } = fixture.registry.pushCloudImage('bench/many', image);
    const url = fixture.registry.downloadUrl('bench/many');
    const downloads = { route: 'download' as const, repo: 'bench/many' };

    // One clone alone on a fresh node: the slow path the burst is compared with.
    const single = await fixture.node();
    await single.importSnapshot('many-hot', { image: url, digest });
    const singleMs = await timeMs(() =>
      fixture.client.clone({ node: single.name, vmName: 'alone', snapshot: 'many-hot' })
    );

    const busy = await fixture.node();
    await busy.importSnapshot('many-hot', { image: url, digest });
    fixture.registry.resetStats();
    const burstMs = await timeMs(() =>
      Promise.all(
        Array.from({ length: clones }, (_, i) =>
          fixture.client.clone({ node: busy.name, vmName: `many-${i}`, snapshot: 'many-hot' })
        )
      )
    );
    const served = fixture.registry.bytesSent(downloads);
    const requests = fixture.registry.requestCount(downloads);

    return {
      name: `3. One download for many (${clones} clones, ${mib} MiB)`,
      goal: "bytes served exactly 1.0 times the image; wall time at most 1.2 times one clone's slow path",
      met: served === size && burstMs <= 1.2 * singleMs,
      header: ['', 'value', 'vs goal'],
      rows: [
        ['one clone alone, slow path (baseline)', seconds(singleMs), ''],
        [
          `${clones} clones at once, same node`,
          seconds(burstMs),
          `${ratio(burstMs, singleMs)} (≤ 1.2×)`,
        ],
        [
          'bytes the registry served for the burst',
          `${served} in ${requests} request(s)`,
          `${ratio(served, size)} the image (= 1.0×)`,
        ],
      ],
      notes: [
        'The burst starts every clone at once through the client; each one finds the blob missing, and the worker joins them onto one download and one hash.',
      ],
    };
  } finally {
    await fixture.stop();
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}
