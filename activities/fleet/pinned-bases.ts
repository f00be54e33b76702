import { log } from '@temporalio/activity';
import type { PinnedBase } from '../../common/fleet-reports.js';
import { isPullableUrl, validateBaseImage, validateCloneRequest } from '../../common/request.js';
import type { CocoonCli } from '../cocoon/cocoon-cli.js';
import { CocoonError } from '../cocoon/cocoon-error.js';
import { parseSnapshotRecord, type SnapshotRecord } from '../cocoon/records.js';

// The base images a node's snapshots are baked on: the digests a clone from any of them will
// need on disk. Only cloud images with a pullable URL count; an OCI base is pulled by digest
// on demand, and an image imported under a name cannot be pulled at all.

export async function readPinnedBases(cocoon: CocoonCli): Promise<PinnedBase[]> {
  const snapshots = await listSnapshots(cocoon);
  const bases = new Map<string, PinnedBase>();

  for (const snapshot of snapshots) {
    const base = {
      image: snapshot.image,
      digest: snapshot.image_digest,
      type: snapshot.image_type,
    };
    // A snapshot with an unreadable base fails its own clones with a clear error; it must not
    // stop the scan of every other snapshot on the node.
    if (!validateBaseImage(base).ok) {
      log.warn('Skipping a snapshot whose base image record is invalid', {
        snapshot: snapshot.name,
      });
      continue;
    }
    if (base.type !== 'cloudimg' || !isPullableUrl(base.image)) continue;

    const key = `${base.image} ${base.digest}`;
    const known = bases.get(key) ?? { url: base.image, digest: base.digest, snapshots: [] };
    known.snapshots.push(snapshot.name || snapshot.id);
    bases.set(key, known);
  }
  return [...bases.values()];
}

// `snapshot list` gives every record at once; a record that lacks the base fields (an older
// cocoon's list format) is read again through `snapshot inspect`, which always has them.
async function listSnapshots(cocoon: CocoonCli): Promise<SnapshotRecord[]> {
  const command = ['snapshot', 'list', '--format', 'json'];
  const items = await cocoon.listSnapshotItems();
  const records: SnapshotRecord[] = [];
  for (const item of items) {
    try {
      records.push(parseSnapshotRecord(JSON.stringify(item), command));
    } catch (error) {
      const ref = snapshotRef(item);
      if (!(error instanceof CocoonError) || !ref) throw error;
      records.push(await cocoon.inspectSnapshot(ref));
    }
  }
  return records;
}

// The id comes from cocoon's own output, yet it becomes an argv element: it must be a plain
// snapshot reference, never something cocoon could read as a flag.
function snapshotRef(item: unknown): string | undefined {
  const id = (item as { id?: unknown } | null)?.id;
  const checked = validateCloneRequest({ node: 'node', vmName: 'vm', snapshot: id });
  return checked.ok && typeof id === 'string' ? id : undefined;
}
