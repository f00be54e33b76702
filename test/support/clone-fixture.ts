import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { CloneClient } from '../../client/clone-client.js';
import { EpochRegistry } from '../registry/index.js';
import { readFixtureImage, type FixtureImageName } from '../fixtures/images.js';
import { startTemporalDevServer } from './temporal-server.js';
import { SimulatedNode } from './simulated-node.js';

/**
 * Everything a clone test needs, all real: a Temporal dev server, an epoch-shaped registry on
 * loopback, and simulated nodes each with a real cocoon-flow worker.
 */
export class CloneFixture {
  private readonly nodes: SimulatedNode[] = [];
  private nodeCount = 0;

  private constructor(
    readonly env: TestWorkflowEnvironment,
    readonly registry: EpochRegistry,
    readonly client: CloneClient,
    private readonly realCocoon?: string
  ) {}

  /**
   * `ui` serves the dev server's Web UI too, on `uiPort` if given. `realCocoon`, a real cocoon
   * binary, runs every node's image and snapshot commands (see SimulatedNode.create); it
   * defaults to COCOON_BIN, so the clone tests can be run against a real cocoon where one is
   * built.
   */
  static async start(
    options: { ui?: boolean; uiPort?: number; realCocoon?: string } = {}
  ): Promise<CloneFixture> {
    quietTemporalLogs();
    const env = await startTemporalDevServer({ ui: options.ui, uiPort: options.uiPort });
    const registry = await EpochRegistry.start();
    const realCocoon = options.realCocoon ?? (process.env.COCOON_BIN || undefined);
    return new CloneFixture(env, registry, new CloneClient(env.client), realCocoon);
  }

  /** A fresh node with its own cocoon root and a running worker. */
  async node(
    options: {
      worker?: boolean;
      registries?: string[];
      simulatorEnv?: Record<string, string>;
      pullStallSeconds?: number;
      metricsAddress?: string;
    } = {}
  ): Promise<SimulatedNode> {
    this.nodeCount += 1;
    const node = await SimulatedNode.create(`node-${this.nodeCount}-${process.pid}`, {
      registries: options.registries ?? [`${this.registry.url}/`],
      simulatorEnv: options.simulatorEnv,
      realCocoon: this.realCocoon,
      pullStallSeconds: options.pullStallSeconds,
      metricsAddress: options.metricsAddress,
    });
    this.nodes.push(node);
    if (options.worker !== false) {
      await node.startWorker(this.env.address, this.env.namespace ?? 'default');
    }
    return node;
  }

  /** Pushes a fixture image as the repo's `latest` and returns its digest and URL. */
  async push(
    repo: string,
    image: FixtureImageName
  ): Promise<{ image: string; digest: string; url: string }> {
    const { digest } = this.registry.pushCloudImage(repo, await readFixtureImage(image));
    const url = this.registry.downloadUrl(repo);
    return { image: url, digest, url };
  }

  /**
   * Pushes a qcow2 v3 image of about `gib` GiB (a fixture's header and clusters, then zeros
   * the image does not reference), for steps that must take seconds: hashing, mostly.
   * The zeros are one buffer repeated, so the registry holds only a fraction of the size.
   */
  async pushLarge(
    repo: string,
    gib: number
  ): Promise<{ image: string; digest: string; url: string; size: number }> {
    const zeros = Buffer.alloc(256 * 1024 * 1024);
    const parts = [await readFixtureImage('base-v1'), ...Array<Buffer>(gib * 4).fill(zeros)];
    const { digest, size } = this.registry.pushCloudImageParts(repo, parts);
    const url = this.registry.downloadUrl(repo);
    return { image: url, digest, url, size };
  }

  async stop(): Promise<void> {
    // Every node is cleaned up even if one fails, so no stand-in hypervisor outlives the run.
    const results = await Promise.allSettled(this.nodes.map((node) => node.destroy()));
    await this.registry.close();
    await this.env.teardown();
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

// Workers in tests log warnings and errors only; a passing run should read as a test report.
function quietTemporalLogs(): void {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // Already installed by an earlier fixture in this process.
  }
}
