import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isMissingFile } from './blob-file.js';

// cocoon streams a pull into <root>/cloudimg/temp/pull-*.img and prints progress only as
// carriage-return text meant for a terminal. The size of that temp file is the honest measure
// of how far a download has come: it feeds the heartbeats, and a download that stops growing is
// a stalled one, caught long before cocoon's own 30-minute limit.

export class DownloadWatch {
  private bytesSeen = 0;
  private lastGrowthAt = Date.now();

  private constructor(
    private readonly tempDir: string,
    /** Temp files that existed before this pull started belong to other pulls. */
    private readonly others: Set<string>
  ) {}

  static async start(rootDir: string): Promise<DownloadWatch> {
    const tempDir = join(rootDir, 'cloudimg', 'temp');
    return new DownloadWatch(tempDir, new Set(await listPullFiles(tempDir)));
  }

  get bytes(): number {
    return this.bytesSeen;
  }

  /** Measures the download; returns how long it has gone without a new byte. */
  async idleMs(): Promise<number> {
    let total = 0;
    for (const name of await listPullFiles(this.tempDir)) {
      if (this.others.has(name)) continue;
      try {
        total += (await stat(join(this.tempDir, name))).size;
      } catch (error) {
        // The file was committed or removed between readdir and stat.
        if (!isMissingFile(error)) throw error;
      }
    }

    if (total > this.bytesSeen) {
      this.bytesSeen = total;
      this.lastGrowthAt = Date.now();
    }
    return Date.now() - this.lastGrowthAt;
  }
}

async function listPullFiles(tempDir: string): Promise<string[]> {
  try {
    return (await readdir(tempDir)).filter((name) => name.startsWith('pull-'));
  } catch (error) {
    if (isMissingFile(error)) return [];
    throw error;
  }
}
