import { createHash } from 'node:crypto';
import { sha256Digest } from './digest.js';
import {
  type CloudImageManifest,
  type Descriptor,
  type DiskFormat,
  detectDiskFormat,
  diskMediaType,
  encodeCloudImageManifest,
  mediaTypes,
  readManifestMediaType,
  selectDiskLayers,
  titleAnnotation,
} from './manifest.js';

/** What a push stored, as a test needs it to check a client. */
export interface PushedImage {
  /** sha256 of the /dl/ body: for a single-part image also the layer's digest. */
  digest: string;
  /** sha256 of the manifest bytes, served as `Docker-Content-Digest`. */
  manifestDigest: string;
  /** Length of the /dl/ body in bytes. */
  size: number;
  layers: Descriptor[];
}

export interface StoredManifest {
  bytes: Buffer;
  digest: string;
  mediaType: string;
}

// oras pushes artifacts with the OCI empty config: the two bytes `{}`.
const emptyConfig = Buffer.from('{}');

/**
 * In-memory content of the registry, kept the way epoch keeps its bucket: a global
 * blob namespace, every manifest ever pushed kept by digest per repository, and tags
 * that only point at manifests. Nothing is ever deleted, as epoch never collects blobs.
 */
export class RegistryStore {
  readonly #blobs = new Map<string, Buffer>();
  readonly #manifests = new Map<string, Map<string, Buffer>>();
  readonly #tags = new Map<string, Map<string, string>>();

  /** Stores a disk as one layer, sniffing qcow2 from its magic, and moves `tag` to it. */
  pushCloudImage(repo: string, bytes: Buffer, tag: string): PushedImage {
    return this.#pushDisk(repo, [bytes], tag, detectDiskFormat(bytes));
  }

  /**
   * Stores a disk split into parts, titled so they sort back into order, and moves
   * `tag` to it. The /dl/ body is the concatenation, whose digest equals no layer's.
   */
  pushCloudImageParts(repo: string, parts: Buffer[], tag: string): PushedImage {
    if (parts.length === 0) {
      throw new RangeError('a split cloud image needs at least one part');
    }
    return this.#pushDisk(repo, parts, tag, detectDiskFormat(parts[0] ?? Buffer.alloc(0)));
  }

  /** Stores arbitrary bytes labelled as a raw disk, which epoch serves without looking. */
  pushRawBody(repo: string, bytes: Buffer, tag: string): PushedImage {
    return this.#pushDisk(repo, [bytes], tag, 'raw');
  }

  blob(digest: string): Buffer | undefined {
    return this.#blobs.get(digest);
  }

  /** A manifest by tag or by `sha256:` digest, as `/v2/<repo>/manifests/<ref>` looks it up. */
  manifest(repo: string, reference: string): StoredManifest | undefined {
    const digest = reference.startsWith('sha256:')
      ? reference
      : this.#tags.get(repo)?.get(reference);
    const bytes = digest === undefined ? undefined : this.#manifests.get(repo)?.get(digest);
    if (digest === undefined || bytes === undefined) {
      return undefined;
    }
    return { bytes, digest, mediaType: readManifestMediaType(bytes) };
  }

  /** The /dl/ body of `repo`: the disk layers of its `latest` manifest, in title order. */
  downloadParts(repo: string): Buffer[] | undefined {
    const stored = this.manifest(repo, 'latest');
    if (stored === undefined) {
      return undefined;
    }
    const manifest = JSON.parse(stored.bytes.toString('utf8')) as CloudImageManifest;
    const parts: Buffer[] = [];
    for (const layer of selectDiskLayers(manifest)) {
      const bytes = this.#blobs.get(layer.digest);
      if (bytes === undefined) {
        return undefined;
      }
      parts.push(bytes);
    }
    return parts;
  }

  #pushDisk(repo: string, parts: Buffer[], tag: string, format: DiskFormat): PushedImage {
    assertRepoName(repo);
    assertTagName(tag);
    const split = parts.length > 1;
    const baseTitle = `${repo.split('/').at(-1) ?? repo}.${format}`;
    const layers = parts.map((bytes, index) => ({
      mediaType: diskMediaType(format, split),
      digest: this.#putBlob(bytes),
      size: bytes.length,
      annotations: {
        [titleAnnotation]: split
          ? `${baseTitle}.${String(index).padStart(2, '0')}.part`
          : baseTitle,
      },
    }));
    const config = {
      mediaType: mediaTypes.ociEmpty,
      digest: this.#putBlob(emptyConfig),
      size: emptyConfig.length,
    };
    const manifestBytes = encodeCloudImageManifest(config, layers);
    const manifestDigest = sha256Digest(manifestBytes);
    mapFor(this.#manifests, repo).set(manifestDigest, manifestBytes);
    mapFor(this.#tags, repo).set(tag, manifestDigest);
    // Hashed part by part: a multi-GiB image made of repeated parts never exists as one buffer.
    const body = createHash('sha256');
    for (const part of parts) body.update(part);
    const size = parts.reduce((total, part) => total + part.length, 0);
    return { digest: `sha256:${body.digest('hex')}`, manifestDigest, size, layers };
  }

  #putBlob(bytes: Buffer): string {
    const digest = sha256Digest(bytes);
    // A private copy, so a caller reusing its buffer cannot change served content.
    this.#blobs.set(digest, Buffer.from(bytes));
    return digest;
  }
}

function mapFor<V>(outer: Map<string, Map<string, V>>, key: string): Map<string, V> {
  let inner = outer.get(key);
  if (inner === undefined) {
    inner = new Map();
    outer.set(key, inner);
  }
  return inner;
}

// OCI distribution name and tag grammars, so pushed names are ones a real registry takes.
const repoPattern =
  /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

function assertRepoName(repo: string): void {
  if (!repoPattern.test(repo)) {
    throw new RangeError(
      `invalid repository name ${JSON.stringify(repo)}: use lowercase path parts`
    );
  }
}

function assertTagName(tag: string): void {
  if (!tagPattern.test(tag)) {
    throw new RangeError(`invalid tag ${JSON.stringify(tag)}: use letters, digits, '.', '_', '-'`);
  }
}
