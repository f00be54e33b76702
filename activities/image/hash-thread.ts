import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

// Runs in a worker thread: reads one file through sha256 and reports progress, so hashing a
// multi-GiB blob never holds the worker's event loop (heartbeats, polls, other steps). Plain
// synchronous reads into one reused buffer keep pace with `openssl dgst`; a read stream's
// per-chunk buffers cost about a fifth of that speed. The thread owns nothing else to block.

const { path } = workerData as { path: string };
const CHUNK = 4 * 1024 * 1024;
const PROGRESS_EVERY = 64 * 1024 * 1024;

const hash = createHash('sha256');
const buffer = Buffer.allocUnsafe(CHUNK);
const fd = openSync(path, 'r');
let bytesHashed = 0;
let reported = 0;
try {
  for (;;) {
    const read = readSync(fd, buffer, 0, CHUNK, null);
    if (read === 0) break;
    hash.update(read === CHUNK ? buffer : buffer.subarray(0, read));
    bytesHashed += read;
    if (bytesHashed - reported >= PROGRESS_EVERY) {
      reported = bytesHashed;
      parentPort?.postMessage({ bytesHashed });
    }
  }
} finally {
  closeSync(fd);
}
parentPort?.postMessage({ bytesHashed, digest: `sha256:${hash.digest('hex')}` });
