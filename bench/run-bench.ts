// `npm run bench [name…]`: measures cocoon-flow against the baselines a user would otherwise
// use, side by side in one run, and prints one table per benchmark with the ratios. Names pick
// benchmarks (fast-path, pull-verify, one-download, throughput, memory); none runs them all.
import { mkdir, writeFile } from 'node:fs/promises';
import { benchFastPath } from './fast-path.js';
import { benchMemory } from './memory.js';
import { benchOneDownload } from './one-download.js';
import { benchPullVerify } from './pull-verify.js';
import { describeMachine, renderResult, type BenchResult } from './report.js';
import { benchThroughput } from './throughput.js';

const BENCHMARKS: Record<string, () => Promise<BenchResult>> = {
  'fast-path': () => benchFastPath(),
  'pull-verify': () => benchPullVerify(),
  'one-download': () => benchOneDownload(),
  throughput: () => benchThroughput(),
  memory: () => benchMemory(),
};

const asked = process.argv.slice(2);
const unknown = asked.filter((name) => !(name in BENCHMARKS));
if (unknown.length > 0) {
  process.stderr.write(
    `Error: unknown benchmark ${unknown.join(', ')}; choose from ${Object.keys(BENCHMARKS).join(', ')}\n`
  );
  process.exit(1);
}

const names = asked.length > 0 ? asked : Object.keys(BENCHMARKS);
const header = `Measured ${new Date().toISOString().slice(0, 10)} on ${describeMachine()}; \`npm run bench ${asked.join(' ')}\`.`;
const sections = [header, ''];
process.stdout.write(`${header}\n\n`);
for (const name of names) {
  process.stderr.write(`running ${name}…\n`);
  const rendered = renderResult(await (BENCHMARKS[name] as () => Promise<BenchResult>)());
  process.stdout.write(`${rendered}\n`);
  sections.push(rendered);
}

// Kept for pasting into the README; git-ignored with the other test artifacts.
await mkdir('test-artifacts/bench', { recursive: true });
await writeFile('test-artifacts/bench/latest.md', sections.join('\n'));
