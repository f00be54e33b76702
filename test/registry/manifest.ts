/** Media types and OCI manifest shapes epoch uses for cloud images. */
export const mediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  osImage: 'application/vnd.cocoonstack.os-image.v1+json',
  diskQcow2: 'application/vnd.cocoonstack.disk.qcow2',
  diskQcow2Part: 'application/vnd.cocoonstack.disk.qcow2.part',
  diskRaw: 'application/vnd.cocoonstack.disk.raw',
  diskRawPart: 'application/vnd.cocoonstack.disk.raw.part',
} as const;

export const titleAnnotation = 'org.opencontainers.image.title';

export type DiskFormat = 'qcow2' | 'raw';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface CloudImageManifest {
  schemaVersion: 2;
  mediaType: string;
  artifactType: string;
  config: Descriptor;
  layers: Descriptor[];
}

// Epoch streams only these layer types at /dl/, including the legacy Windows names.
const diskMediaTypes = new Set<string>([
  mediaTypes.diskQcow2,
  mediaTypes.diskQcow2Part,
  mediaTypes.diskRaw,
  mediaTypes.diskRawPart,
  'application/vnd.cocoonstack.windows.disk.qcow2',
  'application/vnd.cocoonstack.windows.disk.qcow2.part',
  'application/vnd.cocoonstack.windows.disk.raw',
  'application/vnd.cocoonstack.windows.disk.raw.part',
]);

const qcow2Magic = Buffer.from([0x51, 0x46, 0x49, 0xfb]);

/** qcow2 when the bytes start with the qcow2 magic `QFI\xfb`, raw otherwise. */
export function detectDiskFormat(bytes: Uint8Array): DiskFormat {
  return Buffer.from(bytes.subarray(0, 4)).equals(qcow2Magic) ? 'qcow2' : 'raw';
}

/** Layer media type for a whole disk, or for one part of a split disk. */
export function diskMediaType(format: DiskFormat, split: boolean): string {
  if (format === 'qcow2') {
    return split ? mediaTypes.diskQcow2Part : mediaTypes.diskQcow2;
  }
  return split ? mediaTypes.diskRawPart : mediaTypes.diskRaw;
}

/** Serialises a cloud image manifest the way `oras push --artifact-type` lays it out. */
export function encodeCloudImageManifest(config: Descriptor, layers: Descriptor[]): Buffer {
  const manifest: CloudImageManifest = {
    schemaVersion: 2,
    mediaType: mediaTypes.ociManifest,
    artifactType: mediaTypes.osImage,
    config,
    layers,
  };
  return Buffer.from(JSON.stringify(manifest));
}

/** The manifest's own `mediaType`, falling back to the OCI manifest type as epoch does. */
export function readManifestMediaType(bytes: Buffer): string {
  try {
    const probe = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown };
    if (typeof probe.mediaType === 'string' && probe.mediaType !== '') {
      return probe.mediaType;
    }
  } catch {
    // A manifest that is not JSON still gets served; only its type is unknown.
  }
  return mediaTypes.ociManifest;
}

/**
 * The disk layers epoch concatenates for /dl/: disk media types only, ordered by title
 * compared as plain strings, with a stable sort so equal titles keep manifest order.
 */
export function selectDiskLayers(manifest: CloudImageManifest): Descriptor[] {
  const titleOf = (layer: Descriptor): string => layer.annotations?.[titleAnnotation] ?? '';
  return manifest.layers
    .filter((layer) => diskMediaTypes.has(layer.mediaType))
    .sort((a, b) => {
      const [left, right] = [titleOf(a), titleOf(b)];
      return left < right ? -1 : left > right ? 1 : 0;
    });
}
