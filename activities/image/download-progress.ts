import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isMissingFile } from './blob-file.js';

// cocoon streams a pull into <root>/cloudimg/temp/pull-*.img and prints progress only as
// carriage-return text meant for a terminal. The size of that temp file is the honest measure
// of how far a download has come, so progress is read from the disk instead of from stdout.

export async function measurePullBytes(rootDir: string): Promise<number> {
  const tempDir = join(rootDir, 'cloudimg', 'temp');
  let names: string[];
  try {
    names = await readdir(tempDir);
  } catch (error) {
    if (isMissingFile(error)) return 0;
    throw error;
  }

  let total = 0;
  for (const name of names.filter((n) => n.startsWith('pull-'))) {
    try {
      total += (await stat(join(tempDir, name))).size;
    } catch (error) {
      // The file was committed or removed between readdir and stat.
      if (!isMissingFile(error)) throw error;
    }
  }
  return total;
}
