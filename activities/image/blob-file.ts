import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { digestHex } from '../../common/request.js';

// cocoon keeps each cloud image as one file named by the digest of the bytes it downloaded.
// That file, not the index entry, is what a clone's overlay needs as its backing file.

export function blobPath(rootDir: string, digest: string): string {
  return join(rootDir, 'cloudimg', 'blobs', `${digestHex(digest)}.qcow2`);
}

/** True when the blob is a regular, non-empty file: the same test cocoon's pull cache uses. */
export async function isBlobPresent(path: string): Promise<boolean> {
  try {
    const info = await stat(path);
    return info.isFile() && info.size > 0;
  } catch (error) {
    if (isMissingFile(error)) return false;
    throw error;
  }
}

/**
 * Streams a file through sha256 and returns `sha256:<hex>`. `onProgress` sees the bytes hashed
 * so far, so the caller can heartbeat while a multi-gigabyte image is read.
 */
export async function hashFile(
  path: string,
  onProgress: (bytesHashed: number) => void,
  signal?: AbortSignal
): Promise<string> {
  const hash = createHash('sha256');
  let bytesHashed = 0;

  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024, signal })) {
    hash.update(chunk as Buffer);
    bytesHashed += (chunk as Buffer).length;
    onProgress(bytesHashed);
  }
  return `sha256:${hash.digest('hex')}`;
}

/**
 * `hashFile` on a worker thread: the same result, but the caller's event loop stays free while
 * a large blob is read. Aborting `signal` stops the thread.
 */
export function hashFileInThread(
  path: string,
  onProgress: (bytesHashed: number) => void,
  signal?: AbortSignal
): Promise<string> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const thread = new Worker(new URL('./hash-thread.js', import.meta.url), {
      workerData: { path },
      // The thread needs none of the process's own flags, and some (--input-type) stop it.
      execArgv: [],
    });
    const stop = () => {
      void thread.terminate();
      reject(signal?.reason ?? new Error('hashing was aborted'));
    };
    signal?.addEventListener('abort', stop, { once: true });

    thread.on('message', (message: { bytesHashed: number; digest?: string }) => {
      onProgress(message.bytesHashed);
      if (message.digest) resolve(message.digest);
    });
    thread.once('error', reject);
    thread.once('exit', () => signal?.removeEventListener('abort', stop));
  });
}

export function isMissingFile(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
