// What the fleet workflows report, per node. A node that fails is one entry with its typed
// error, never a failed workflow: the operator needs the state of every other node too.

/** A step's failure on one node: `type` is a FailureType name. */
export interface NodeError {
  type: string;
  message: string;
}

/** One node after a fleet refresh. */
export interface NodeRefresh {
  node: string;
  /** The digest cocoon had cached for the URL before the pull; absent if none. */
  before?: string;
  /** The digest cached after the pull, once its blob's sha256 was checked. */
  after?: string;
  /** The cached digest is not the one it was (a first pull counts as a change). */
  changed: boolean;
  /** How the blob relates to `after`: byte-exact, or converted by cocoon. */
  verification?: 'byte-exact' | 'converted';
  error?: NodeError;
}

export interface FleetRefreshReport {
  image: string;
  nodes: NodeRefresh[];
  /** One line: how many nodes changed, stayed, failed. */
  summary: string;
}

/** A base image that a node's snapshots pin. */
export interface PinnedBase {
  url: string;
  digest: string;
  /** The snapshots on the node baked on it. */
  snapshots: string[];
}

export interface StaleBase extends PinnedBase {
  /** What the URL serves now: the tag has moved past the pinned digest. */
  servedDigest?: string;
}

export interface UnavailableBase extends PinnedBase {
  error: NodeError;
}

/** One node after a pre-pull scan. */
export interface NodeScan {
  node: string;
  /** Pinned and already on disk. */
  present: PinnedBase[];
  /** Missing, now pulled and verified. */
  prepulled: PinnedBase[];
  /** Missing, and the URL now serves another digest: a clone will pull it by digest. */
  stale: StaleBase[];
  /** Missing, and the pull or its check failed. */
  unavailable: UnavailableBase[];
  /** The node could not be scanned at all (no worker, cocoon failing). */
  error?: NodeError;
}

export interface FleetScanReport {
  nodes: NodeScan[];
  summary: string;
}
