import { log } from '@temporalio/workflow';
import { FailureType } from '../common/failures.js';
import type { FleetRefreshReport, NodeRefresh } from '../common/fleet-reports.js';
import { validateRefreshRequest, type RefreshFleetRequest } from '../common/fleet-requests.js';
import { DEFAULT_NODE_TIMEOUT_SECONDS } from '../common/request.js';
import { nodeActivities } from './activity-options.js';
import { cloneFailure } from './clone-failure.js';
import { fleetNodeActivities } from './fleet-activity-options.js';
import { runOnNode } from './fleet-node-guard.js';
import { checkedRequest, targetNodes } from './fleet-targets.js';

/**
 * Force-pulls one cloud image URL on every node (or the named ones), all nodes at once, each
 * through its own queue, and reports per node which digest it had cached and has now. The
 * remedy for a fleet whose URL caches went stale: a node's failure is its own report entry.
 */
export async function refreshFleet(input: RefreshFleetRequest): Promise<FleetRefreshReport> {
  const request = checkedRequest('fleet refresh', validateRefreshRequest(input));
  const timeoutSeconds = request.nodeTimeoutSeconds ?? DEFAULT_NODE_TIMEOUT_SECONDS;

  const nodes = await targetNodes(request.nodes);
  const reports = await Promise.all(
    nodes.map((node) => refreshNode(node, request.image, timeoutSeconds))
  );

  const summary = summarize(request.image, reports);
  log.info(summary);
  return { image: request.image, nodes: reports, summary };
}

async function refreshNode(node: string, url: string, timeoutSeconds: number) {
  const reads = fleetNodeActivities(node);
  const steps = nodeActivities(node);
  const report: NodeRefresh = { node, changed: false };

  report.error = await runOnNode(node, timeoutSeconds, async (step) => {
    report.before = await step('inspect-before', () =>
      reads.inspectCachedImage.executeWithOptions(
        { summary: `read the cached digest of ${url} on ${node}` },
        [{ url }]
      )
    );

    // The same activity as the clone's pull, so a clone pulling the URL on this node at the
    // same moment shares this download instead of racing it.
    await step('pull', () =>
      steps.pull.pullCloudImage.executeWithOptions({ summary: `force pull ${url} on ${node}` }, [
        { url },
      ])
    );

    const after = await step('inspect-after', () =>
      reads.inspectCachedImage.executeWithOptions(
        { summary: `read the digest of ${url} on ${node} after the pull` },
        [{ url }]
      )
    );
    if (!after) throw unusable(node, url, 'cocoon has no entry for the URL after pulling it');
    report.after = after;

    const outcome = await step('verify', () =>
      steps.verify.verifyCloudImage.executeWithOptions(
        { summary: `verify sha256 of ${after} on ${node}` },
        [{ url, digest: after }]
      )
    );
    if (!outcome.verified) {
      throw unusable(node, url, `cocoon lists ${after} for the URL but its blob is not on disk`);
    }
    if (outcome.verification !== 'oci-by-digest') report.verification = outcome.verification;
  });

  report.changed = report.after !== undefined && report.after !== report.before;
  return report;
}

function unusable(node: string, url: string, why: string) {
  return cloneFailure(
    FailureType.ImageUnusable,
    `refreshing ${url} on node ${node}: ${why}; check cocoon's image store on ${node} and refresh again`,
    { node, url }
  );
}

function summarize(url: string, reports: NodeRefresh[]): string {
  if (reports.length === 0) return `refreshed ${url} on no nodes: none was named or discovered`;

  const failed = reports.filter((report) => report.error);
  const changed = reports.filter((report) => !report.error && report.changed).length;
  const unchanged = reports.length - failed.length - changed;
  const failedNames = failed.length > 0 ? ` (${failed.map((r) => r.node).join(', ')})` : '';
  return `refreshed ${url} on ${reports.length} node(s): ${changed} changed, ${unchanged} unchanged, ${failed.length} failed${failedNames}`;
}
