import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { readFixtureImage } from './fixtures/images.js';
import { CloneFixture } from './support/clone-fixture.js';
import { freePort } from './support/free-port.js';
import type { SimulatedNode } from './support/simulated-node.js';
import { waitFor } from './support/wait.js';
import { WorkerProcess } from './support/worker-process.js';

// The worker's Prometheus endpoint, scraped from a real `cocoon-flow worker` process: Temporal's
// own worker metrics beside cocoon-flow's clones, pulls, bytes pulled and verify time.

let fixture: CloneFixture;
let node: SimulatedNode;
let worker: WorkerProcess | undefined;
let metricsUrl: string;

before(async () => {
  fixture = await CloneFixture.start();
  const port = await freePort();
  metricsUrl = `http://127.0.0.1:${port}/metrics`;
  node = await fixture.node({ worker: false, metricsAddress: `127.0.0.1:${port}` });
  worker = await WorkerProcess.start(node, {
    address: fixture.env.address,
    namespace: fixture.env.namespace ?? 'default',
  });
});

after(async () => {
  await worker?.stop('SIGKILL');
  await fixture?.stop();
});

async function scrape(): Promise<string> {
  const response = await request(metricsUrl);
  assert.equal(response.statusCode, 200);
  return response.body.text();
}

/** The value of the sample whose name and labels start with `prefix`, summed over matches. */
function sample(metrics: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of metrics.split('\n')) {
    const match = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const labelText = match[2] ?? '';
    const wanted = Object.entries(labels).every(([key, value]) =>
      labelText.includes(`${key}="${value}"`)
    );
    if (wanted) total += Number(match[3]);
  }
  return total;
}

describe('the worker metrics endpoint', () => {
  test('counts the clone by outcome, its pull and bytes, and the verify time', async () => {
    const image = await fixture.push('metrics/base', 'base-v1');
    await node.importSnapshot('metrics-hot', image);
    const size = (await readFixtureImage('base-v1')).length;

    await fixture.client.clone({ node: node.name, vmName: 'metrics-vm', snapshot: 'metrics-hot' });

    // Metrics are exported on the runtime's own beat; wait for the clone to show.
    let metrics = '';
    await waitFor(async () => {
      metrics = await scrape();
      return sample(metrics, 'cocoon_flow_clones_total', { outcome: 'succeeded' }) === 1;
    }, 'the clone to be counted');

    assert.equal(sample(metrics, 'cocoon_flow_pulls_total', { outcome: 'ok', node: node.name }), 1);
    assert.equal(sample(metrics, 'cocoon_flow_pulled_bytes_total', { node: node.name }), size);
    assert.equal(sample(metrics, 'cocoon_flow_verify_seconds_count', { verdict: 'byte-exact' }), 1);
    assert.ok(sample(metrics, 'cocoon_flow_verify_seconds_sum') > 0);
    // Temporal's own worker metrics, on the same endpoint.
    assert.ok(sample(metrics, 'temporal_activity_execution_latency_count') > 0, metrics);
  });

  test('counts a failed clone with its failure type', async () => {
    const image = await fixture.push('metrics/lost', 'base-v1');
    await node.importSnapshot('metrics-lost', {
      image: image.url,
      digest: `sha256:${'e'.repeat(64)}`,
    });

    await assert.rejects(
      fixture.client.clone({ node: node.name, vmName: 'metrics-lost-vm', snapshot: 'metrics-lost' })
    );

    await waitFor(
      async () =>
        sample(await scrape(), 'cocoon_flow_clones_total', {
          outcome: 'failed',
          failure_type: 'DigestUnavailable',
        }) === 1,
      'the failed clone to be counted with its type'
    );
  });
});
