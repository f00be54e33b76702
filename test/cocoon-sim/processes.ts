import { readFileSync } from 'node:fs';

import { errorCode } from './errors.js';

// A zombie still answers kill(pid, 0); when nothing reaps it (a container whose PID 1 is not an
// init), only /proc tells that it is dead.
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) {
    return false;
  }

  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM means the process exists but belongs to someone else.
    if (errorCode(err) !== 'EPERM') {
      return false;
    }
  }
  return !isZombie(pid);
}

// argv[0] of a live process, or undefined when /proc cannot say.
export function readProcessName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
  } catch {
    return undefined;
  }
}
