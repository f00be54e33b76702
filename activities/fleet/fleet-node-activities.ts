import type { PinnedBase } from '../../common/fleet-reports.js';
import { ensureAllowed } from '../registry/url-guard.js';
import { FailureType } from '../../common/failures.js';
import { DIGEST } from '../../common/request.js';
import type { CocoonCli } from '../cocoon/cocoon-cli.js';
import { guardInput } from '../input-guard.js';
import { failure, toFailure } from '../to-failure.js';
import { readPinnedBases } from './pinned-bases.js';

// The node activities the fleet workflows add to the clone's own: reads of this host's cocoon
// that tell what it has cached and what its snapshots need. Registered on the node's queue.

export interface FleetNodeActivityDeps {
  node: string;
  cocoon: CocoonCli;
  /** URL prefixes this worker may download images from. */
  registries: readonly string[];
}

// A well-formed digest for steps that check a URL alone.
const ANY_DIGEST = `sha256:${'0'.repeat(64)}`;

export function createFleetNodeActivities(deps: FleetNodeActivityDeps) {
  const { node, cocoon } = deps;

  return {
    /** The digest cocoon has cached for a cloud image URL, or undefined if it has none. */
    async inspectCachedImage(input: { url: string }): Promise<string | undefined> {
      const what = `reading the cached digest of ${JSON.stringify(input.url)} on node ${node}`;
      guardInput(what, { image: { image: input.url, digest: ANY_DIGEST, type: 'cloudimg' } });
      ensureAllowed(input.url, deps.registries, what);

      try {
        const entry = await cocoon.inspectImage(input.url);
        if (!entry) return undefined;
        if (!DIGEST.test(entry.id)) {
          throw failure(
            FailureType.CocoonOutputInvalid,
            `${what}: cocoon reports ${JSON.stringify(entry.id)}, which is not a sha256 digest`
          );
        }
        return entry.id;
      } catch (error) {
        throw toFailure(error, what);
      }
    },

    /** The cloud image bases this node's snapshots pin, one entry per URL and digest. */
    async listPinnedBases(): Promise<PinnedBase[]> {
      try {
        return await readPinnedBases(cocoon);
      } catch (error) {
        throw toFailure(error, `listing the base images of the snapshots on node ${node}`);
      }
    },
  };
}

export type FleetNodeActivities = ReturnType<typeof createFleetNodeActivities>;
