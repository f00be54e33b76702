import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { CanceledError, errorCode, throwIfCanceled } from './errors.js';
import { isProcessAlive } from './processes.js';

// cocoon serialises its JSON databases with flock. Node has no flock, so a lock here is a file
// created with O_EXCL that holds the owner's pid and is removed on release. Unlike cocoon's lock
// files it therefore only exists while held.
const LOCK_RETRY_MS = 50;

// A lock file is written in two steps (create, then pid). An empty one younger than this is an
// owner between those steps; an older one is debris.
const EMPTY_LOCK_GRACE_MS = 10_000;

async function isAbandoned(lockPath: string): Promise<boolean> {
  try {
    const content = (await readFile(lockPath, 'utf8')).trim();
    if (content) {
      return !isProcessAlive(Number(content));
    }
    const info = await stat(lockPath);
    return Date.now() - info.mtimeMs > EMPTY_LOCK_GRACE_MS;
  } catch (err) {
    if (errorCode(err) === 'ENOENT') {
      return false;
    }
    throw err;
  }
}

async function tryCreateLock(lockPath: string): Promise<boolean> {
  try {
    const handle = await open(lockPath, 'wx', 0o644);
    await handle.writeFile(`${process.pid}\n`);
    await handle.close();
    return true;
  } catch (err) {
    if (errorCode(err) === 'EEXIST') {
      return false;
    }
    throw err;
  }
}

async function acquireLock(lockPath: string, signal: AbortSignal | undefined): Promise<void> {
  await mkdir(path.dirname(lockPath), { recursive: true });

  for (;;) {
    throwIfCanceled(signal);
    if (await tryCreateLock(lockPath)) {
      return;
    }

    // A holder killed with SIGKILL never releases; take its lock over instead of waiting forever.
    if (await isAbandoned(lockPath)) {
      await rm(lockPath, { force: true });
      continue;
    }

    try {
      await delay(LOCK_RETRY_MS, undefined, { signal });
    } catch {
      throw new CanceledError();
    }
  }
}

// Runs fn while holding the lock. Without a signal the wait cannot be cancelled, which rollbacks
// rely on to finish after SIGTERM.
export async function withFileLock<T>(
  lockPath: string,
  fn: () => Promise<T>,
  signal?: AbortSignal
): Promise<T> {
  await acquireLock(lockPath, signal);
  try {
    return await fn();
  } finally {
    await rm(lockPath, { force: true });
  }
}

export async function readJsonFile<T>(file: string, empty: () => T): Promise<T> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (err) {
    if (errorCode(err) === 'ENOENT') {
      return empty();
    }
    throw err;
  }
}

// Compact JSON plus a newline, written to a temp file, synced and renamed over the target, as
// cocoon's atomic writer does.
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.tmp-${randomBytes(6).toString('hex')}`;

  try {
    const handle = await open(temp, 'w', 0o644);
    try {
      await handle.writeFile(`${JSON.stringify(value)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

// Read-modify-write of one JSON database under its lock. When mutate throws, nothing is written.
export async function updateJsonFile<T, R>(
  file: string,
  lockPath: string,
  empty: () => T,
  mutate: (doc: T) => R | Promise<R>,
  signal?: AbortSignal
): Promise<R> {
  return withFileLock(
    lockPath,
    async () => {
      const doc = await readJsonFile(file, empty);
      const result = await mutate(doc);
      await writeJsonAtomic(file, doc);
      return result;
    },
    signal
  );
}
