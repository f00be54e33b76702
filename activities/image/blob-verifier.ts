import { stat } from 'node:fs/promises';
import { blobPath, hashFileInThread } from './blob-file.js';
import { SharedWork } from './shared-work.js';

export type BlobHashVerdict = 'byte-exact' | 'converted';

interface Verified {
  verdict: BlobHashVerdict;
  /** Identity of the file that was hashed: a replaced or rewritten blob is hashed again. */
  ino: number;
  size: number;
  mtimeMs: number;
}

/**
 * Hashes a blob once per node, however many clones ask: concurrent requests share one pass over
 * the file, and a blob already hashed is not read again while it is the same file.
 */
export class BlobVerifier {
  private readonly hashing = new SharedWork<Verified>();
  private readonly verified = new Map<string, Verified>();
  private readonly bytesHashed = new Map<string, number>();

  constructor(
    private readonly rootDir: string,
    /** Called once per pass over a file, not once per caller. */
    private readonly onHashed: (
      digest: string,
      verdict: BlobHashVerdict,
      bytes: number,
      seconds: number
    ) => void
  ) {}

  /**
   * cocoon names the blob by the digest of the downloaded bytes and converts anything but a
   * plain qcow2 v3, so `converted` (sha256 of the file differs) is a normal outcome.
   */
  async verify(digest: string, signal: AbortSignal): Promise<BlobHashVerdict> {
    const path = blobPath(this.rootDir, digest);
    const info = await stat(path);
    const known = this.verified.get(digest);
    if (known && sameFile(known, info)) return known.verdict;

    const result = await this.hashing.join(
      digest,
      async (workSignal) => {
        const started = performance.now();
        const sha = await hashFileInThread(
          path,
          (bytes) => this.bytesHashed.set(digest, bytes),
          workSignal
        );
        const verdict: BlobHashVerdict = sha === digest ? 'byte-exact' : 'converted';
        this.onHashed(digest, verdict, info.size, (performance.now() - started) / 1000);
        return { verdict, ino: info.ino, size: info.size, mtimeMs: info.mtimeMs };
      },
      signal
    );
    this.verified.set(digest, result);
    this.bytesHashed.delete(digest);
    return result.verdict;
  }

  /** Bytes hashed so far of a blob being verified, for heartbeats. */
  progressOf(digest: string): number {
    return this.bytesHashed.get(digest) ?? 0;
  }
}

function sameFile(known: Verified, info: { ino: number; size: number; mtimeMs: number }): boolean {
  return known.ino === info.ino && known.size === info.size && known.mtimeMs === info.mtimeMs;
}
