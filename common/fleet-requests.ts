import {
  isPullableUrl,
  validateBaseImage,
  validateCloneRequest,
  type RequestProblem,
  type Validation,
} from './request.js';

// What a caller may ask of the fleet, and its validation. Pure, like the clone request's: the
// client checks before it starts a workflow, and the workflow checks again, since anyone who
// can start one drives a root process on every node.

export interface RefreshFleetRequest {
  /** The epoch `/dl/` URL to force-pull everywhere. */
  image: string;
  /** The nodes to refresh; every node discovered as live when left out. */
  nodes?: string[];
  /** How long a node may have no polling worker before it is reported unavailable. */
  nodeTimeoutSeconds?: number;
}

export interface ScanFleetRequest {
  /** The nodes to scan; every node discovered as live when left out. */
  nodes?: string[];
  nodeTimeoutSeconds?: number;
}

// More than any fleet this tool serves; it keeps one workflow's fan-out bounded.
const MAX_NODES = 1000;

// Stands in for a well-formed digest where only a URL is checked.
const ANY_DIGEST = `sha256:${'0'.repeat(64)}`;

export function validateRefreshRequest(input: unknown): Validation<RefreshFleetRequest> {
  if (!isPlainObject(input)) return notAnObject();
  const problems: RequestProblem[] = [];

  rejectUnknownFields(input, ['image', 'nodes', 'nodeTimeoutSeconds'], problems);
  checkImageUrl(input.image, problems);
  checkNodes(input.nodes, problems);
  checkNodeTimeout(input.nodeTimeoutSeconds, problems);

  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: input as unknown as RefreshFleetRequest };
}

export function validateScanRequest(input: unknown): Validation<ScanFleetRequest> {
  if (!isPlainObject(input)) return notAnObject();
  const problems: RequestProblem[] = [];

  rejectUnknownFields(input, ['nodes', 'nodeTimeoutSeconds'], problems);
  checkNodes(input.nodes, problems);
  checkNodeTimeout(input.nodeTimeoutSeconds, problems);

  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: input as unknown as ScanFleetRequest };
}

/** True for a name a node can have (a Kubernetes node name). */
export function isNodeName(value: unknown): value is string {
  return typeof value === 'string' && nodeProblems(value, 'node').length === 0;
}

function checkImageUrl(value: unknown, problems: RequestProblem[]): void {
  if (typeof value !== 'string' || value === '') {
    problems.push({ field: 'image', problem: 'is required (an http(s) URL)' });
    return;
  }
  const checked = validateBaseImage({ image: value, digest: ANY_DIGEST, type: 'cloudimg' }, 'base');
  if (!checked.ok) {
    for (const problem of checked.problems) {
      problems.push({ ...problem, field: problem.field.replace(/^base\./, '') });
    }
  } else if (!isPullableUrl(value)) {
    problems.push({
      field: 'image',
      problem: `${JSON.stringify(value)} is an import name, not an http(s) URL; only a URL can be pulled`,
    });
  }
}

function checkNodes(value: unknown, problems: RequestProblem[]): void {
  if (value === undefined) return;
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_NODES) {
    problems.push({ field: 'nodes', problem: `must be a list of 1..${MAX_NODES} node names` });
    return;
  }
  value.forEach((node: unknown, index) => problems.push(...nodeProblems(node, `nodes[${index}]`)));
  if (new Set(value).size !== value.length) {
    problems.push({ field: 'nodes', problem: 'names a node more than once' });
  }
}

function checkNodeTimeout(value: unknown, problems: RequestProblem[]): void {
  if (value === undefined) return;
  const checked = validateCloneRequest({
    node: 'node',
    vmName: 'vm',
    snapshot: 'snapshot',
    options: { nodeTimeoutSeconds: value },
  });
  if (checked.ok) return;
  for (const problem of checked.problems) {
    problems.push({ ...problem, field: problem.field.replace(/^options\./, '') });
  }
}

// The clone request already knows what a node name is; a placeholder fills the rest.
function nodeProblems(node: unknown, field: string): RequestProblem[] {
  const checked = validateCloneRequest({ node, vmName: 'vm', snapshot: 'snapshot' });
  if (checked.ok) return [];
  return checked.problems.map((problem) => ({ ...problem, field }));
}

function rejectUnknownFields(
  value: Record<string, unknown>,
  known: string[],
  problems: RequestProblem[]
): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) problems.push({ field: key, problem: 'is not a known field' });
  }
}

function notAnObject<T>(): Validation<T> {
  return { ok: false, problems: [{ field: 'request', problem: 'must be a JSON object' }] };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
