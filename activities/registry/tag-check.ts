import { request, type Dispatcher } from 'undici';
import { manifestUrl, type EpochImageLocation } from '../../common/epoch-url.js';

// After a pull produced other bytes than the snapshot pins, the registry's manifest for the
// tag tells the two causes apart: a tag that still names the pinned digest means the download
// was damaged; a tag that names another digest means the image moved on after the snapshot
// was baked.

export type TagState =
  | { kind: 'pinned'; layerDigest: string }
  | { kind: 'moved'; layerDigest: string }
  | { kind: 'unknown'; reason: string };

const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

// A manifest is a few hundred bytes; ten seconds is ample even for a registry under load.
const MANIFEST_TIMEOUT_MS = 10_000;

export async function checkTag(
  location: EpochImageLocation,
  pinnedDigest: string,
  options: { dispatcher?: Dispatcher; signal?: AbortSignal; tag?: string } = {}
): Promise<TagState> {
  const url = manifestUrl(location, options.tag ?? 'latest');
  const response = await request(url, {
    method: 'GET',
    headers: { accept: MANIFEST_ACCEPT },
    dispatcher: options.dispatcher,
    signal: options.signal,
    headersTimeout: MANIFEST_TIMEOUT_MS,
    bodyTimeout: MANIFEST_TIMEOUT_MS,
  });

  if (response.statusCode !== 200) {
    await response.body.dump();
    return { kind: 'unknown', reason: `${url} answered ${response.statusCode}` };
  }

  const layers = readLayers(await response.body.json());
  if (!layers) return { kind: 'unknown', reason: `${url} is not an image manifest` };
  // A multi-part image's digest is the hash of the parts joined, which no layer carries.
  if (layers.length !== 1) {
    return { kind: 'unknown', reason: `${url} lists ${layers.length} parts, not one` };
  }

  const layerDigest = layers[0] as string;
  return layerDigest === pinnedDigest
    ? { kind: 'pinned', layerDigest }
    : { kind: 'moved', layerDigest };
}

function readLayers(manifest: unknown): string[] | undefined {
  const layers = (manifest as { layers?: unknown } | null)?.layers;
  if (!Array.isArray(layers)) return undefined;

  const digests = layers.map((layer) => (layer as { digest?: unknown } | null)?.digest);
  return digests.every((d): d is string => typeof d === 'string') ? digests : undefined;
}
