import { cpus, totalmem } from 'node:os';

// One table per benchmark: cocoon-flow and its baseline side by side, the ratio between them,
// and whether the goal was met. `npm run bench` prints them all and the README keeps the
// latest.

export interface BenchResult {
  name: string;
  /** The goal as the issue states it, in words. */
  goal: string;
  met: boolean;
  header: string[];
  rows: string[][];
  /** What limits a figure, what was tuned, anything a reader needs to trust the table. */
  notes: string[];
}

export function renderResult(result: BenchResult): string {
  const lines = [
    `### ${result.name}`,
    '',
    `Goal: ${result.goal}. **${result.met ? 'Met' : 'Missed'}.**`,
    '',
    `| ${result.header.join(' | ')} |`,
    `|${result.header.map(() => '---').join('|')}|`,
    ...result.rows.map((row) => `| ${row.join(' | ')} |`),
  ];
  if (result.notes.length > 0) lines.push('', ...result.notes.map((note) => `- ${note}`));
  return `${lines.join('\n')}\n`;
}

/** The machine the figures come from, for the report's first line. */
export function describeMachine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const gib = (totalmem() / 2 ** 30).toFixed(0);
  return `${cpus().length} × ${cpu}, ${gib} GiB, Node ${process.version}, ${process.platform}`;
}

export function ratio(numerator: number, denominator: number): string {
  return denominator === 0 ? 'n/a' : `${(numerator / denominator).toFixed(2)}×`;
}
