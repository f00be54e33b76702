import type { WorkflowHandle } from '@temporalio/client';
import { cloneStatusQuery } from '../common/status.js';
import { CloneFixture } from '../test/support/clone-fixture.js';
import { makeQcow2Image } from './large-image.js';
import { ratio, type BenchResult } from './report.js';
import { timeMs } from './stats.js';
import { pullAndVerifyMs } from './pull-verify.js';
import { cpuNow, cpuSpent } from './cpu.js';

// One download for many: clones on one node that all need the same missing image at once.
// The registry must serve the image once, and the whole burst must take about as long as one
// clone that has to pull alone.

export async function benchOneDownload(
  options: { mib?: number; clones?: number; realCocoon?: string } = {}
): Promise<BenchResult> {
  const mib = options.mib ?? 512;
  const clones = options.clones ?? 50;
  const fixture = await CloneFixture.start({ realCocoon: options.realCocoon });
  try {
    const image = await makeQcow2Image(mib);
    const { digest, size } = fixture.registry.pushCloudImage('bench/many', image);
    const url = fixture.registry.downloadUrl('bench/many');
    const downloads = { route: 'download' as const, repo: 'bench/many' };

    // One clone alone on a fresh node: the slow path the burst is compared with.
    const single = await fixture.node();
    await single.importSnapshot('many-hot', { image: url, digest });
    let alone: WorkflowHandle | undefined;
    const singleMs = await timeMs(async () => {
      alone = await fixture.client.start({
        node: single.name,
        vmName: 'alone',
        snapshot: 'many-hot',
      });
      await fixture.client.result(alone);
    });
    const singleImageMs = await imageStepsMs(alone as WorkflowHandle);

    const busy = await fixture.node();
    await busy.importSnapshot('many-hot', { image: url, digest });
    fixture.registry.resetStats();
    const before = await cpuNow(undefined);
    const handles: WorkflowHandle[] = [];
    const burstMs = await timeMs(async () => {
      for (let i = 0; i < clones; i++) {
        handles.push(
          await fixture.client.start({ node: busy.name, vmName: `many-${i}`, snapshot: 'many-hot' })
        );
      }
      await Promise.all(handles.map((handle) => fixture.client.result(handle)));
    });
    const cocoonCpuSeconds = cpuSpent(before, await cpuNow(undefined)).children;
    const burstImageMs = Math.max(...(await Promise.all(handles.map(imageStepsMs))));
    const served = fixture.registry.bytesSent(downloads);
    const requests = fixture.registry.requestCount(downloads);

    return {
      name: `3. One download for many (${clones} clones, ${mib} MiB)`,
      goal: "bytes served exactly 1.0 times the image; wall time at most 1.2 times one clone's slow path",
      met: served === size && burstMs <= 1.2 * singleMs,
      header: ['', 'value', 'vs goal'],
      rows: [
        ['one clone alone, slow path (baseline)', seconds(singleMs), ''],
        ['its pull and verify steps', seconds(singleImageMs), ''],
        [
          `pull and verify steps, slowest of the ${clones}`,
          seconds(burstImageMs),
          ratio(burstImageMs, singleImageMs),
        ],
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
        `The burst's cocoon commands (${clones} × snapshot inspect, vm inspect, vm clone, vm inspect after the shared pull) took ${cocoonCpuSeconds.toFixed(1)} s of CPU on this 2-core machine. The cocoon simulator, which runs the VM commands${options.realCocoon === undefined ? ' and here every other command too' : ''}, is a Node program costing about 0.1 s of CPU per command; the burst's commands queue for the two cores, while the shared pull and verify take about as long as one clone's.`,
      ],
    };
  } finally {
    await fixture.stop();
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

async function imageStepsMs(handle: WorkflowHandle): Promise<number> {
  return pullAndVerifyMs(await handle.query(cloneStatusQuery));
}
