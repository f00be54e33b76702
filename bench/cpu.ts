import { readFile } from 'node:fs/promises';
import { execa } from 'execa';

// CPU time spent by the processes a benchmark phase involves: this process (client and
// workers), the children it waited for (every cocoon command), and the Temporal dev server.
// On a 2-core machine CPU is what throughput runs out of, so each phase reports where it went.

export interface CpuSeconds {
  self: number;
  children: number;
  server: number;
}

const TICKS_PER_SECOND = 100;

export async function cpuNow(serverPid: number | undefined): Promise<CpuSeconds> {
  const own = await ticks('self');
  const server = serverPid === undefined ? undefined : await ticks(String(serverPid));
  return {
    self: own.self / TICKS_PER_SECOND,
    children: own.children / TICKS_PER_SECOND,
    server: (server ? server.self + server.children : 0) / TICKS_PER_SECOND,
  };
}

export function cpuSpent(before: CpuSeconds, after: CpuSeconds): CpuSeconds {
  return {
    self: after.self - before.self,
    children: after.children - before.children,
    server: after.server - before.server,
  };
}

/** The pid of the dev server listening on `address`'s port, if one can be found. */
export async function devServerPid(address: string): Promise<number | undefined> {
  const port = address.split(':').pop();
  const found = await execa('pgrep', ['-f', `start-dev.*--port ${port}`], { reject: false });
  const pid = Number(found.stdout.split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

// utime, stime, cutime, cstime are fields 14-17 of /proc/<pid>/stat, after the command name.
async function ticks(pid: string): Promise<{ self: number; children: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  const at = (field: number) => fields[field - 3] ?? 0;
  return { self: at(14) + at(15), children: at(16) + at(17) };
}
