import { execa } from 'execa';
import { access, constants, mkdir } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The tests and the demo run a real Temporal server: the `temporal` CLI's dev server. It is
// found, in order: TEMPORAL_CLI_PATH, `temporal` on PATH, the project's git-ignored .tools/bin,
// then built there with `go install`. With none of these (no Go), the SDK downloads the CLI
// itself, which needs internet.

export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';
export const TOOLS_BIN = fileURLToPath(new URL('../../../.tools/bin/', import.meta.url));

export type TemporalCliSource =
  { type: 'existing-path'; path: string } | { type: 'cached-download' };

export async function findTemporalCli(
  options: { build?: boolean; onBuild?: (message: string) => void } = {}
): Promise<TemporalCliSource> {
  const fromEnv = process.env.TEMPORAL_CLI_PATH;
  if (fromEnv) {
    if (!(await isExecutable(fromEnv))) {
      throw new Error(`TEMPORAL_CLI_PATH=${fromEnv} is not an executable file`);
    }
    return { type: 'existing-path', path: fromEnv };
  }

  for (const dir of [TOOLS_BIN, ...(process.env.PATH ?? '').split(delimiter)]) {
    const candidate = join(dir, 'temporal');
    if (dir && (await isExecutable(candidate))) return { type: 'existing-path', path: candidate };
  }

  if (options.build !== false && (await hasGo())) {
    options.onBuild?.(
      `building the temporal CLI with go install ${TEMPORAL_CLI_MODULE} (a few minutes, once)`
    );
    await mkdir(TOOLS_BIN, { recursive: true });
    await execa('go', ['install', TEMPORAL_CLI_MODULE], {
      env: { GOBIN: TOOLS_BIN, CGO_ENABLED: '0' },
      stdio: 'inherit',
    });
    return { type: 'existing-path', path: join(TOOLS_BIN, 'temporal') };
  }

  return { type: 'cached-download' };
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function hasGo(): Promise<boolean> {
  const result = await execa('go', ['version'], { reject: false });
  return result.exitCode === 0;
}
