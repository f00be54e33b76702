import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { create as createTar } from 'tar';

import { digestHex } from './image-ref.js';

// Builds snapshot archives for tests, in the format `cocoon snapshot import` reads: a tar whose
// first entry is snapshot.json ({"version":1,"config":{...}}), followed by the snapshot's files.
// The files are small placeholders; the simulator only checks that they exist.

export interface SnapshotArchiveOptions {
  name?: string;
  description?: string;
  image: string;
  imageDigest: string;
  imageType: 'cloudimg' | 'oci';
  cpu: number;
  // Bytes.
  memory: number;
  // Bytes.
  storage: number;
  hypervisor?: 'cloud-hypervisor' | 'firecracker';
  network?: string;
  nics?: number;
  gzip?: boolean;
}

function buildEnvelope(options: SnapshotArchiveOptions): unknown {
  return {
    version: 1,
    config: {
      cpu: options.cpu,
      memory: options.memory,
      storage: options.storage,
      image: options.image,
      image_digest: options.imageDigest,
      image_type: options.imageType,
      ...(options.network ? { network: options.network } : {}),
      id: 'SIMULATORSOURCESNAPSHOT222',
      name: options.name ?? '',
      ...(options.description ? { description: options.description } : {}),
      image_blob_ids: { [digestHex(options.imageDigest)]: {} },
      hypervisor: options.hypervisor ?? 'cloud-hypervisor',
      nics: options.nics ?? 1,
    },
  };
}

function placeholderFiles(options: SnapshotArchiveOptions): Record<string, string> {
  const cow = options.imageType === 'oci' ? 'cow.raw' : 'overlay.qcow2';
  return {
    'config.json': `${JSON.stringify({ cpus: { boot_vcpus: options.cpu } })}\n`,
    'state.json': '{}\n',
    'memory-ranges': 'cocoon simulator memory placeholder\n',
    [cow]: 'cocoon simulator disk placeholder\n',
  };
}

export async function writeSnapshotArchive(
  file: string,
  options: SnapshotArchiveOptions
): Promise<void> {
  const staging = await mkdtemp(path.join(tmpdir(), 'cocoon-sim-snapshot-'));
  try {
    const files = {
      'snapshot.json': `${JSON.stringify(buildEnvelope(options))}\n`,
      ...placeholderFiles(options),
    };
    for (const [name, content] of Object.entries(files)) {
      await writeFile(path.join(staging, name), content);
    }
    await createTar(
      { file, cwd: staging, gzip: options.gzip ?? false, portable: true },
      Object.keys(files)
    );
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
