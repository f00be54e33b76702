import { loadSettings } from '../../common/config/load-settings.js';
import type { CloneRequest, CloneResources } from '../../common/request.js';
import { CloneClient } from '../clone-client.js';
import { UsageError } from './cli-error.js';
import {
  connectionFlags,
  CONNECTION_OPTIONS,
  integerValue,
  parseCommand,
  sizeValue,
  stringValue,
} from './options.js';

// A drop-in for the `cocoon vm clone --output json …` call vk-cocoon makes: the same flags
// where they apply, the same JSON on stdout, exit 1 with one `Error:` line on failure. The
// node comes from --node or, since vk-cocoon passes none, from the config file.

const CLONE_OPTIONS = {
  ...CONNECTION_OPTIONS,
  node: { type: 'string' },
  'request-id': { type: 'string' },
  'node-timeout': { type: 'string' },
  'pull-attempts': { type: 'string' },
  name: { type: 'string' },
  cpu: { type: 'string' },
  memory: { type: 'string' },
  storage: { type: 'string' },
  nics: { type: 'string' },
  network: { type: 'string' },
  dns: { type: 'string' },
  'no-direct-io': { type: 'boolean' },
  'on-demand': { type: 'boolean' },
  // cocoon's --pull asks for a best-effort image check; the workflow always does a strict one.
  pull: { type: 'boolean' },
  output: { type: 'string', short: 'o' },
} as const;

export async function runCloneCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseCommand(args, CLONE_OPTIONS);
  if (positionals.length !== 1) {
    throw new UsageError(`accepts 1 arg(s), received ${positionals.length}`);
  }

  const output = stringValue(values.output);
  if (output !== undefined && output !== 'json') {
    throw new UsageError(`unsupported --output ${JSON.stringify(output)}; only json is supported`);
  }

  const settings = loadSettings({ ...connectionFlags(values), node: stringValue(values.node) });
  if (!settings.node) {
    throw new UsageError(
      'no node: pass --node or set "node" in the config file (/etc/cocoon-flow/config.json)'
    );
  }
  const vmName = stringValue(values.name);
  if (!vmName)
    throw new UsageError('--name is required: a clone needs a VM name it can find again');

  const request = buildRequest(values, positionals[0] as string, settings.node, vmName);
  request.options = {
    ...request.options,
    nodeTimeoutSeconds:
      integerValue(values['node-timeout'], 'node-timeout') ?? settings.nodeTimeoutSeconds,
  };

  const client = await CloneClient.connect(settings.temporal);
  const handle = await client.start(request);
  // vk-cocoon stops a clone by signalling this process: the clone is cancelled, not orphaned.
  const cancel = () => void handle.cancel().catch(() => undefined);
  process.once('SIGINT', cancel);
  process.once('SIGTERM', cancel);
  try {
    const vm = await client.result(handle);
    process.stdout.write(
      output === 'json'
        ? `${JSON.stringify(vm, null, 2)}\n`
        : `VM ${vm.config.name} (${vm.id}) cloned on node ${settings.node}, state ${vm.state}\n`
    );
  } finally {
    process.off('SIGINT', cancel);
    process.off('SIGTERM', cancel);
    await client.close();
  }
}

function buildRequest(
  values: Record<string, unknown>,
  snapshot: string,
  node: string,
  vmName: string
): CloneRequest {
  const resources: CloneResources = {
    cpu: integerValue(values.cpu, 'cpu'),
    memoryBytes: sizeValue(values.memory, 'memory'),
    storageBytes: sizeValue(values.storage, 'storage'),
    nics: integerValue(values.nics, 'nics'),
    network: stringValue(values.network),
    dns: stringValue(values.dns)
      ?.split(/[,;]/)
      .filter((s) => s !== ''),
    noDirectIO: values['no-direct-io'] === true ? true : undefined,
    onDemand: values['on-demand'] === true ? true : undefined,
  };

  return {
    node,
    vmName,
    snapshot,
    requestId: stringValue(values['request-id']),
    resources: dropUndefined(resources),
    options: dropUndefined({
      pullAttempts: integerValue(values['pull-attempts'], 'pull-attempts'),
    }),
  };
}

// Undefined fields would reach the workflow as absent anyway; dropping them keeps the
// request in the UI short and readable.
function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
