import { request, type Dispatcher } from 'undici';

// One GET of a registry manifest, read into its layer descriptors. Both the tag check and the
// disk-room check need the same answer from the same endpoint.

export interface LayerDescriptor {
  digest: string;
  size: number;
  mediaType?: string;
}

export type ManifestAnswer =
  { ok: true; layers: LayerDescriptor[] } | { ok: false; reason: string };

const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

// A manifest is a few hundred bytes; ten seconds is ample even for a registry under load.
const MANIFEST_TIMEOUT_MS = 10_000;

export async function fetchManifest(
  url: string,
  options: { dispatcher?: Dispatcher; signal?: AbortSignal } = {}
): Promise<ManifestAnswer> {
  const response = await request(url, {
    headers: { accept: MANIFEST_ACCEPT },
    dispatcher: options.dispatcher,
    signal: options.signal,
    headersTimeout: MANIFEST_TIMEOUT_MS,
    bodyTimeout: MANIFEST_TIMEOUT_MS,
  });
  if (response.statusCode !== 200) {
    await response.body.dump();
    return { ok: false, reason: `${url} answered ${response.statusCode}` };
  }

  const layers = readLayers(await response.body.json());
  return layers ? { ok: true, layers } : { ok: false, reason: `${url} is not an image manifest` };
}

function readLayers(manifest: unknown): LayerDescriptor[] | undefined {
  const layers = (manifest as { layers?: unknown } | null)?.layers;
  if (!Array.isArray(layers)) return undefined;

  const valid = layers.every((layer) => {
    const { digest, size } = (layer ?? {}) as { digest?: unknown; size?: unknown };
    return typeof digest === 'string' && typeof size === 'number';
  });
  return valid ? (layers as LayerDescriptor[]) : undefined;
}
