// epoch serves a cloud image's current `latest` content at `<origin>/dl/<repo>`, and every
// blob it ever stored at `<origin>/v2/<repo>/blobs/<digest>`. For a single-part image the
// snapshot's digest is that blob's digest, so the exact bytes stay reachable after the tag has
// moved on. Pure string work, so the workflow can use it too.

export interface EpochImageLocation {
  origin: string;
  repo: string;
}

const DOWNLOAD_URL =
  /^(https?:\/\/[a-zA-Z0-9.[\]:-]+)\/dl\/([a-zA-Z0-9][a-zA-Z0-9._-]*(?:\/[a-zA-Z0-9][a-zA-Z0-9._-]*)*)$/;

/** The registry origin and repo of an epoch download URL, or undefined for any other URL. */
export function parseEpochDownloadUrl(url: string): EpochImageLocation | undefined {
  const match = DOWNLOAD_URL.exec(url);
  if (!match?.[1] || !match[2]) return undefined;
  return { origin: match[1], repo: match[2] };
}

export function manifestUrl(location: EpochImageLocation, reference: string): string {
  return `${location.origin}/v2/${location.repo}/manifests/${reference}`;
}

export function blobUrl(location: EpochImageLocation, digest: string): string {
  return `${location.origin}/v2/${location.repo}/blobs/${digest}`;
}

/** The content-addressed URL serving exactly `digest`, if `url` is an epoch download URL. */
export function digestPinnedUrl(url: string, digest: string): string | undefined {
  const location = parseEpochDownloadUrl(url);
  return location ? blobUrl(location, digest) : undefined;
}
