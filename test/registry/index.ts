export { EpochRegistry, type EpochRegistryOptions } from './server.js';
export type { Fault, FaultHandle, FaultKind, FaultMatch } from './faults.js';
export type { RequestFilter, RequestRecord } from './stats.js';
export type { PushedImage } from './store.js';
export type { RouteKind } from './routes.js';
export { type Descriptor, mediaTypes, titleAnnotation } from './manifest.js';
export { isSha256Digest, sha256Digest } from './digest.js';
