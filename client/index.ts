// The typed client for callers other than the CLI.
export { CloneClient, type CloneRef, type CloneReport } from './clone-client.js';
export {
  CloneCancelledError,
  CloneFailedError,
  InvalidCloneRequestError,
  TemporalAuthError,
  TemporalUnavailableError,
} from './clone-errors.js';
export { FailureType } from '../common/failures.js';
export type { CloneRequest, CloneResources, BaseImage } from '../common/request.js';
export type { CloneStatus } from '../common/status.js';
export type { VmRecord } from '../common/vm-record.js';
