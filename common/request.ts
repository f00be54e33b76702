// The clone request and its validation. This module is pure and deterministic: the workflow,
// the activities and the client all run the same checks, so a bad request is refused before it
// reaches a root process on a node, and again if something slips past the first gate.

export type ImageType = 'cloudimg' | 'oci';

/** The base image a snapshot was baked on, as `cocoon snapshot inspect` reports it. */
export interface BaseImage {
  /** A cloud image URL, an OCI reference, or the name an image was imported under. */
  image: string;
  /** `sha256:<64 lower-case hex>`. */
  digest: string;
  type: ImageType;
}

/** What `cocoon vm clone` may override; anything left out is inherited from the snapshot. */
export interface CloneResources {
  cpu?: number;
  memoryBytes?: number;
  storageBytes?: number;
  nics?: number;
  network?: string;
  dns?: string[];
  noDirectIO?: boolean;
  onDemand?: boolean;
}

export interface CloneOptions {
  /** How long the node may go without a polling worker before the clone fails. Default 120. */
  nodeTimeoutSeconds?: number;
  /** How many times a pull that produced the wrong bytes is tried again. Default 3. */
  pullAttempts?: number;
}

export interface CloneRequest {
  node: string;
  vmName: string;
  /** The local snapshot to clone, by name or id, as cocoon resolves it on the node. */
  snapshot: string;
  /** The caller's id for this request (vk-cocoon: the pod UID); part of the workflow id. */
  requestId?: string;
  resources?: CloneResources;
  /** The snapshot's base image when the caller already knows it; skips `snapshot inspect`. */
  base?: BaseImage;
  options?: CloneOptions;
}

export const DEFAULT_NODE_TIMEOUT_SECONDS = 120;
export const DEFAULT_PULL_ATTEMPTS = 3;

export interface RequestProblem {
  field: string;
  problem: string;
}

export type Validation<T> = { ok: true; value: T } | { ok: false; problems: RequestProblem[] };

// Kubernetes node names are DNS-1123 subdomains.
const NODE_NAME = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;
// cocoon's own VM name rule (types/vm.go); checking it here fails fast instead of on the node.
export const VM_NAME = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/;
const SNAPSHOT_REF = /^[a-zA-Z0-9][a-zA-Z0-9._/:-]{0,254}$/;
const REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/;
const IMPORT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9._/:@-]{0,254}$/;
const OCI_REF = /^[a-z0-9][a-z0-9._/:-]{0,254}$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9a-fA-F:]{2,39}$/;
export const DIGEST = /^sha256:[0-9a-f]{64}$/;

// Scheme, host (DNS name, IPv4 or bracketed IPv6), optional port, then a plain path. No user
// info, query, fragment, spaces or quotes: the URL becomes an argv element of a root process.
const CLOUD_IMAGE_URL =
  /^https?:\/\/(\[[0-9a-fA-F:]+\]|[a-zA-Z0-9]([a-zA-Z0-9.-]{0,251}[a-zA-Z0-9])?)(:\d{1,5})?(\/[a-zA-Z0-9._~%/+:-]*)?$/;
const ANY_SCHEME = /^[a-zA-Z][a-zA-Z0-9+.-]*:/;

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const LIMITS = {
  cpu: { min: 1, max: 512 },
  memoryBytes: { min: 64 * MiB, max: 16 * 1024 * GiB },
  storageBytes: { min: 64 * MiB, max: 256 * 1024 * GiB },
  nics: { min: 1, max: 32 },
  nodeTimeoutSeconds: { min: 1, max: 24 * 3600 },
  pullAttempts: { min: 1, max: 10 },
};

const REQUEST_FIELDS = ['node', 'vmName', 'snapshot', 'requestId', 'resources', 'base', 'options'];
const RESOURCE_FIELDS = [
  'cpu',
  'memoryBytes',
  'storageBytes',
  'nics',
  'network',
  'dns',
  'noDirectIO',
  'onDemand',
];
const BASE_FIELDS = ['image', 'digest', 'type'];
const OPTION_FIELDS = ['nodeTimeoutSeconds', 'pullAttempts'];

