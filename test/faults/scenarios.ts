import { mkdir, rm } from 'node:fs/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { execa } from 'execa';
import { blobPath } from '../../activities/image/blob-file.js';
import { FailureType } from '../../common/failures.js';
import { cloneStatusQuery } from '../../common/status.js';
import type { CloneFixture } from '../support/clone-fixture.js';
import type { SimulatedNode } from '../support/simulated-node.js';
import { waitFor, waitForDownload, waitForStep } from '../support/wait.js';

// The fault scenarios of `npm run faults`: each injects one fault into real parts (the
// registry on loopback, the node's disk, the worker process) and says how every clone must end.

export type Expected = 'completed' | 'cancelled' | FailureType;

export interface RunContext {
  fixture: CloneFixture;
  node: SimulatedNode;
  /** A repo of this run's own, so faults and stats never mix between runs. */
  repo: string;
  run: number;
  /** The VM name of the run's clone number `index` (all of them, for a duplicate start). */
  vmName(index: number): string;
  /** For scenarios with a worker process: SIGKILLs it and starts a new one. */
  killAndRestartWorker(): Promise<void>;
  /** For scenarios with a worker process: whether it has `path` open. */
  workerHasOpen(path: string): Promise<boolean>;
  /** For scenarios with a worker process: how many times it logged `message`. */
  workerLogCount(message: string): number;
}

export interface PreparedRun {
  snapshot: string;
  pinnedDigest: string;
  /** What else must hold once every clone has ended; each string is a broken promise. */
  check?(): Promise<string[]>;
  /** Undoes what the preparation did outside the node's files (a mount). */
  cleanup?(): Promise<void>;
}

export interface Scenario {
  name: string;
  runs: number;
  /** How each clone of a run must end: one outcome for all, or one per clone. */
  expect: Expected | Expected[];
  /** Clones started at once in each run; 1 unless given. */
  clones?: number;
  /** Every clone of a run is the same request started again: one workflow, one VM. */
  sameRequest?: boolean;
  node?: { simulatorEnv?: Record<string, string>; pullStallSeconds?: number };
  /** Serve the node with a `cocoon-flow worker` process instead of an in-process worker. */
  workerProcess?: boolean;
  /** Pushes the image, imports the snapshot, injects the fault; returns the snapshot name. */
  prepare(context: RunContext): Promise<PreparedRun>;
  /**
   * Acts on the running clones (cancels one, removes a file) before they are awaited: `first`
   * is the run's first clone, `all` every clone it started.
   */
  during?(context: RunContext, first: WorkflowHandle, all: WorkflowHandle[]): Promise<void>;
}

async function pinned(context: RunContext, image: 'base-v1' | 'base-v2' = 'base-v2') {
  const pushed = await context.fixture.push(context.repo, image);
  await context.node.importSnapshot(`hot-${context.run}`, pushed);
  return { snapshot: `hot-${context.run}`, pinnedDigest: pushed.digest, url: pushed.url };
}

function fault(
  context: RunContext,
  kind: Parameters<CloneFixture['registry']['injectFault']>[1],
  times = 1
) {
  context.fixture.registry.injectFault({ route: 'download', repo: context.repo }, kind, times);
}

