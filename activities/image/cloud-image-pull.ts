import { log } from '@temporalio/activity';
import { FailureType } from '../../common/failures.js';
import type { CocoonCli } from '../cocoon/cocoon-cli.js';
import { lookUpImageSize, type ImageSize } from '../registry/image-size.js';
import type { PullOutcome } from '../node-metrics.js';
import { failure } from '../to-failure.js';
import { DownloadWatch } from './download-watch.js';
import { freeBytes } from './free-space.js';
import { SharedWork } from './shared-work.js';

// How often a running download's temp file is measured.
const STALL_CHECK_MS = 1_000;

/** How far a download has come: the total is there when the registry said the size. */
export interface PullProgress {
  bytesDownloaded: number;
  totalBytes?: number;
}

/**
 * `cocoon image pull --force` on one node. Clones that need the same URL at the same time share
 * one download, which stops only when every one of them has gone. Before downloading it checks
 * the disk has room; while downloading it watches cocoon's temp file grow and stops cocoon
 * (SIGTERM) if the download stalls.
 */
export class CloudImagePuller {
  private readonly pulls = new SharedWork<void>();
  private readonly progress = new Map<string, PullProgress>();
  // When the last successful download of each URL ended, on this worker's clock.
  private readonly lastDownloadEnded = new Map<string, number>();

  constructor(
    private readonly options: {
      node: string;
      cocoon: CocoonCli;
      stallSeconds: number;
      /** Called once per download cocoon ran, however many clones shared it. */
      onDownloadEnded?: (outcome: PullOutcome, bytes: number) => void;
    }
  ) {}

  /**
   * Pulls `url`, or joins its pull in flight; `waiterSignal` is this caller's cancellation.
   * `neededSinceMs` is when the caller found the image missing: a download of the URL that
   * ended after that is as fresh as one it would start itself, so it is not downloaded again.
   * Without it, a clone of a burst that reaches its pull just after the shared download ended
   * would download the whole image a second time.
   */
  async pull(
    url: string,
    what: string,
    waiterSignal: AbortSignal,
    neededSinceMs?: number
  ): Promise<void> {
    const ended = this.lastDownloadEnded.get(url);
    const freshEnough =
      ended !== undefined && neededSinceMs !== undefined && ended >= neededSinceMs;
    if (freshEnough && this.pulls.waitersOf(url) === 0) {
      log.info('Base image was downloaded after this clone asked for it; not pulling again', {
        url,
        node: this.options.node,
        downloadEndedAt: new Date(ended).toISOString(),
      });
      return;
    }

    log.info('Force-pulling base image', {
      url,
      node: this.options.node,
      joining: this.pulls.waitersOf(url) > 0,
    });
    await this.pulls.join(url, (signal) => this.download(url, what, signal), waiterSignal);
  }

  /** How far the pull of `url` has come, for heartbeats. */
  progressOf(url: string): PullProgress {
    return this.progress.get(url) ?? { bytesDownloaded: 0 };
  }

  private async download(url: string, what: string, signal: AbortSignal): Promise<void> {
    const { cocoon, node, stallSeconds } = this.options;
    const size = await lookUpImageSize(url, { signal });
    await this.ensureDiskRoom(size, url, what);
    log.info('Downloading base image', { url, node, totalBytes: size?.bytes });
    const progress: PullProgress = { bytesDownloaded: 0, totalBytes: size?.bytes };
    this.progress.set(url, progress);

    const watch = await DownloadWatch.start(cocoon.options.rootDir);
    const stalled = new AbortController();
    const timer = setInterval(() => {
      void watch.idleMs().then((idleMs) => {
        progress.bytesDownloaded = watch.bytes;
        if (idleMs >= stallSeconds * 1000) stalled.abort();
      });
    }, STALL_CHECK_MS);

    let outcome: PullOutcome = 'failed';
    try {
      await cocoon.pullImage(url, true, { signal: AbortSignal.any([signal, stalled.signal]) });
      outcome = 'ok';
      this.lastDownloadEnded.set(url, Date.now());
    } catch (error) {
      if (signal.aborted) outcome = 'cancelled';
      if (!stalled.signal.aborted || signal.aborted) throw error;
      outcome = 'stalled';
      throw failure(
        FailureType.PullStalled,
        `${what}: the download stopped growing at ${watch.bytes} bytes for ${stallSeconds}s, so cocoon was stopped; the pull is retried`,
        { url, bytes: watch.bytes }
      );
    } finally {
      clearInterval(timer);
      this.progress.delete(url);
      this.options.onDownloadEnded?.(outcome, size?.bytes ?? watch.bytes);
    }
  }

  // Said before a byte is downloaded: a pull that would fill the disk fails cocoon's other
  // pulls and clones too, and cannot succeed by retrying.
  private async ensureDiskRoom(
    size: ImageSize | undefined,
    url: string,
    what: string
  ): Promise<void> {
    if (!size) return;

    const rootDir = this.options.cocoon.options.rootDir;
    const needed = size.bytes * (size.needsConversion ? 2 : 1);
    const available = await freeBytes(rootDir);
    if (available >= needed) return;
    throw failure(
      FailureType.DiskFull,
      `${what}: the image needs ${needed} bytes${size.needsConversion ? ' (download and converted copy)' : ''} but ${rootDir} has ${available} free; free disk space on node ${this.options.node} and start the clone again`,
      { url, neededBytes: needed, availableBytes: available }
    );
  }
}
