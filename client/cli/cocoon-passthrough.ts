import { execa } from 'execa';
import { loadSettings } from '../../common/config/load-settings.js';

// vk-cocoon runs every cocoon command through one binary path. So that switching that path to
// cocoon-flow changes only the clone, every command cocoon-flow does not handle itself is run
// by the configured cocoon, with the same arguments, stdin, stdout, stderr and exit code. The
// configured root and run dirs go first, so those commands see the VMs the worker made; flags
// the caller gives later still win, as cobra takes the last value of a flag.

export const COCOON_COMMAND_GROUPS = ['vm', 'image', 'snapshot', 'gc', 'version', 'completion'];

export async function runCocoonPassthrough(args: string[]): Promise<number> {
  const settings = loadSettings({});
  const { binary, rootDir, runDir } = settings.cocoon;
  const result = await execa(binary, ['--root-dir', rootDir, '--run-dir', runDir, ...args], {
    stdio: 'inherit',
    reject: false,
  });
  return result.exitCode ?? 1;
}
