import { execa } from 'execa';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { loadSettings } from '../../common/config/load-settings.js';
import { CloneClient } from '../clone-client.js';
import { UsageError } from './cli-error.js';
import { connectionFlags, CONNECTION_OPTIONS, parseCommand, stringValue } from './options.js';

// A drop-in for the `cocoon vm rm --force <vm>` call vk-cocoon makes when a pod is deleted. A
// clone still running for that VM is cancelled first and waited for, so a pod deleted
// mid-clone leaks no VM; then cocoon removes what exists.

const RM_OPTIONS = {
  ...CONNECTION_OPTIONS,
  node: { type: 'string' },
  force: { type: 'boolean' },
  output: { type: 'string', short: 'o' },
} as const;

export async function runRmCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, RM_OPTIONS);
  if (positionals.length === 0) throw new UsageError('requires at least 1 arg(s), only received 0');

  const settings = loadSettings({ ...connectionFlags(values), node: stringValue(values.node) });
  if (!settings.node) throw new UsageError('no node: pass --node or set "node" in the config file');
  const cocoon = settings.cocoon;
  const cocoonArgs = ['--root-dir', cocoon.rootDir, '--run-dir', cocoon.runDir];

  // vk-cocoon may name the VM by id; clones are keyed by name, so ask cocoon for it.
  const vmNames = new Map<string, string>();
  for (const ref of positionals) {
    const inspected = await execa(cocoon.binary, [...cocoonArgs, 'vm', 'inspect', ref], {
      reject: false,
    });
    const name = inspected.exitCode === 0 ? readVmName(inspected.stdout) : undefined;
    vmNames.set(ref, name ?? ref);
  }

  const client = await CloneClient.connect(settings.temporal);
  const settled = new Set<string>();
  try {
    for (const [ref, name] of vmNames) {
      const cancelled = await client.cancelRunningClones(settings.node, name);
      if (cancelled.length > 0) settled.add(ref);
    }
  } finally {
    await client.close();
  }

  // A VM whose clone was just cancelled is gone already (its clone removed it); cocoon would
  // call that "not found" and fail every other ref with it.
  const remaining = [];
  for (const ref of positionals) {
    const exists = await execa(cocoon.binary, [...cocoonArgs, 'vm', 'inspect', ref], {
      reject: false,
    });
    if (exists.exitCode === 0 || !settled.has(ref)) remaining.push(ref);
  }

  let exitCode = 0;
  if (remaining.length > 0) {
    const flags = [...(values.force ? ['--force'] : []), ...outputFlag(values.output)];
    const removal = await execa(
      cocoon.binary,
      [...cocoonArgs, 'vm', 'rm', ...flags, ...remaining],
      {
        stdio: 'inherit',
        reject: false,
      }
    );
    exitCode = removal.exitCode ?? 1;
  } else if (stringValue(values.output) === 'json') {
    process.stdout.write(`${JSON.stringify({ succeeded: [] }, null, 2)}\n`);
  }

  // The ledger must not keep claiming names whose VMs are gone.
  if (exitCode === 0) {
    for (const name of vmNames.values()) {
      await rm(join(settings.ledgerDir, `${name}.json`), { force: true });
    }
  }
  return exitCode;
}

function readVmName(stdout: string): string | undefined {
  try {
    const name = (JSON.parse(stdout) as { config?: { name?: unknown } }).config?.name;
    return typeof name === 'string' ? name : undefined;
  } catch {
    return undefined;
  }
}

function outputFlag(output: unknown): string[] {
  return typeof output === 'string' ? ['--output', output] : [];
}