/** Checks a clone request from an untrusted caller and returns it typed, or every problem. */
export function validateCloneRequest(input: unknown): Validation<CloneRequest> {
  const problems: RequestProblem[] = [];

  if (!isPlainObject(input)) {
    return { ok: false, problems: [{ field: 'request', problem: 'must be a JSON object' }] };
  }

  rejectUnknownFields(input, REQUEST_FIELDS, '', problems);
  checkPattern(input.node, 'node', NODE_NAME, 'a Kubernetes node name', problems, true);
  checkPattern(
    input.vmName,
    'vmName',
    VM_NAME,
    "1-63 letters, digits, '.', '_' or '-', starting with a letter or digit",
    problems,
    true
  );
  checkSnapshotRef(input.snapshot, problems);
  checkPattern(
    input.requestId,
    'requestId',
    REQUEST_ID,
    "1-128 letters, digits, '.', '_' or '-'",
    problems,
    false
  );
  checkResources(input.resources, problems);
  if (input.base !== undefined) {
    const base = validateBaseImage(input.base, 'base');
    if (!base.ok) problems.push(...base.problems);
  }
  checkOptions(input.options, problems);

  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: input as unknown as CloneRequest };
}

/** Checks a base image record, whether it came from a caller or from `snapshot inspect`. */
export function validateBaseImage(input: unknown, field = 'base'): Validation<BaseImage> {
  const problems: RequestProblem[] = [];

  if (!isPlainObject(input)) {
    return { ok: false, problems: [{ field, problem: 'must be an object' }] };
  }

  rejectUnknownFields(input, BASE_FIELDS, `${field}.`, problems);
  checkPattern(
    input.digest,
    `${field}.digest`,
    DIGEST,
    "'sha256:' and 64 lower-case hex digits",
    problems,
    true
  );

  if (input.type !== 'cloudimg' && input.type !== 'oci') {
    problems.push({ field: `${field}.type`, problem: "must be 'cloudimg' or 'oci'" });
  } else if (typeof input.image !== 'string') {
    problems.push({ field: `${field}.image`, problem: 'is required' });
  } else if (input.type === 'cloudimg') {
    checkCloudImageRef(input.image, `${field}.image`, problems);
  } else if (!OCI_REF.test(stripDigest(input.image))) {
    problems.push({
      field: `${field}.image`,
      problem: `${quote(input.image)} is not an OCI reference (lower-case registry/repo[:tag])`,
    });
  }

  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: input as unknown as BaseImage };
}

/** True when a cloud image ref is a URL cocoon can pull, false when it is an import name. */
export function isPullableUrl(image: string): boolean {
  return CLOUD_IMAGE_URL.test(image);
}

/** The hex part of a `sha256:` digest. */
export function digestHex(digest: string): string {
  return digest.slice('sha256:'.length);
}

/** An OCI reference without any `@digest` suffix. */
export function stripDigest(ref: string): string {
  const at = ref.indexOf('@');
  return at === -1 ? ref : ref.slice(0, at);
}

/** One line an operator can act on, naming every field that was wrong. */
export function describeProblems(problems: RequestProblem[]): string {
  return problems.map((p) => `${p.field} ${p.problem}`).join('; ');
}

function checkCloudImageRef(image: string, field: string, problems: RequestProblem[]): void {
  if (CLOUD_IMAGE_URL.test(image)) {
    if (/(^|\/)\.\.?(\/|$)/.test(image.replace(/^https?:\/\/[^/]*/, ''))) {
      problems.push({ field, problem: `${quote(image)} has '.' or '..' path segments` });
    }
    return;
  }

  if (ANY_SCHEME.test(image) && !/^[a-zA-Z0-9][a-zA-Z0-9._-]*:[^/]/.test(image)) {
    problems.push({
      field,
      problem: `${quote(image)} is not a plain http(s) URL; a cloud image base must be an http(s) URL without user info, query or fragment, or the name it was imported under`,
    });
    return;
  }

  if (!IMPORT_NAME.test(image) || image.includes('..')) {
    problems.push({
      field,
      problem: `${quote(image)} is neither an http(s) URL nor a valid import name`,
    });
  }
}

