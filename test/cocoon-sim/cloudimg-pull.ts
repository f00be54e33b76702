import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';

import { commitCloudImage } from './cloudimg-commit.js';
import { hasUsableBlob, readCloudIndexLocked } from './cloudimg-index.js';
import { downloadToFile } from './download.js';
import { wrapError } from './errors.js';
import { generateTempName } from './ids.js';
import type { Layout } from './layout.js';
import { logInfo } from './log.js';
import { createProgressPrinter } from './progress.js';
import { explainNonDiskContent, readHead } from './qcow2.js';

const FUNC = 'cloudimg.pull';

export interface CloudPullOptions {
  force: boolean;
  showProgress: boolean;
  signal: AbortSignal;
}

// cocoon trusts a URL it has seen before: when the URL is indexed and its blob file is present,
// the pull ends here without contacting the server, whatever the URL serves today.
async function findCachedDigest(layout: Layout, url: string, signal: AbortSignal) {
  return readCloudIndexLocked(
    layout,
    async (index) => {
      const entry = index.images[url];
      return entry && (await hasUsableBlob(layout, entry.content_sum))
        ? entry.content_sum
        : undefined;
    },
    signal
  );
}

async function downloadImage(url: string, file: string, options: CloudPullOptions) {
  const progress = options.showProgress ? createProgressPrinter() : undefined;
  try {
    return await downloadToFile(url, file, {
      signal: options.signal,
      onProgress: progress && ((p) => progress.update(p)),
    });
  } finally {
    progress?.finish();
  }
}

async function pull(layout: Layout, url: string, options: CloudPullOptions): Promise<void> {
  if (!options.force) {
    const cached = await findCachedDigest(layout, url, options.signal);
    if (cached) {
      logInfo(FUNC, `image already cached, skipping download: ${url} -> ${cached}`);
      return;
    }
  }

  logInfo(FUNC, `downloading cloud image ${url}`);
  await mkdir(layout.cloudimg.temp, { recursive: true });
  const file = path.join(layout.cloudimg.temp, generateTempName('pull-', '.img'));

  try {
    const { hex, size } = await downloadImage(url, file, options);
    const rejection = explainNonDiskContent(await readHead(file), size);
    if (rejection) {
      throw new Error(`download ${url}: ${rejection}`);
    }

    await commitCloudImage(layout, { file, hex }, url, options.signal);
    logInfo(FUNC, `pull complete: ${url} -> sha256:${hex}`);
  } finally {
    await rm(file, { force: true });
  }
}

export async function pullCloudImage(
  layout: Layout,
  url: string,
  options: CloudPullOptions
): Promise<void> {
  try {
    await pull(layout, url, options);
  } catch (err) {
    throw wrapError(`pull ${url}`, err);
  }
}
