import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// The custom search attributes that make clones findable in the Web UI and from
// `cocoon-flow list`. A namespace must have them registered before a clone starts: the dev
// server registers them at start-up, the compose stack and `cocoon-flow setup` otherwise.

/** The node the clone runs on. */
export const CLONE_NODE = defineSearchAttributeKey('CloneNode', SearchAttributeType.KEYWORD);

/** The hot snapshot the VM is cloned from. */
export const CLONE_SNAPSHOT = defineSearchAttributeKey(
  'CloneSnapshot',
  SearchAttributeType.KEYWORD
);

/** The base image digest the snapshot pins, once resolved. */
export const CLONE_BASE_DIGEST = defineSearchAttributeKey(
  'CloneBaseDigest',
  SearchAttributeType.KEYWORD
);

/** The step running now, or the step the clone ended on. */
export const CLONE_STEP = defineSearchAttributeKey('CloneStep', SearchAttributeType.KEYWORD);

/** `running` until the clone ends, then `succeeded`, `failed` or `cancelled`. */
export const CLONE_OUTCOME = defineSearchAttributeKey('CloneOutcome', SearchAttributeType.KEYWORD);

/** The failure type of a failed clone (`DigestUnavailable`, `NodeUnavailable`, ...). */
export const CLONE_FAILURE_TYPE = defineSearchAttributeKey(
  'CloneFailureType',
  SearchAttributeType.KEYWORD
);

export const CLONE_SEARCH_ATTRIBUTES = [
  CLONE_NODE,
  CLONE_SNAPSHOT,
  CLONE_BASE_DIGEST,
  CLONE_STEP,
  CLONE_OUTCOME,
  CLONE_FAILURE_TYPE,
] as const;

export type CloneOutcome = 'running' | 'succeeded' | 'failed' | 'cancelled';
