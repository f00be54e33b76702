import type { Dispatcher } from 'undici';
import { manifestUrl, type EpochImageLocation } from '../../common/epoch-url.js';
import { fetchManifest, type LayerDescriptor } from './manifest.js';

// After a pull produced other bytes than the snapshot pins, the registry's manifest for the
// tag tells the two causes apart: a tag that still names the pinned digest means the download
// was damaged; a tag that names another digest means the image moved on after the snapshot
// was baked.

export type TagState =
  | { kind: 'pinned'; layerDigest: string }
  | { kind: 'moved'; layerDigest: string }
  | { kind: 'unknown'; reason: string };

export async function checkTag(
  location: EpochImageLocation,
  pinnedDigest: string,
  options: { dispatcher?: Dispatcher; signal?: AbortSignal; tag?: string } = {}
): Promise<TagState> {
  const url = manifestUrl(location, options.tag ?? 'latest');
  const manifest = await fetchManifest(url, options);
  if (!manifest.ok) return { kind: 'unknown', reason: manifest.reason };

  const { layers } = manifest;
  // A multi-part image's digest is the hash of the parts joined, which no layer carries.
  if (layers.length !== 1) {
    return { kind: 'unknown', reason: `${url} lists ${layers.length} parts, not one` };
  }

  const layerDigest = (layers[0] as LayerDescriptor).digest;
  return layerDigest === pinnedDigest
    ? { kind: 'pinned', layerDigest }
    : { kind: 'moved', layerDigest };
}
