import type { WorkflowHandle } from '@temporalio/client';
import { execa } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cloneStatusQuery } from '../common/status.js';
import { SIMULATOR_PATH } from '../test/cocoon-sim/paths.js';
import { CloneFixture } from '../test/support/clone-fixture.js';
import { makeQcow2Image } from './large-image.js';
import { ratio, type BenchResult } from './report.js';
import { summarize, timeMs } from './stats.js';
import { pullAndVerifyMs } from './pull-verify.js';
import { cpuNow, cpuSpent } from './cpu.js';

// One download for many: clones on one node that all need the same missing image at once.
// The registry must serve the image once, and the whole burst must take about as long as one
// clone that has to pull alone.
//
// A burst of the same size whose image is already on its node runs in the same fixture: it is
// what the burst costs without any download (the restores), so what the missing image adds to
// a burst can be set against what it adds to one clone.

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
    const startBurst = async (node: string, prefix: string) => {
      const handles: WorkflowHandle[] = [];
      const ms = await timeMs(async () => {
        for (let i = 0; i < clones; i++) {
          handles.push(
            await fixture.client.start({ node, vmName: `${prefix}-${i}`, snapshot: 'many-hot' })
          );
        }
        await Promise.all(handles.map((handle) => fixture.client.result(handle)));
      });
      return { ms, handles };
    };

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

    // The same burst with the image already on its node: restores only.
    const ready = await fixture.node();
    await ready.cocoonRun(['image', 'pull', url]);
    await ready.importSnapshot('many-hot', { image: url, digest });
    const present = await startBurst(ready.name, 'ready');

    const busy = await fixture.node();
    await busy.importSnapshot('many-hot', { image: url, digest });
    fixture.registry.resetStats();
    const before = await cpuNow(undefined);
    const missing = await startBurst(busy.name, 'many');
    const cocoonCpuSeconds = cpuSpent(before, await cpuNow(undefined)).children;
    const burstImageMs = Math.max(...(await Promise.all(missing.handles.map(imageStepsMs))));
    const served = fixture.registry.bytesSent(downloads);
    const requests = fixture.registry.requestCount(downloads);

    const addedByImage = missing.ms - present.ms;
    const commandMs = await vmCommandMs(options.realCocoon);
    return {
      name: `3. One download for many (${clones} clones, ${mib} MiB)`,
      goal: "bytes served exactly 1.0 times the image; wall time at most 1.2 times one clone's slow path",
      met: served === size && missing.ms <= 1.2 * singleMs,
      header: ['', 'value', 'vs baseline'],
      rows: [
        ['one clone alone, slow path (baseline)', seconds(singleMs), ''],
        ['its pull and verify steps', seconds(singleImageMs), ''],
        [
          `${clones} clones at once, image missing`,
          seconds(missing.ms),
          `${ratio(missing.ms, singleMs)} the single clone (goal ≤ 1.2×)`,
        ],
        [`${clones} clones at once, image already present`, seconds(present.ms), ''],
        [
          'what the missing image added to the burst',
          seconds(addedByImage),
          `${ratio(addedByImage, singleImageMs)} one clone's pull and verify`,
        ],
        [
          `pull and verify steps, slowest of the ${clones}`,
          seconds(burstImageMs),
          ratio(burstImageMs, singleImageMs),
        ],
        [
          'bytes the registry served for the burst',
          `${served} in ${requests} request(s)`,
          `${ratio(served, size)} the image (goal = 1.0×)`,
        ],
      ],
      notes: [
        'Each burst starts every clone at once through the client; in the missing-image burst each clone finds the blob missing, and the worker joins them onto one download and one hash.',
        `The missing-image burst's cocoon commands (${clones} × snapshot inspect, vm inspect, vm clone, vm inspect after the shared pull) took ${cocoonCpuSeconds.toFixed(1)} s of CPU on this 2-core machine. The VM commands run in the cocoon simulator (Cloud Hypervisor cannot run here), a Node program: one \`vm list\` costs ${commandMs.simulator.toFixed(0)} ms${commandMs.real === undefined ? '' : ` against ${commandMs.real.toFixed(0)} ms for the real cocoon`}. So the ${3 * clones} VM commands of a burst queue for the two cores whether or not the image is missing, which is what the present-image burst measures; the slowest clone's pull and verify steps include waiting for cores the other clones' restores hold.`,
      ],
    };
  } finally {
    await fixture.stop();
  }
}

// The median wall time of one cheap VM command, `vm list` on an empty root, in the simulator
// and (when given) the real cocoon binary.
async function vmCommandMs(realCocoon?: string): Promise<{ simulator: number; real?: number }> {
  const root = await mkdtemp(join(tmpdir(), 'cocoon-cost-'));
  try {
    const median = async (binary: string) => {
      const samples: number[] = [];
      for (let i = 0; i < 9; i++) {
        samples.push(
          await timeMs(() =>
            execa(binary, [
              '--root-dir',
              join(root, 'root'),
              '--run-dir',
              join(root, 'run'),
              'vm',
              'list',
            ])
          )
        );
      }
      return summarize(samples).median;
    };
    return {
      simulator: await median(SIMULATOR_PATH),
      real: realCocoon === undefined ? undefined : await median(realCocoon),
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

async function imageStepsMs(handle: WorkflowHandle): Promise<number> {
  return pullAndVerifyMs(await handle.query(cloneStatusQuery));
}
