import { createHash } from 'node:crypto';

/** Content digest in the OCI form `sha256:<hex>`, as epoch names blobs and manifests. */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

const digestPattern = /^sha256:[0-9a-f]{64}$/;

/** Whether `value` is a well-formed `sha256:<64 lowercase hex>` digest. */
export function isSha256Digest(value: string): boolean {
  return digestPattern.test(value);
}
