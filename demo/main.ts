import { DefaultLogger, Runtime } from '@temporalio/worker';
import { CloneClient } from '../client/clone-client.js';
import { CloneFailedError } from '../client/clone-errors.js';
import { cloneWorkflowId } from '../common/names.js';
import type { CloneRequest } from '../common/request.js';
import { readFixtureImage } from '../test/fixtures/images.js';
import { EpochRegistry } from '../test/registry/index.js';
import { SimulatedNode } from '../test/support/simulated-node.js';
import { startTemporalDevServer } from '../test/support/temporal-server.js';
import { followSteps } from './follow-steps.js';
import { say, shortDigest } from './print.js';

// The incident, replayed on this machine with nothing installed but Node (and Go, to build the
// temporal CLI once): a real Temporal dev server with its Web UI, an epoch-shaped registry on
// loopback, a node simulated with the cocoon simulator whose image cache is stale exactly as in
// the incident, and a real cocoon-flow worker. Plain cocoon fails the clone; cocoon-flow
// succeeds.

const REPO = 'simular/win11';
const SNAPSHOT = 'simular/win11-hot-testing:v1-20260509';

Runtime.install({ logger: new DefaultLogger('ERROR') });

say('cocoon-flow demo: the stale-cache incident, replayed');
const env = await startTemporalDevServer({ ui: true });
const registry = await EpochRegistry.start();
const node = await SimulatedNode.create('demo-node', { registries: [`${registry.url}/`] });
const uiUrl = `http://127.0.0.1:${Number(env.address.split(':').pop()) + 1000}`;

try {
  say(`   Temporal dev server  ${env.address}   Web UI ${uiUrl}`);
  say(`   registry             ${registry.url}  (epoch-shaped, loopback)`);
  say(
    `   node                 ${node.name}  (cocoon simulator, root ${node.settings.cocoon.rootDir})`
  );
  say();

  const url = registry.downloadUrl(REPO);
  const old = registry.pushCloudImage(REPO, await readFixtureImage('base-v1'));
  await node.cocoonRun(['image', 'pull', url]);
  say(`1. The node's cocoon cache maps ${url}`);
  say(`   to ${shortDigest(old.digest)}, an older push of the base image.`);

  const current = registry.pushCloudImage(REPO, await readFixtureImage('base-v2'));
  await node.importSnapshot(SNAPSHOT, { image: url, digest: current.digest });
  say(`2. The tag moved on to ${shortDigest(current.digest)}, and snapshot ${SNAPSHOT}`);
  say('   was baked on it.');

  const plain = await node.cocoonRun(['vm', 'clone', '--pull', '--name', 'plain-vm', SNAPSHOT]);
  const plainError = plain.stderr
    .split('\n')
    .filter((l) => l.startsWith('Error:'))
    .pop();
  say('3. Plain `cocoon vm clone --pull` trusts the cached URL and dies in the restore:');
  say(`   ${plainError ?? `exit code ${plain.exitCode}`}`);

  await node.startWorker(env.address, env.namespace ?? 'default');
  const client = new CloneClient(env.client);
  const request: CloneRequest = {
    node: node.name,
    vmName: 'demo-vm',
    snapshot: SNAPSHOT,
    requestId: `demo-${Date.now()}`,
  };
  say('4. cocoon-flow clone, step by step:');
  registry.resetStats();
  const handle = await client.start(request);
  const steps = followSteps(handle);

  try {
    const vm = await client.result(handle);
    await steps.stop();
    say(`   VM ${vm.config.name} (${vm.id}) is ${vm.state}, pid ${vm.pid},`);
    const served = registry.requestCount({ route: 'download', repo: REPO });
    say(
      `   on base ${shortDigest(String(vm.config.image_digest))}; the registry served the image ${served === 1 ? 'once' : `${served} times`}.`
    );
    say();
    say('   The VM record, as `cocoon vm clone -o json` prints it:');
    say(JSON.stringify(vm, null, 2).replace(/^/gm, '   '));
  } catch (error) {
    await steps.stop();
    if (!(error instanceof CloneFailedError)) throw error;
    say(`   the clone failed: ${error.type}: ${error.message}`);
    process.exitCode = 1;
  }

  const workflowId = cloneWorkflowId(request.node, request.vmName, request.requestId);
  say();
  say(`Web UI: ${uiUrl}/namespaces/default/workflows/${encodeURIComponent(workflowId)}`);

  if (process.stdout.isTTY && process.env.DEMO_EXIT !== '1') {
    say('The server, registry and worker keep running for the Web UI. Press Ctrl-C to stop.');
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  }
} finally {
  await node.destroy();
  await registry.close();
  await env.teardown();
}
