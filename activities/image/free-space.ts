import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isMissingFile } from './blob-file.js';

/**
 * Bytes an unprivileged writer may still use on the filesystem that holds `path`. cocoon makes
 * its directories on first use, so a path that does not exist yet is measured at its nearest
 * existing parent.
 */
export async function freeBytes(path: string): Promise<number> {
  try {
    const info = await statfs(path);
    return info.bavail * info.bsize;
  } catch (error) {
    const parent = dirname(path);
    if (!isMissingFile(error) || parent === path) throw error;
    return freeBytes(parent);
  }
}
