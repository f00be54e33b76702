// Every way a clone can fail, as the stable type names that ApplicationFailure.type carries.
// Callers match on these names, never on message text.

export const FailureType = {
  /** The request is malformed or unsafe; nothing ran. */
  InvalidRequest: 'InvalidRequest',
  /** No worker has polled the node's queue for longer than the node timeout. */
  NodeUnavailable: 'NodeUnavailable',
  /** The worker's own configuration cannot serve this clone. */
  WorkerMisconfigured: 'WorkerMisconfigured',
  SnapshotNotFound: 'SnapshotNotFound',
  /** The base image was imported under a name, is not on the node and cannot be pulled. */
  ImportedBaseMissing: 'ImportedBaseMissing',
  /** The base image URL is outside the registries this worker may download from. */
  RegistryNotAllowed: 'RegistryNotAllowed',
  /** The registry answered that the image does not exist (4xx). */
  ImageNotFound: 'ImageNotFound',
  /** The registry failed or could not be reached; worth retrying. */
  RegistryUnavailable: 'RegistryUnavailable',
  /** The download broke off before the end; worth retrying. */
  DownloadIncomplete: 'DownloadIncomplete',
  /** The download stopped growing; the pull was stopped and is worth retrying. */
  PullStalled: 'PullStalled',
  /** The node has too little free disk for the image; said before downloading. */
  DiskFull: 'DiskFull',
  /** The registry served something that is not a disk image (an HTML page, an archive). */
  NotADiskImage: 'NotADiskImage',
  /** cocoon could not store or convert the downloaded image. */
  ImageUnusable: 'ImageUnusable',
  /** Nothing the registry serves has the digest the snapshot pins. */
  DigestUnavailable: 'DigestUnavailable',
  /** A VM with the requested name exists and this clone did not make it. */
  VmNameTaken: 'VmNameTaken',
  /** cocoon refused the VM spec (resources below the snapshot's, a bad name). */
  VmSpecRejected: 'VmSpecRejected',
  /** The restore could not open the base image blob (it vanished after it was verified). */
  BaseImageMissing: 'BaseImageMissing',
  /** The VM was made but is not running. */
  VmNotRunning: 'VmNotRunning',
  /** A step ran out of time on every attempt its retry policy allowed. */
  StepTimedOut: 'StepTimedOut',
  /** cocoon failed in a way this tool does not recognise; worth retrying. */
  CocoonFailed: 'CocoonFailed',
  /** cocoon printed output this tool cannot read; retrying will not change it. */
  CocoonOutputInvalid: 'CocoonOutputInvalid',
} as const;

export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/** Failures that a retry of the same activity cannot fix. */
export const NON_RETRYABLE_FAILURES: readonly FailureType[] = [
  FailureType.InvalidRequest,
  FailureType.NodeUnavailable,
  FailureType.WorkerMisconfigured,
  FailureType.SnapshotNotFound,
  FailureType.ImportedBaseMissing,
  FailureType.RegistryNotAllowed,
  FailureType.ImageNotFound,
  FailureType.NotADiskImage,
  FailureType.DiskFull,
  FailureType.ImageUnusable,
  FailureType.DigestUnavailable,
  FailureType.VmNameTaken,
  FailureType.VmSpecRejected,
  FailureType.BaseImageMissing,
  FailureType.CocoonOutputInvalid,
];
