import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

// Runs in a worker thread: streams one file through sha256 and reports progress, so hashing a
// multi-GiB blob never holds the worker's event loop (heartbeats, polls, other steps).

const { path } = workerData as { path: string };
const PROGRESS_EVERY = 64 * 1024 * 1024;

const hash = createHash('sha256');
let bytesHashed = 0;
let reported = 0;
for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
  hash.update(chunk as Buffer);
  bytesHashed += (chunk as Buffer).length;
  if (bytesHashed - reported >= PROGRESS_EVERY) {
    reported = bytesHashed;
    parentPort?.postMessage({ bytesHashed });
  }
}
parentPort?.postMessage({ bytesHashed, digest: `sha256:${hash.digest('hex')}` });
