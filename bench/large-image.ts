import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { execa } from 'execa';

// A non-sparse qcow2 v3 image of a given size for the pull benchmarks: random bytes (so nothing
// compresses or dedupes along the way) converted by qemu-img into a qcow2 whose every cluster
// is allocated. cocoon keeps a qcow2 v3 byte for byte, so its blob hashes to the download's
// digest.

const CHUNK = 16 * 1024 * 1024;

export async function makeQcow2Image(mib: number): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'cocoon-flow-bench-'));
  try {
    const raw = join(dir, 'disk.raw');
    const qcow2 = join(dir, 'disk.qcow2');
    await writeRandomFile(raw, mib * 1024 * 1024);
    await execa('qemu-img', [
      'convert',
      '-f',
      'raw',
      '-O',
      'qcow2',
      '-o',
      'compat=1.1',
      raw,
      qcow2,
    ]);
    return await readFile(qcow2);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function writeRandomFile(path: string, bytes: number): Promise<void> {
  const out = createWriteStream(path);
  for (let written = 0; written < bytes; written += CHUNK) {
    if (!out.write(randomBytes(Math.min(CHUNK, bytes - written)))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}
