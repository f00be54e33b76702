import { request, type Dispatcher } from 'undici';
import { parseEpochDownloadUrl, manifestUrl } from '../../common/epoch-url.js';
import { fetchManifest } from './manifest.js';

// How much disk a pull will take, asked of the registry before anything is downloaded. epoch's
// /dl/ answer has no Content-Length, but its manifest lists every part with its size and media
// type; a content-addressed blob answers HEAD with its length.

export interface ImageSize {
  bytes: number;
  /** cocoon converts anything but a qcow2 (raw parts): the converted copy needs room too. */
  needsConversion: boolean;
}

const LOOKUP_TIMEOUT_MS = 10_000;

/** The image's size, or undefined when the registry does not say. */
export async function lookUpImageSize(
  url: string,
  options: { dispatcher?: Dispatcher; signal?: AbortSignal } = {}
): Promise<ImageSize | undefined> {
  const location = parseEpochDownloadUrl(url);
  try {
    if (location) return await sizeFromManifest(manifestUrl(location, 'latest'), options);
    return await sizeFromHead(url, options);
  } catch {
    // An unanswered size check must not block a pull; cocoon's own write errors still apply.
    return undefined;
  }
}

async function sizeFromManifest(
  url: string,
  options: { dispatcher?: Dispatcher; signal?: AbortSignal }
): Promise<ImageSize | undefined> {
  const manifest = await fetchManifest(url, options);
  if (!manifest.ok || manifest.layers.length === 0) return undefined;

  const bytes = manifest.layers.reduce((sum, layer) => sum + layer.size, 0);
  const needsConversion = manifest.layers.some(
    (layer) => !/qcow2(\.part)?$/.test(layer.mediaType ?? '')
  );
  return { bytes, needsConversion };
}

async function sizeFromHead(
  url: string,
  options: { dispatcher?: Dispatcher; signal?: AbortSignal }
): Promise<ImageSize | undefined> {
  const response = await request(url, {
    method: 'HEAD',
    dispatcher: options.dispatcher,
    signal: options.signal,
    headersTimeout: LOOKUP_TIMEOUT_MS,
  });
  await response.body.dump();
  const length = Number(response.headers['content-length']);
  if (response.statusCode !== 200 || !Number.isSafeInteger(length) || length <= 0) return undefined;
  return { bytes: length, needsConversion: false };
}