function checkSnapshotRef(value: unknown, problems: RequestProblem[]): void {
  checkPattern(
    value,
    'snapshot',
    SNAPSHOT_REF,
    "a snapshot name, id or repo[:tag] of letters, digits, '.', '_', '/', ':' or '-'",
    problems,
    true
  );
  if (typeof value === 'string' && value.includes('..')) {
    problems.push({ field: 'snapshot', problem: `${quote(value)} must not contain '..'` });
  }
}

function checkResources(value: unknown, problems: RequestProblem[]): void {
  if (value === undefined) return;
  if (!isPlainObject(value)) {
    problems.push({ field: 'resources', problem: 'must be an object' });
    return;
  }

  rejectUnknownFields(value, RESOURCE_FIELDS, 'resources.', problems);
  checkInteger(value.cpu, 'resources.cpu', LIMITS.cpu, problems);
  checkInteger(value.memoryBytes, 'resources.memoryBytes', LIMITS.memoryBytes, problems);
  checkInteger(value.storageBytes, 'resources.storageBytes', LIMITS.storageBytes, problems);
  checkInteger(value.nics, 'resources.nics', LIMITS.nics, problems);
  checkPattern(
    value.network,
    'resources.network',
    NETWORK_NAME,
    'a CNI conflist name',
    problems,
    false
  );
  checkBoolean(value.noDirectIO, 'resources.noDirectIO', problems);
  checkBoolean(value.onDemand, 'resources.onDemand', problems);
  checkDns(value.dns, problems);
}

function checkOptions(value: unknown, problems: RequestProblem[]): void {
  if (value === undefined) return;
  if (!isPlainObject(value)) {
    problems.push({ field: 'options', problem: 'must be an object' });
    return;
  }

  rejectUnknownFields(value, OPTION_FIELDS, 'options.', problems);
  checkInteger(
    value.nodeTimeoutSeconds,
    'options.nodeTimeoutSeconds',
    LIMITS.nodeTimeoutSeconds,
    problems
  );
  checkInteger(value.pullAttempts, 'options.pullAttempts', LIMITS.pullAttempts, problems);
}

function checkDns(value: unknown, problems: RequestProblem[]): void {
  if (value === undefined) return;
  if (!Array.isArray(value) || value.length > 8) {
    problems.push({ field: 'resources.dns', problem: 'must be a list of at most 8 IP addresses' });
    return;
  }
  for (const server of value) {
    if (typeof server !== 'string' || !(IPV4.test(server) || IPV6.test(server))) {
      problems.push({ field: 'resources.dns', problem: `${quote(server)} is not an IP address` });
    }
  }
}

function checkPattern(
  value: unknown,
  field: string,
  pattern: RegExp,
  expected: string,
  problems: RequestProblem[],
  required: boolean
): void {
  if (value === undefined || value === '') {
    if (required) problems.push({ field, problem: `is required (${expected})` });
    return;
  }
  if (typeof value !== 'string') {
    problems.push({ field, problem: `must be a string (${expected})` });
    return;
  }
  if (!pattern.test(value)) {
    problems.push({ field, problem: `${quote(value)} is invalid: expected ${expected}` });
  }
}

function checkInteger(
  value: unknown,
  field: string,
  range: { min: number; max: number },
  problems: RequestProblem[]
): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    problems.push({ field, problem: `${quote(value)} must be a whole number` });
    return;
  }
  if (value < range.min || value > range.max) {
    problems.push({ field, problem: `${value} is outside ${range.min}..${range.max}` });
  }
}

function checkBoolean(value: unknown, field: string, problems: RequestProblem[]): void {
  if (value !== undefined && typeof value !== 'boolean') {
    problems.push({ field, problem: 'must be true or false' });
  }
}

function rejectUnknownFields(
  value: Record<string, unknown>,
  known: string[],
  prefix: string,
  problems: RequestProblem[]
): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      problems.push({ field: `${prefix}${key}`, problem: 'is not a known field' });
    }
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Long or hostile values are shortened so that an error message stays one readable line.
function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  const shown = text.length > 80 ? `${text.slice(0, 77)}...` : text;
  return JSON.stringify(shown);
}
