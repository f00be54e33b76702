import { open } from 'node:fs/promises';

// Header sniffing for downloaded or imported disk images: reject content that is plainly not a
// disk, and read the few qcow2 header fields that decide whether a blob needs converting.

// Below this a file cannot hold even a qcow2 header cluster or a partition table.
export const MIN_DISK_IMAGE_BYTES = 512;

const QCOW2_MAGIC = Buffer.from([0x51, 0x46, 0x49, 0xfb]);

const ARCHIVE_MAGICS: { name: string; magic: number[] }[] = [
  { name: 'gzip', magic: [0x1f, 0x8b] },
  { name: 'xz', magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] },
  { name: 'bzip2', magic: [0x42, 0x5a, 0x68] },
  { name: 'zstd', magic: [0x28, 0xb5, 0x2f, 0xfd] },
  { name: 'zip', magic: [0x50, 0x4b, 0x03, 0x04] },
  { name: '7z', magic: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c] },
];

export interface Qcow2Header {
  version: number;
  hasBackingFile: boolean;
}

export async function readHead(file: string, length = 64): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function startsWith(head: Buffer, magic: number[]): boolean {
  return head.length >= magic.length && magic.every((byte, index) => head[index] === byte);
}

function looksLikeMarkup(head: Buffer): boolean {
  const text = head.toString('latin1').replace(/^\uFEFF|^\xEF\xBB\xBF/, '');
  return text.trimStart().startsWith('<');
}

// Why this content is not a disk image, or undefined when it may be one. Magic numbers are
// checked before the size so a short error page is reported as what it is.
export function explainNonDiskContent(head: Buffer, size: number): string | undefined {
  if (looksLikeMarkup(head)) {
    return 'content looks like HTML/XML, not a disk image';
  }

  const archive = ARCHIVE_MAGICS.find((candidate) => startsWith(head, candidate.magic));
  if (archive) {
    return `content looks like ${archive.name} data, not a disk image (decompress it first)`;
  }

  if (size < MIN_DISK_IMAGE_BYTES) {
    return `content too small to be a disk image (${size} bytes)`;
  }
  return undefined;
}

// The version and backing-file fields of a qcow2 header (big-endian: magic, u32 version,
// u64 backing_file_offset), or undefined when the magic is absent.
export function parseQcow2Header(head: Buffer): Qcow2Header | undefined {
  if (head.length < 16 || !head.subarray(0, 4).equals(QCOW2_MAGIC)) {
    return undefined;
  }
  return {
    version: head.readUInt32BE(4),
    hasBackingFile: head.readBigUInt64BE(8) !== 0n,
  };
}
