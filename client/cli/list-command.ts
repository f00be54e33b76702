import { loadSettings } from '../../common/config/load-settings.js';
import { CloneClient } from '../clone-client.js';
import { listClones, type CloneListing } from '../clone-operations.js';
import { cloneVisibilityQuery } from '../clone-query.js';
import { UsageError } from './cli-error.js';
import { FILTER_OPTIONS, filterFrom } from './filter-options.js';
import { connectionFlags, CONNECTION_OPTIONS, parseCommand, stringValue } from './options.js';

const LIST_OPTIONS = {
  ...CONNECTION_OPTIONS,
  ...FILTER_OPTIONS,
  output: { type: 'string', short: 'o' },
} as const;

/** `cocoon-flow list [--node N] [--outcome failed] [--since 24h] …`: one line per clone. */
export async function runListCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseCommand(args, LIST_OPTIONS);
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
  const query = cloneVisibilityQuery(filterFrom(values));

  const settings = loadSettings(connectionFlags(values));
  const client = await CloneClient.connect(settings.temporal);
  try {
    const clones = await listClones(client.client, query);
    process.stdout.write(
      stringValue(values.output) === 'json'
        ? `${JSON.stringify(clones, null, 2)}\n`
        : formatTable(clones)
    );
  } finally {
    await client.close();
  }
}

function formatTable(clones: CloneListing[]): string {
  const header = ['WORKFLOW ID', 'NODE', 'SNAPSHOT', 'STEP', 'OUTCOME', 'FAILURE', 'STARTED'];
  const rows = clones.map((c) => [
    c.workflowId,
    c.node ?? '-',
    c.snapshot ?? '-',
    c.step ?? '-',
    c.outcome ?? c.status.toLowerCase(),
    c.failureType ?? '-',
    c.startTime.toISOString(),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  return [header, ...rows]
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd()
    )
    .join('\n')
    .concat('\n');
}
