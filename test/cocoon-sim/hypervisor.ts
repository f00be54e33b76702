import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { errorCode } from './errors.js';
import { isProcessAlive, readProcessName } from './processes.js';

// The stand-in for a cloud-hypervisor process: a detached `sleep` whose argv[0] reads
// "cloud-hypervisor", so the pid in ch.pid belongs to a real, killable process and a recycled
// pid is never mistaken for it.

const STAND_IN_NAME = 'cloud-hypervisor';

// About 24.8 days, the largest value every `sleep` implementation accepts as whole seconds.
const STAND_IN_LIFETIME_SECONDS = '2147483';

// vm rm --force waits this long after SIGTERM before SIGKILL.
const STOP_GRACE_MS = 2000;
const STOP_POLL_MS = 25;

export function pidFilePath(runDir: string): string {
  return path.join(runDir, 'ch.pid');
}

export function apiSocketPath(runDir: string): string {
  return path.join(runDir, 'api.sock');
}

export async function launchStandIn(runDir: string): Promise<number> {
  const child = spawn('sleep', [STAND_IN_LIFETIME_SECONDS], {
    argv0: STAND_IN_NAME,
    detached: true,
    stdio: 'ignore',
  });

  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  child.unref();

  const pid = child.pid ?? 0;
  await writeFile(pidFilePath(runDir), `${pid}\n`);
  return pid;
}

export async function readStandInPid(runDir: string): Promise<number> {
  try {
    const pid = Number.parseInt(await readFile(pidFilePath(runDir), 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : 0;
  } catch {
    return 0;
  }
}

export function isStandInAlive(pid: number): boolean {
  if (!isProcessAlive(pid)) {
    return false;
  }
  const name = readProcessName(pid);
  return name === undefined || name === STAND_IN_NAME;
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isProcessAlive(pid)) {
      return true;
    }
    await delay(STOP_POLL_MS);
  }
  return !isProcessAlive(pid);
}

function sendSignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (err) {
    // Exiting between the liveness check and the signal is the outcome we want anyway.
    if (errorCode(err) !== 'ESRCH') {
      throw err;
    }
  }
}

// SIGTERM, then SIGKILL when the process outlives the grace period.
export async function stopStandIn(pid: number): Promise<void> {
  if (!isStandInAlive(pid)) {
    return;
  }

  sendSignal(pid, 'SIGTERM');
  if (await waitForExit(pid, STOP_GRACE_MS)) {
    return;
  }
  sendSignal(pid, 'SIGKILL');
  await waitForExit(pid, STOP_GRACE_MS);
}
