import type { CommandContext } from './context.js';
import { wrapError } from './errors.js';
import { isJsonFormat } from './list-format.js';
import { logInfo } from './log.js';
import { printJson, printTable, printText } from './output.js';
import { importSnapshot } from './snapshot-import.js';
import { findSnapshot, listSnapshots, presentSnapshot } from './snapshot-store.js';
import { formatBinarySize } from './units.js';

// The `snapshot` commands.

const FUNC = 'snapshot.handler';

export async function runSnapshotImport({ layout, args, flags, signal }: CommandContext) {
  const id = await importSnapshot(layout, {
    file: args[0],
    name: flags.has('name') ? flags.string('name') : undefined,
    description: flags.has('description') ? flags.string('description') : undefined,
    signal,
  });
  logInfo(FUNC, `snapshot imported: ${id}`);
}

export async function runSnapshotInspect({ layout, args }: CommandContext) {
  let snapshot;
  try {
    snapshot = await findSnapshot(layout, args[0] ?? '');
  } catch (err) {
    throw wrapError('inspect', err);
  }
  if (!snapshot) {
    throw new Error('inspect: snapshot not found');
  }
  printJson(presentSnapshot(snapshot));
}

export async function runSnapshotList({ layout, flags }: CommandContext) {
  const json = isJsonFormat(flags.string('format'));
  const snapshots = await listSnapshots(layout);

  if (snapshots.length === 0) {
    printText('No snapshots found.');
  } else if (json) {
    printJson(snapshots.map(presentSnapshot));
  } else {
    const rows = snapshots.map((s) => [
      s.id,
      s.name,
      s.image,
      String(s.cpu),
      formatBinarySize(s.memory),
      s.created_at,
    ]);
    printTable(['ID', 'NAME', 'IMAGE', 'CPU', 'MEMORY', 'CREATED'], rows);
  }
}
