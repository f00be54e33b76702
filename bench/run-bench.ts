// `npm run bench [name…]`: measures cocoon-flow against the baselines a user would otherwise
// use, side by side in one run, and prints one table per benchmark with the ratios. Names pick
// benchmarks (fast-path, pull-verify, one-download, throughput, memory); none runs them all.
// COCOON_BIN names a real cocoon binary for the image and snapshot commands (real-cocoon.ts).
import { mkdir, writeFile } from 'node:fs/promises';
import { benchFastPath } from './fast-path.js';
import { benchMemory } from './memory.js';
import { benchOneDownload } from './one-download.js';
import { benchPullVerify } from './pull-verify.js';
import { describeMachine, renderResult, type BenchResult } from './report.js';
import { benchThroughput } from './throughput.js';
import {
  describeCocoon,
  realCocoonFromEnv,
  RealCocoonUnusable,
  type RealCocoon,
} from './real-cocoon.js';

const BENCHMARKS: Record<string, (realCocoon?: string) => Promise<BenchResult>> = {
  'fast-path': (realCocoon) => benchFastPath({ realCocoon }),
  'pull-verify': (realCocoon) => benchPullVerify({ realCocoon }),
  'one-download': (realCocoon) => benchOneDownload({ realCocoon }),
  throughput: (realCocoon) => benchThroughput({ realCocoon }),
  memory: (realCocoon) => benchMemory({ realCocoon }),
};

const asked = process.argv.slice(2);
const unknown = asked.filter((name) => !(name in BENCHMARKS));
if (unknown.length > 0) {
  process.stderr.write(
    `Error: unknown benchmark ${unknown.join(', ')}; choose from ${Object.keys(BENCHMARKS).join(', ')}\n`
  );
  process.exit(1);
}

let realCocoon: RealCocoon | undefined;
try {
  realCocoon = await realCocoonFromEnv();
} catch (error) {
  if (!(error instanceof RealCocoonUnusable)) throw error;
  process.stderr.write(`Error: ${error.message}\n`);
  process.exit(1);
}

const names = asked.length > 0 ? asked : Object.keys(BENCHMARKS);
const command = `${realCocoon ? 'COCOON_BIN=<cocoon> ' : ''}npm run bench${asked.map((name) => ` ${name}`).join('')}`;
const header = `Measured ${new Date().toISOString().slice(0, 10)} on ${describeMachine()}; ${describeCocoon(realCocoon)}; \`${command}\`.`;
const sections = [header, ''];
process.stdout.write(`${header}\n\n`);
for (const name of names) {
  process.stderr.write(`running ${name}…\n`);
  const rendered = renderResult(
    await (BENCHMARKS[name] as (realCocoon?: string) => Promise<BenchResult>)(realCocoon?.path)
  );
  process.stdout.write(`${rendered}\n`);
  sections.push(rendered);
}

// Kept for pasting into the README; git-ignored with the other test artifacts.
await mkdir('test-artifacts/bench', { recursive: true });
await writeFile('test-artifacts/bench/latest.md', sections.join('\n'));
