import { readFile } from 'node:fs/promises';

// A pid alone can be reused by an unrelated process; the pid together with its start time (in
// clock ticks since boot, field 22 of /proc/<pid>/stat) names one process for good.

export interface ProcessIdentity {
  pid: number;
  startTicks: string;
}

export async function identifyProcess(pid: number): Promise<ProcessIdentity | undefined> {
  const startTicks = await readStartTicks(pid);
  return startTicks === undefined ? undefined : { pid, startTicks };
}

export async function isStillRunning(identity: ProcessIdentity): Promise<boolean> {
  return (await readStartTicks(identity.pid)) === identity.startTicks;
}

async function readStartTicks(pid: number): Promise<string | undefined> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may contain spaces, so fields are counted
  // from after its closing parenthesis; a zombie has exited and no longer counts as running.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z') return undefined;
  return fields[19];
}
