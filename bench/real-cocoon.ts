import { execa } from 'execa';

// A real cocoon binary for the benchmarks, named by COCOON_BIN. It runs the image and snapshot
// commands (pull, index, import, inspect), which need no hypervisor; VM commands still run the
// simulator, since Cloud Hypervisor cannot run on a machine without KVM. Without COCOON_BIN
// every cocoon command runs the simulator.

export interface RealCocoon {
  path: string;
  /** The version `cocoon version` prints on its first line, for the report. */
  version: string;
}

export class RealCocoonUnusable extends Error {
  override readonly name = 'RealCocoonUnusable';
}

export async function realCocoonFromEnv(
  env: NodeJS.ProcessEnv = process.env
): Promise<RealCocoon | undefined> {
  const path = env.COCOON_BIN;
  if (path === undefined || path === '') return undefined;

  const result = await execa(path, ['version'], { reject: false });
  if (result.failed) {
    throw new RealCocoonUnusable(
      `COCOON_BIN=${path} does not run \`version\` (${result.shortMessage}); point it at a cocoon binary, or unset it to benchmark with the simulator`
    );
  }
  // The first line reads `Version:        v0.3.8`.
  const firstLine = result.stdout.split('\n')[0] ?? '';
  const version = firstLine.replace(/^Version:\s*/, '').trim() || 'unknown version';
  return { path, version };
}

/** Which cocoon the figures come from, in words. */
export function describeCocoon(real: RealCocoon | undefined): string {
  return real === undefined
    ? 'cocoon: the simulator for every command'
    : `cocoon: ${real.version} for image and snapshot commands, the simulator for VM commands`;
}
