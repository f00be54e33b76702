// How an image backend matches a ref against its index (cocoon's index lookup): the exact key
// first, then the full digest (`sha256:<hex>` or bare hex), then a hex prefix of at least 12
// characters. Keys come back sorted, standing in for Go's map order.

export interface ImageInfo {
  id: string;
  name: string;
  type: 'cloudimg' | 'oci';
  size: number;
  created_at: string;
}

export interface KeyedDigest {
  key: string;
  digest: string;
}

const PREFIX_PATTERN = /^(?:sha256:)?([0-9a-f]{12,64})$/;

export function digestHex(digest: string): string {
  return digest.startsWith('sha256:') ? digest.slice('sha256:'.length) : digest;
}

export function matchImageKeys(entries: KeyedDigest[], ref: string): string[] {
  const sorted = [...entries].sort((a, b) => a.key.localeCompare(b.key));
  if (sorted.some((entry) => entry.key === ref)) {
    return [ref];
  }

  const exact = sorted.filter((entry) => entry.digest === ref || digestHex(entry.digest) === ref);
  if (exact.length > 0) {
    return exact.map((entry) => entry.key);
  }

  const prefix = PREFIX_PATTERN.exec(ref)?.[1];
  if (!prefix) {
    return [];
  }
  return sorted
    .filter((entry) => digestHex(entry.digest).startsWith(prefix))
    .map((entry) => entry.key);
}
