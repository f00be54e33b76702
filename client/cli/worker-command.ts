import { loadSettings } from '../../common/config/load-settings.js';
import { createNodeWorker } from '../../worker/node-worker.js';
import { installWorkerRuntime } from '../../worker/runtime.js';
import {
  connectionFlags,
  CONNECTION_OPTIONS,
  integerValue,
  parseCommand,
  stringValue,
} from './options.js';
import { UsageError } from './cli-error.js';

const WORKER_OPTIONS = {
  ...CONNECTION_OPTIONS,
  node: { type: 'string' },
  'cocoon-binary': { type: 'string' },
  'root-dir': { type: 'string' },
  'run-dir': { type: 'string' },
  sudo: { type: 'boolean' },
  registry: { type: 'string', multiple: true },
  'ledger-dir': { type: 'string' },
  'pull-stall-timeout': { type: 'string' },
  'metrics-address': { type: 'string' },
  'workflow-cache-size': { type: 'string' },
} as const;

/** `cocoon-flow worker --node N …`: one node's worker, until SIGINT or SIGTERM. */
export async function runWorkerCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseCommand(args, WORKER_OPTIONS);
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);

  const settings = loadSettings({
    ...connectionFlags(values),
    node: stringValue(values.node),
    cocoonBinary: stringValue(values['cocoon-binary']),
    rootDir: stringValue(values['root-dir']),
    runDir: stringValue(values['run-dir']),
    sudo: values.sudo as boolean | undefined,
    registries: values.registry as string[] | undefined,
    ledgerDir: stringValue(values['ledger-dir']),
    pullStallSeconds: integerValue(values['pull-stall-timeout'], 'pull-stall-timeout'),
    metricsAddress: stringValue(values['metrics-address']),
    workflowCacheSize: integerValue(values['workflow-cache-size'], 'workflow-cache-size'),
  });

  installWorkerRuntime({ metricsAddress: settings.metricsAddress });
  const worker = await createNodeWorker(settings);
  process.stderr.write(
    `${JSON.stringify({
      time: new Date().toISOString(),
      level: 'info',
      message: 'Worker started',
      node: worker.node,
      address: settings.temporal.address,
      namespace: settings.temporal.namespace,
      registries: settings.registries,
      metrics: settings.metricsAddress || 'off',
    })}\n`
  );
  await worker.run();
}
