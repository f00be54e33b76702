import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { access, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

import { commitCloudImage, indexExistingBlob } from './cloudimg-commit.js';
import { hasUsableBlob } from './cloudimg-index.js';
import { CanceledError, wrapError } from './errors.js';
import { generateTempName } from './ids.js';
import type { Layout } from './layout.js';
import { logInfo } from './log.js';
import { parseQcow2Header, readHead } from './qcow2.js';

// `image import NAME [FILE...]` for cloud images: the files (or stdin) are concatenated as split
// parts, gunzipped when compressed, hashed, and committed under the key NAME like a pull.

const FUNC = 'cloudimg.import';

async function* concatenate(files: string[]): AsyncGenerator<Buffer> {
  for (const file of files) {
    try {
      await access(file);
    } catch {
      throw new Error(`open ${file}: no such file or directory`);
    }
    yield* createReadStream(file) as AsyncIterable<Buffer>;
  }
}

async function copyInput(files: string[], target: string, signal: AbortSignal): Promise<void> {
  const input = files.length > 0 ? Readable.from(concatenate(files)) : process.stdin;
  await pipeline(input, createWriteStream(target, { mode: 0o644 }), { signal });
}

async function gunzipFile(source: string, target: string, signal: AbortSignal): Promise<void> {
  await pipeline(createReadStream(source), createGunzip(), createWriteStream(target), { signal });
}

async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

function isGzip(head: Buffer): boolean {
  return head[0] === 0x1f && head[1] === 0x8b;
}

function isTar(head: Buffer): boolean {
  return head.subarray(257, 262).toString('latin1') === 'ustar';
}

// Leaves the plain image bytes in one temp file and returns its path; the caller removes every
// path pushed onto temps.
async function receiveInput(
  layout: Layout,
  files: string[],
  temps: string[],
  signal: AbortSignal
): Promise<string> {
  const newTemp = (): string => {
    const file = path.join(layout.cloudimg.temp, generateTempName('import-', '.img'));
    temps.push(file);
    return file;
  };

  const copied = newTemp();
  await copyInput(files, copied, signal);
  if (!isGzip(await readHead(copied, 2))) {
    return copied;
  }

  const plain = newTemp();
  await gunzipFile(copied, plain, signal);
  return plain;
}

async function importImage(
  layout: Layout,
  name: string,
  files: string[],
  signal: AbortSignal
): Promise<void> {
  await mkdir(layout.cloudimg.temp, { recursive: true });
  const temps: string[] = [];

  try {
    const file = await receiveInput(layout, files, temps, signal);
    const head = await readHead(file, 512);
    if (!parseQcow2Header(head)) {
      throw new Error(
        isTar(head)
          ? 'the simulator imports only qcow2 cloud images, not OCI image tarballs'
          : 'unrecognised image format (expected qcow2 or an OCI tarball)'
      );
    }

    const hex = await hashFile(file);
    if (await hasUsableBlob(layout, `sha256:${hex}`)) {
      await indexExistingBlob(layout, name, hex, signal);
      logInfo(FUNC, `import complete (cached): ${name} -> sha256:${hex}`);
      return;
    }

    await commitCloudImage(layout, { file, hex }, name, signal);
    logInfo(FUNC, `import complete: ${name} -> sha256:${hex}`);
  } finally {
    await Promise.all(temps.map((temp) => rm(temp, { force: true })));
  }
}

export async function importCloudImage(
  layout: Layout,
  name: string,
  files: string[],
  signal: AbortSignal
): Promise<void> {
  try {
    await importImage(layout, name, files, signal);
  } catch (err) {
    const cause = signal.aborted ? new CanceledError() : err;
    throw wrapError(`import ${name}`, cause);
  }
}
