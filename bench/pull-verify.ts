import { execa } from 'execa';
import { blobPath, hashFileInThread } from '../activities/image/blob-file.js';
import { cloneStatusQuery, type CloneStatus } from '../common/status.js';
import { CloneFixture } from '../test/support/clone-fixture.js';
import { makeQcow2Image } from './large-image.js';
import { ratio, type BenchResult } from './report.js';
import { summarize, timeMs } from './stats.js';

// Pull and verify of a 1 GiB non-sparse qcow2 v3 from the loopback registry: the workflow's
// pull and verify steps, against `cocoon image pull --force` then `openssl dgst -sha256` of the
// blob run directly, with `curl -o` then `openssl dgst` as the floor. Each repetition uses
// fresh nodes, so every side downloads the whole image.

export async function benchPullVerify(
  options: { mib?: number; repetitions?: number; realCocoon?: string } = {}
): Promise<BenchResult> {
  const mib = options.mib ?? 1024;
  const repetitions = options.repetitions ?? 5;
  const fixture = await CloneFixture.start({ realCocoon: options.realCocoon });
  try {
    const image = await makeQcow2Image(mib);
    const { digest } = fixture.registry.pushCloudImage('bench/pull', image);
    const url = fixture.registry.downloadUrl('bench/pull');

    const workflowMs: number[] = [];
    const directMs: number[] = [];
    const floorMs: number[] = [];
    const ourHashMs: number[] = [];
    const verifyStepMs: number[] = [];
    const opensslHashMs: number[] = [];
    for (let rep = 0; rep < repetitions; rep++) {
      const node = await fixture.node();
      await node.importSnapshot('pull-hot', { image: url, digest });
      const bare = await fixture.node({ worker: false });

      // The workflow: a clone on a node without the blob; its pull and verify steps, timed by
      // the workflow itself.
      const viaWorkflow = async () => {
        const handle = await fixture.client.start({
          node: node.name,
          vmName: `pull-${rep}`,
          snapshot: 'pull-hot',
        });
        await fixture.client.result(handle);
        const status = await handle.query(cloneStatusQuery);
        workflowMs.push(pullAndVerifyMs(status));
        verifyStepMs.push(stepMs(status, 'verify'));
      };

      // The baseline: the same pull by hand, then openssl over the blob.
      const direct = async () => {
        directMs.push(
          await timeMs(async () => {
            await bare.cocoonRun(['image', 'pull', '--force', url]);
            await execa('openssl', [
              'dgst',
              '-sha256',
              blobPath(bare.settings.cocoon.rootDir, digest),
            ]);
          })
        );
      };

      // The floor: the bytes over HTTP into a file, then openssl.
      const floor = async () => {
        const file = `${bare.settings.cocoon.rootDir}/curl-${rep}.qcow2`;
        floorMs.push(
          await timeMs(async () => {
            await execa('curl', ['-sS', '--create-dirs', '-o', file, url]);
            await execa('openssl', ['dgst', '-sha256', file]);
          })
        );
      };

      // cocoon fsyncs the whole download, so a side that ran right after another 1 GiB write
      // waits for that write-back too: every side starts on a flushed disk, and the order
      // rotates between repetitions.
      const sides = [viaWorkflow, direct, floor];
      for (let i = 0; i < sides.length; i++) {
        await execa('sync');
        await (sides[(rep + i) % sides.length] as () => Promise<void>)();
      }

      // Hashing alone, on the same file, warm in the page cache for both: the verify step's
      // code against openssl.
      const blob = blobPath(node.settings.cocoon.rootDir, digest);
      opensslHashMs.push(await timeMs(() => execa('openssl', ['dgst', '-sha256', blob])));
      ourHashMs.push(await timeMs(() => hashFileInThread(blob, () => undefined)));
    }

    const wf = summarize(workflowMs).median;
    const direct = summarize(directMs).median;
    const floor = summarize(floorMs).median;
    const ours = summarize(ourHashMs).median;
    const verifyStep = summarize(verifyStepMs).median;
    const openssl = summarize(opensslHashMs).median;
    const mibPerSecond = (ms: number) => `${((mib / ms) * 1000).toFixed(0)} MiB/s`;
    const hashShare = openssl / ours;
    return {
      name: `2. Pull and verify (${mib} MiB qcow2 v3)`,
      goal: 'pull + verify at most 1.15 times the direct pull + openssl; verify hashing at least 85 % of openssl dgst',
      met: wf <= 1.15 * direct && hashShare >= 0.85,
      header: ['', 'median', 'vs direct'],
      rows: [
        ['curl -o, then openssl dgst (floor)', seconds(floor), ratio(floor, direct)],
        ['cocoon image pull --force, then openssl dgst (baseline)', seconds(direct), '1.00×'],
        ["the workflow's pull and verify steps", seconds(wf), ratio(wf, direct)],
        ['hashing: openssl dgst -sha256', mibPerSecond(openssl), ''],
        [
          "hashing: the verify step's sha256",
          mibPerSecond(ours),
          `${(hashShare * 100).toFixed(0)} % of openssl`,
        ],
        [
          'the verify step in the clone (inspect, stat, hash)',
          mibPerSecond(verifyStep),
          `${((openssl / verifyStep) * 100).toFixed(0)} % of openssl`,
        ],
      ],
      notes: [
        `${repetitions} repetitions, each on fresh nodes, each side after a sync and in rotating order; medians.`,
        options.realCocoon === undefined
          ? 'cocoon here is the simulator (set COCOON_BIN to a real cocoon binary to pull with it), so both the baseline and the workflow pull with the same code; the ratio is what the workflow adds around it.'
          : 'The real cocoon binary does the pull on both sides (COCOON_BIN); the ratio is what the workflow adds around it.',
      ],
    };
  } finally {
    await fixture.stop();
  }
}

function stepMs(status: CloneStatus, name: string): number {
  const step = status.steps.find((candidate) => candidate.step === name);
  if (!step?.endedAt) throw new Error(`the clone ran no ${name}`);
  return Date.parse(step.endedAt) - Date.parse(step.startedAt);
}

/** From the start of the first pull to the end of the verify after it. */
export function pullAndVerifyMs(status: CloneStatus): number {
  const pull = status.steps.find((step) => step.step === 'pull');
  const verify = status.steps.find((step) => step.step === 'verify');
  if (!pull || !verify?.endedAt) throw new Error('the clone ran no pull and verify');
  return Date.parse(verify.endedAt) - Date.parse(pull.startedAt);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}
