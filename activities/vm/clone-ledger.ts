import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isMissingFile } from '../image/blob-file.js';
import type { ProcessIdentity } from './process-identity.js';

// cocoon records no owner on a VM, so a retried clone could not tell its own half-made VM from
// somebody else's VM of the same name. The ledger answers that: before `vm clone` runs, the
// worker writes which clone is making which VM name, in a directory of its own outside
// cocoon's root. One small file per VM name, replaced atomically.

export interface LedgerEntry {
  vmName: string;
  /** The workflow id of the clone that is making, or made, the VM. */
  cloneId: string;
  recordedAt: string;
  /** The `vm clone` process making the VM, so a retry after a crash waits for it to finish. */
  cloneProcess?: ProcessIdentity;
}

export class CloneLedger {
  constructor(private readonly directory: string) {}

  async owner(vmName: string): Promise<string | undefined> {
    return (await this.entry(vmName))?.cloneId;
  }

  async entry(vmName: string): Promise<LedgerEntry | undefined> {
    try {
      const entry = JSON.parse(await readFile(this.pathOf(vmName), 'utf8')) as LedgerEntry;
      return typeof entry.cloneId === 'string' ? entry : undefined;
    } catch (error) {
      if (isMissingFile(error)) return undefined;
      throw error;
    }
  }

  /** Durably records that `cloneId` is making `vmName`, and with which process once known. */
  async claim(vmName: string, cloneId: string, cloneProcess?: ProcessIdentity): Promise<void> {
    await mkdir(this.directory, { recursive: true, mode: 0o700 });
    const entry: LedgerEntry = {
      vmName,
      cloneId,
      recordedAt: new Date().toISOString(),
      cloneProcess,
    };
    const finalPath = this.pathOf(vmName);
    const tempPath = `${finalPath}.${process.pid}.tmp`;

    // fsync before rename: after a power loss the entry is either the old one or the new one.
    const file = await open(tempPath, 'w', 0o600);
    try {
      await file.writeFile(`${JSON.stringify(entry)}\n`);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tempPath, finalPath);
  }

  /** Drops the entry, but only while it still names `cloneId`. */
  async release(vmName: string, cloneId: string): Promise<void> {
    if ((await this.owner(vmName)) !== cloneId) return;
    await rm(this.pathOf(vmName), { force: true });
  }

  private pathOf(vmName: string): string {
    // VM names are validated against cocoon's rule (no '/', no leading '.'), so they are safe
    // file names as they are.
    return join(this.directory, `${vmName}.json`);
  }
}
