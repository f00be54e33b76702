import { defineQuery } from '@temporalio/workflow';
import type { BaseImage } from './request.js';

// What a running or finished clone reports about itself to `cocoon-flow status` and the UI.

export type CloneStep =
  | 'validate'
  | 'resolve-base'
  | 'check-blob'
  | 'pull'
  | 'verify'
  | 'check-tag'
  | 'pull-by-digest'
  | 'restore'
  | 'confirm'
  | 'compensate'
  | 'done'
  | 'failed'
  | 'cancelled';

/** How the blob on disk relates to the pinned digest once verified. */
export type BlobVerification =
  /** The blob file was already on the node; nothing was downloaded. */
  | 'already-present'
  /** Downloaded, and the blob's sha256 is the pinned digest. */
  | 'byte-exact'
  /** Downloaded and converted by cocoon: the download had the digest, the blob differs. */
  | 'converted'
  /** An OCI image pulled by `repo@digest`, which cocoon checks itself. */
  | 'oci-by-digest';

export interface StepTiming {
  step: CloneStep;
  startedAt: string;
  endedAt?: string;
  outcome?: 'ok' | 'failed';
}

export interface CloneStatus {
  step: CloneStep;
  node: string;
  vmName: string;
  snapshot: string;
  base?: BaseImage;
  pullAttempts: number;
  verification?: BlobVerification;
  steps: StepTiming[];
  failure?: { type: string; message: string };
}

export const cloneStatusQuery = defineQuery<CloneStatus>('cloneStatus');
