import { execFile } from 'node:child_process';

import { CanceledError, wrapError } from './errors.js';

// The two qemu-img calls cocoon makes while committing a cloud image, with its error texts.

interface QemuFailure {
  code?: number | string;
  stderr?: string;
  stdout?: string;
}

function runQemuImg(args: string[], signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('qemu-img', args, { signal, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) {
        resolve(stdout);
        return;
      }
      if (signal.aborted) {
        reject(new CanceledError());
        return;
      }

      const failure = err as QemuFailure;
      const output = `${stderr || stdout}`.trim() || err.message;
      const status = typeof failure.code === 'number' ? `exit status ${failure.code}` : err.message;
      reject(new Error(`${output}: ${status}`));
    });
  });
}

// The format qemu-img detects for a file that has no qcow2 magic ("raw", "vmdk", ...).
export async function probeFormat(file: string, signal: AbortSignal): Promise<string> {
  let stdout: string;
  try {
    stdout = await runQemuImg(['info', '--output', 'json', file], signal);
  } catch (err) {
    if (err instanceof CanceledError) throw err;
    throw wrapError(`qemu-img info ${file}`, err);
  }
  const info = JSON.parse(stdout) as { format?: string };
  return info.format ?? 'unknown';
}

export async function convertToQcow2(
  source: string,
  target: string,
  sourceFormat: string,
  signal: AbortSignal
): Promise<void> {
  const args = ['convert', '-f', sourceFormat, '-O', 'qcow2', '-o', 'compat=1.1', source, target];
  try {
    await runQemuImg(args, signal);
  } catch (err) {
    if (err instanceof CanceledError) throw err;
    throw wrapError('qemu-img convert', err);
  }
}
