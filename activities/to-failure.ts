import { ApplicationFailure } from '@temporalio/common';
import { FailureType, NON_RETRYABLE_FAILURES } from '../common/failures.js';
import { CocoonError, type CocoonErrorCode } from './cocoon/cocoon-error.js';

// Activities throw ApplicationFailures with a stable type, so the workflow and the retry
// policy decide on the type alone. This is where cocoon's error codes become those types.

const TYPE_OF_CODE: Record<CocoonErrorCode, FailureType> = {
  SnapshotNotFound: FailureType.SnapshotNotFound,
  ImageNotFound: FailureType.ImageNotFound,
  VmNotFound: FailureType.CocoonFailed,
  VmNameTaken: FailureType.VmNameTaken,
  InvalidVmName: FailureType.VmSpecRejected,
  ResourceBelowSnapshot: FailureType.VmSpecRejected,
  HttpStatus: FailureType.RegistryUnavailable,
  RegistryUnreachable: FailureType.RegistryUnavailable,
  DownloadIncomplete: FailureType.DownloadIncomplete,
  NotADiskImage: FailureType.NotADiskImage,
  UnsupportedImage: FailureType.ImageUnusable,
  BaseBlobMissing: FailureType.BaseImageMissing,
  BaseLayerMissing: FailureType.BaseImageMissing,
  AmbiguousRef: FailureType.CocoonFailed,
  LockBusy: FailureType.CocoonFailed,
  Canceled: FailureType.CocoonFailed,
  MalformedOutput: FailureType.CocoonOutputInvalid,
  // Killed from outside (an OOM kill, an operator): the next attempt settles what it left.
  Killed: FailureType.CocoonFailed,
  NotStarted: FailureType.WorkerMisconfigured,
  Unknown: FailureType.CocoonFailed,
};

/** A failure of the given type, retryable unless the type is listed as hopeless. */
export function failure(type: FailureType, message: string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: NON_RETRYABLE_FAILURES.includes(type),
    details: details === undefined ? undefined : [details],
  });
}

/**
 * Turns whatever an activity caught into a typed failure. `what` says which step on which
 * node, so the message alone tells an operator where to look.
 */
export function toFailure(error: unknown, what: string): unknown {
  if (error instanceof ApplicationFailure) return error;
  if (!(error instanceof CocoonError)) return error;

  const type = typeOfCocoonError(error);
  // cocoon's own error line already names the command's subject; the step says the rest.
  const reason = error.details.errorLine ?? error.message;
  return failure(type, `${what}: ${reason}${adviceFor(type)}`, {
    cocoonCode: error.code,
    command: error.details.command,
    httpStatus: error.details.httpStatus,
  });
}

function typeOfCocoonError(error: CocoonError): FailureType {
  if (error.code !== 'HttpStatus') return TYPE_OF_CODE[error.code];

  // 4xx means the registry does not have it; 408 and 429 are the registry asking to wait.
  const status = error.details.httpStatus ?? 0;
  const gone = status >= 400 && status < 500 && status !== 408 && status !== 429;
  return gone ? FailureType.ImageNotFound : FailureType.RegistryUnavailable;
}

function adviceFor(type: FailureType): string {
  switch (type) {
    case FailureType.SnapshotNotFound:
      return ' (import or pull the snapshot on this node first)';
    case FailureType.ImageNotFound:
      return ' (check that the image exists in the registry)';
    case FailureType.NotADiskImage:
      return ' (the URL does not serve a disk image; check the snapshot base URL)';
    case FailureType.VmSpecRejected:
      return ' (fix the requested name or resources)';
    case FailureType.WorkerMisconfigured:
      return " (check the worker's cocoon binary path and sudo settings)";
    default:
      return '';
  }
}