export const SCENARIOS: Scenario[] = [
  {
    name: '5xx burst (three 503s)',
    runs: 1,
    expect: 'completed',
    async prepare(context) {
      const image = await pinned(context);
      fault(context, { kind: 'status', status: 503 }, 3);
      return image;
    },
  },
  {
    name: 'connection reset mid-body',
    runs: 2,
    expect: 'completed',
    async prepare(context) {
      const image = await pinned(context);
      fault(context, { kind: 'reset', afterBytes: 100_000 });
      return image;
    },
  },
  {
    name: 'body truncated, response ends cleanly',
    runs: 2,
    expect: 'completed',
    async prepare(context) {
      const image = await pinned(context);
      fault(context, { kind: 'truncate', afterBytes: 200_000 });
      return image;
    },
  },
  {
    name: 'wrong bytes, right length',
    runs: 2,
    expect: 'completed',
    async prepare(context) {
      const image = await pinned(context);
      fault(context, { kind: 'corrupt' });
      return image;
    },
  },
  {
    name: 'body stalls (caught by download growth)',
    runs: 2,
    expect: 'completed',
    node: { pullStallSeconds: 3 },
    async prepare(context) {
      const image = await pinned(context);
      fault(context, { kind: 'stall', afterBytes: 100_000 });
      return image;
    },
  },
  {
    name: 'tag moved after the snapshot was baked',
    runs: 2,
    expect: 'completed',
    async prepare(context) {
      const image = await pinned(context);
      await context.fixture.push(context.repo, 'base-v3');
      return image;
    },
  },
  {
    name: 'tag moves again in the middle of the pull',
    runs: 2,
    expect: 'completed',
    async prepare(context) {
      const image = await pinned(context);
      fault(context, { kind: 'slow', bytesPerSecond: 300_000 });
      return image;
    },
    async during(context) {
      await waitForDownload(context.node);
      await context.fixture.push(context.repo, 'base-v3');
    },
  },
  {
    name: 'digest served nowhere',
    runs: 2,
    expect: FailureType.DigestUnavailable,
    async prepare(context) {
      const served = await context.fixture.push(context.repo, 'base-v1');
      const pinnedDigest = `sha256:${String(context.run).padStart(64, 'e')}`;
      await context.node.importSnapshot(`hot-${context.run}`, {
        image: served.url,
        digest: pinnedDigest,
      });
      return { snapshot: `hot-${context.run}`, pinnedDigest };
    },
  },
  {
    name: 'registry answers 404',
    runs: 1,
    expect: FailureType.ImageNotFound,
    async prepare(context) {
      const url = context.fixture.registry.downloadUrl(`${context.repo}-missing`);
      const pinnedDigest = `sha256:${'f'.repeat(64)}`;
      await context.node.importSnapshot(`hot-${context.run}`, { image: url, digest: pinnedDigest });
      return { snapshot: `hot-${context.run}`, pinnedDigest };
    },
  },
  {
    name: 'registry serves an HTML page',
    runs: 1,
    expect: FailureType.NotADiskImage,
    async prepare(context) {
      const image = await pinned(context);
      fault(context, { kind: 'html' });
      return image;
    },
  },
  {
    name: 'clone cancelled mid-pull',
    runs: 2,
    expect: 'cancelled',
    async prepare(context) {
      const image = await pinned(context);
      fault(context, { kind: 'stall', afterBytes: 100_000 });
      return image;
    },
    async during(context, handle) {
      await waitForDownload(context.node);
      await handle.cancel();
    },
  },
  {
    name: 'clone cancelled mid-restore',
    runs: 1,
    expect: 'cancelled',
    node: { simulatorEnv: { COCOON_SIM_CLONE_DELAY_MS: '2000' } },
    prepare: (context) => pinned(context),
    async during(_context, handle) {
      await waitForStep(handle, 'restore');
      await new Promise((resolve) => setTimeout(resolve, 500));
      await handle.cancel();
    },
  },
  {
    name: 'base blob removed between verify and restore',
    runs: 1,
    expect: 'completed',
    node: { simulatorEnv: { COCOON_SIM_CLONE_DELAY_MS: '1500' } },
    prepare: (context) => pinned(context),
    async during(context, handle) {
      await waitForStep(handle, 'restore');
      const { digest } = (await handle.query(cloneStatusQuery)).base ?? { digest: '' };
      await rm(blobPath(context.node.settings.cocoon.rootDir, digest), { force: true });
    },
  },
  {
    name: 'worker SIGKILLed mid-pull, then restarted',
    runs: 1,
    expect: 'completed',
    workerProcess: true,
    async prepare(context) {
      const image = await pinned(context);
      fault(context, { kind: 'slow', bytesPerSecond: 100_000 });
      return image;
    },
    async during(context) {
      await waitForDownload(context.node);
      await context.killAndRestartWorker();
    },
  },
  {
    name: 'worker SIGKILLed mid-verify, then restarted',
    runs: 1,
    expect: 'completed',
    workerProcess: true,
    async prepare(context) {
      // Seconds of hashing, so the kill lands inside it.
      const pushed = await context.fixture.pushLarge(context.repo, 3);
      await context.node.importSnapshot(`hot-${context.run}`, pushed);
      return { snapshot: `hot-${context.run}`, pinnedDigest: pushed.digest };
    },
    async during(context, handle) {
      await waitForStep(handle, 'pull');
      const { digest } = (await handle.query(cloneStatusQuery)).base ?? { digest: '' };
      const blob = blobPath(context.node.settings.cocoon.rootDir, digest);
      // The pull of 3 GiB comes first.
      await waitFor(() => context.workerHasOpen(blob), 'the worker to hash the blob', 180_000);
      await context.killAndRestartWorker();
    },
  },
  {
    name: 'worker SIGKILLed mid-restore, then restarted',
    runs: 1,
    expect: 'completed',
    workerProcess: true,
    node: { simulatorEnv: { COCOON_SIM_CLONE_DELAY_MS: '3000' } },
    prepare: (context) => pinned(context),
    async during(context, handle) {
      await waitForStep(handle, 'restore');
      await new Promise((resolve) => setTimeout(resolve, 500));
      await context.killAndRestartWorker();
    },
  },
  {
    name: 'node without disk room for the image',
    runs: 1,
    expect: FailureType.DiskFull,
    async prepare(context) {
      // A 256 KiB filesystem as cocoon's root: the 448 KiB image cannot fit.
      const rootDir = context.node.settings.cocoon.rootDir;
      await mkdir(rootDir, { recursive: true });
      const mounted = await execa('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', rootDir], {
        reject: false,
      });
      if (mounted.failed) {
        throw new Error(`mounting a small tmpfs needs root: ${mounted.stderr}`);
      }
      const image = await pinned(context);
      return {
        ...image,
        check: async () =>
          downloads(context) === 0 ? [] : ['downloaded although the disk had no room'],
        cleanup: async () => {
          await execa('umount', [rootDir], { reject: false });
        },
      };
    },
  },
  {
    name: 'many clones need one missing image, one cancelled',
    runs: 1,
    clones: 5,
    expect: ['cancelled', 'completed', 'completed', 'completed', 'completed'],
    workerProcess: true,
    async prepare(context) {
      const image = await pinned(context);
      // About two seconds of download, so every clone arrives while it is in flight.
      fault(context, { kind: 'slow', bytesPerSecond: 200_000 });
      return {
        ...image,
        check: async () => {
          const broken: string[] = [];
          if (downloads(context) !== 1) broken.push(`${downloads(context)} downloads, not 1`);
          const hashes = context.workerLogCount('Hashed base image blob');
          if (hashes !== 1) broken.push(`${hashes} hashes, not 1`);
          return broken;
        },
      };
    },
    async during(context, first, all) {
      await waitFor(async () => {
        const statuses = await Promise.all(all.map((handle) => handle.query(cloneStatusQuery)));
        return statuses.every((status) => status.step === 'pull');
      }, 'every clone to wait on the pull');
      await first.cancel();
    },
  },
  {
    name: 'the same request started five times at once',
    runs: 1,
    clones: 5,
    sameRequest: true,
    expect: 'completed',
    prepare: (context) => pinned(context),
  },
  {
    name: 'VM name taken by someone else',
    runs: 1,
    expect: FailureType.VmNameTaken,
    async prepare(context) {
      const image = await pinned(context);
      await context.node.cocoonRun(['image', 'pull', image.url]);
      const vmName = context.vmName(0);
      const made = await context.node.cocoonRun(['vm', 'clone', '--name', vmName, image.snapshot]);
      if (made.exitCode !== 0) throw new Error(`could not make the other VM: ${made.stderr}`);
      const theirs = await context.node.cocoon.inspectVm(vmName);
      return {
        ...image,
        check: async () => {
          const after = await context.node.cocoon.inspectVm(vmName);
          return after !== undefined && after.id === theirs?.id ? [] : ['the other VM was touched'];
        },
      };
    },
  },
  {
    name: "vm clone SIGKILLed, leaving a placeholder of this clone's",
    runs: 1,
    expect: 'completed',
    node: { simulatorEnv: { COCOON_SIM_CLONE_DELAY_MS: '2000' } },
    async prepare(context) {
      const image = await pinned(context);
      return {
        ...image,
        check: async () =>
          (await context.node.commands()).some((line) =>
            line.endsWith(`vm rm --force ${context.vmName(0)}`)
          )
            ? []
            : ['the placeholder was not removed before the clone went on'],
      };
    },
    async during(context) {
      let pid: number | undefined;
      await waitFor(async () => {
        const running = (await context.node.cocoonProcesses()).find((line) =>
          line.includes(`--name ${context.vmName(0)}`)
        );
        pid = running === undefined ? undefined : Number(running.split(' ')[0]);
        return pid !== undefined;
      }, 'vm clone to start');
      await new Promise((resolve) => setTimeout(resolve, 500));
      // Killed outright, cocoon rolls nothing back: its `creating` record keeps the name.
      process.kill(pid as number, 'SIGKILL');
    },
  },
];

function downloads(context: RunContext): number {
  return context.fixture.registry.requestCount({ route: 'download', repo: context.repo });
}
