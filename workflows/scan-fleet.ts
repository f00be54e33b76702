import { isCancellation, log } from '@temporalio/workflow';
import type { FleetScanReport, NodeScan, PinnedBase } from '../common/fleet-reports.js';
import { validateScanRequest, type ScanFleetRequest } from '../common/fleet-requests.js';
import { DEFAULT_NODE_TIMEOUT_SECONDS } from '../common/request.js';
import { nodeActivities, type NodeActivityProxies } from './activity-options.js';
import { fleetNodeActivities } from './fleet-activity-options.js';
import { nodeErrorOf, runOnNode, type StepRunner } from './fleet-node-guard.js';
import { checkedRequest, targetNodes } from './fleet-targets.js';

/**
 * The pre-pull scan, run by a Schedule: on every live node, finds the base images its
 * snapshots pin whose blobs are not on disk, and pulls them the way a clone would (the tag
 * check, a force pull, then the sha256 check), so that clones rarely wait for a download. A
 * base the URL no longer serves is reported stale, not pulled.
 */
export async function scanFleet(input: ScanFleetRequest = {}): Promise<FleetScanReport> {
  const request = checkedRequest('fleet scan', validateScanRequest(input));
  const timeoutSeconds = request.nodeTimeoutSeconds ?? DEFAULT_NODE_TIMEOUT_SECONDS;

  const nodes = await targetNodes(request.nodes);
  const reports = await Promise.all(nodes.map((node) => scanNode(node, timeoutSeconds)));

  const summary = summarize(reports);
  log.info(summary);
  return { nodes: reports, summary };
}

async function scanNode(node: string, timeoutSeconds: number): Promise<NodeScan> {
  const reads = fleetNodeActivities(node);
  const steps = nodeActivities(node);
  const report: NodeScan = { node, present: [], prepulled: [], stale: [], unavailable: [] };

  report.error = await runOnNode(node, timeoutSeconds, async (step) => {
    const pinned = await step('list-pinned', () =>
      reads.listPinnedBases.executeWithOptions(
        { summary: `list the base images pinned by snapshots on ${node}` },
        []
      )
    );

    const missing: PinnedBase[] = [];
    for (const base of pinned) {
      const blob = await step('check-blob', () =>
        steps.quick.findBaseBlob.executeWithOptions(
          { summary: `look for the blob of ${base.digest} on ${node}` },
          [{ digest: base.digest }]
        )
      );
      (blob.present ? report.present : missing).push(base);
    }

    // One URL at a time: pulls on one host compete for its disk and its link, and a scan is
    // never in a hurry.
    for (const [url, bases] of groupByUrl(missing)) {
      await prepull(node, url, bases, { steps, step, report });
    }
  });

  return report;
}

// A base whose tag has moved on cannot come from its URL any more: a clone will pull it by
// digest when it needs it. The registry's manifest says so without a download, and without it
// every scan would download the whole image again only to find the other digest.
async function prepull(
  node: string,
  url: string,
  bases: PinnedBase[],
  context: { steps: NodeActivityProxies; step: StepRunner; report: NodeScan }
): Promise<void> {
  const { steps, step, report } = context;
  const pullable: PinnedBase[] = [];

  for (const base of bases) {
    const tag = await attempt(base, report, () =>
      step('check-tag', () =>
        steps.quick.checkRegistryTag.executeWithOptions(
          { summary: `check whether the tag of ${url} still names ${base.digest}` },
          [{ url, digest: base.digest }]
        )
      )
    );
    if (tag?.kind === 'moved') report.stale.push({ ...base, servedDigest: tag.layerDigest });
    else if (tag) pullable.push(base);
  }
  if (pullable.length === 0) return;

  // One force pull serves every digest pinned under the URL; each is then checked on its own,
  // since the URL serves at most one of them.
  try {
    await step('pull', () =>
      steps.pull.pullCloudImage.executeWithOptions({ summary: `pre-pull ${url} on ${node}` }, [
        { url },
      ])
    );
  } catch (error) {
    if (isCancellation(error)) throw error;
    const failure = nodeErrorOf(error);
    report.unavailable.push(...pullable.map((base) => ({ ...base, error: failure })));
    return;
  }

  for (const base of pullable) {
    const outcome = await attempt(base, report, () =>
      step('verify', () =>
        steps.verify.verifyCloudImage.executeWithOptions(
          { summary: `verify sha256 of ${base.digest} on ${node}` },
          [{ url, digest: base.digest }]
        )
      )
    );
    if (outcome?.verified) report.prepulled.push(base);
    else if (outcome) report.stale.push({ ...base, servedDigest: outcome.servedDigest });
  }
}

// One base's failure is that base's entry; the scan goes on with the node's other bases.
async function attempt<T>(
  base: PinnedBase,
  report: NodeScan,
  run: () => Promise<T>
): Promise<T | undefined> {
  try {
    return await run();
  } catch (error) {
    if (isCancellation(error)) throw error;
    report.unavailable.push({ ...base, error: nodeErrorOf(error) });
    return undefined;
  }
}

function groupByUrl(bases: PinnedBase[]): Map<string, PinnedBase[]> {
  const groups = new Map<string, PinnedBase[]>();
  for (const base of bases) groups.set(base.url, [...(groups.get(base.url) ?? []), base]);
  return groups;
}

function summarize(reports: NodeScan[]): string {
  if (reports.length === 0) return 'scanned no nodes: none was named or discovered';

  const count = (pick: (report: NodeScan) => unknown[]) =>
    reports.reduce((total, report) => total + pick(report).length, 0);
  const failed = reports.filter((report) => report.error).map((report) => report.node);
  const failedNames = failed.length > 0 ? ` (${failed.join(', ')})` : '';
  return `scanned ${reports.length} node(s): ${count((r) => r.present)} present, ${count((r) => r.prepulled)} pre-pulled, ${count((r) => r.stale)} stale, ${count((r) => r.unavailable)} unavailable, ${failed.length} node(s) failed${failedNames}`;
}
