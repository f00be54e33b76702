#!/usr/bin/env node
// Runs the epoch-shaped test registry by hand:
//   node dist/test/registry/main.js --port 5000 --push ubuntu/24.04=disk.qcow2
// A push may name a tag, `repo:tag=path`; without one it moves `latest`.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

import { EpochRegistry } from './server.js';

interface PushRequest {
  repo: string;
  tag: string;
  path: string;
}

function parsePush(value: string): PushRequest {
  const match = /^([^=:]+)(?::([^=]+))?=(.+)$/.exec(value);
  if (match?.[1] === undefined || match[3] === undefined) {
    throw new Error(`--push takes repo[:tag]=path, got ${JSON.stringify(value)}`);
  }
  return { repo: match[1], tag: match[2] ?? 'latest', path: match[3] };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
      push: { type: 'string', multiple: true, default: [] },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port takes 0-65535, got ${JSON.stringify(values.port)}`);
  }
  const pushes = (values.push ?? []).map(parsePush);

  const registry = await EpochRegistry.start({ host: values.host, port });
  console.log(registry.url);
  for (const push of pushes) {
    const pushed = registry.pushCloudImage(push.repo, await readFile(push.path), push.tag);
    console.log(`pushed ${push.repo}:${push.tag} from ${push.path}`);
    // /dl/ only ever serves the latest tag, so other tags are reachable by manifest alone.
    if (push.tag === 'latest') {
      console.log(`  download  ${registry.downloadUrl(push.repo)}`);
    }
    console.log(`  manifest  ${registry.manifestUrl(push.repo, push.tag)}`);
    console.log(`  digest    ${pushed.digest} (manifest ${pushed.manifestDigest})`);
  }

  const stop = (): void => {
    void registry.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

// `node --test dist/test/` loads every file under a test/ folder as a test file; a
// server started from here would keep that run waiting forever.
if (process.env['NODE_TEST_CONTEXT'] === undefined) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
