import type { DownloadProgress } from './download.js';

// cocoon's pull progress on stdout: `\r  X / Y (p%)` when the size is known, `\r  X downloaded`
// otherwise, then one newline when the download ends.

// Redrawing on every chunk would flood a pipe; a few updates a second is what a terminal shows.
const REDRAW_INTERVAL_MS = 200;

export interface ProgressPrinter {
  update(progress: DownloadProgress): void;
  finish(): void;
}

function renderProgress({ received, total }: DownloadProgress): string {
  if (total === undefined || total === 0) {
    return `\r  ${received} downloaded`;
  }
  return `\r  ${received} / ${total} (${Math.floor((received / total) * 100)}%)`;
}

export function createProgressPrinter(): ProgressPrinter {
  let last: DownloadProgress | undefined;
  let drawnAt = 0;

  return {
    update(progress) {
      last = progress;
      const now = Date.now();
      if (now - drawnAt >= REDRAW_INTERVAL_MS) {
        drawnAt = now;
        process.stdout.write(renderProgress(progress));
      }
    },
    finish() {
      if (last) {
        process.stdout.write(`${renderProgress(last)}\n`);
      }
    },
  };
}
