#!/usr/bin/env node
import { ConfigError } from '../../common/config/config-error.js';
import {
  CloneCancelledError,
  CloneFailedError,
  InvalidCloneRequestError,
  SearchAttributesMissingError,
  TemporalAuthError,
  TemporalUnavailableError,
} from '../clone-errors.js';
import { CloneFilterError } from '../clone-query.js';
import { HistoryFileError } from '../../worker/history-file.js';
import { UsageError } from './cli-error.js';
import { runCloneCommand } from './clone-command.js';
import { COCOON_COMMAND_GROUPS, runCocoonPassthrough } from './cocoon-passthrough.js';
import { runFleetCommand } from './fleet-command.js';
import { runListCommand } from './list-command.js';
import { runReplayCommand } from './replay-command.js';
import { runRetryCommand } from './retry-command.js';
import { runRmCommand } from './rm-command.js';
import { runSetupCommand } from './setup-command.js';
import { runStatusCommand } from './status-command.js';
import { runWorkerCommand } from './worker-command.js';

const USAGE = `cocoon-flow: clone cocoon VMs as durable Temporal workflows

Usage:
  cocoon-flow clone [--node NODE] --name VM [cocoon vm clone flags] [--output json] SNAPSHOT
  cocoon-flow vm clone …        same as clone (drop-in for cocoon's own command)
  cocoon-flow status [--node NODE] [--request-id ID] VM
  cocoon-flow rm [--force] [--output json] VM…   (also: vm rm) cancels a running clone of the
                     VM, then removes it with cocoon
  cocoon-flow worker --node NODE [--cocoon-binary PATH] [--root-dir DIR] [--run-dir DIR]
                     [--sudo] [--registry URL-PREFIX]… [--ledger-dir DIR]
                     [--metrics-address HOST:PORT]
  cocoon-flow list [FILTERS] [--output json]      clones by node, snapshot, digest, outcome
  cocoon-flow retry VM [--node NODE] [--request-id ID]   start a failed clone again
  cocoon-flow retry [FILTERS]                     every failed clone the filters select
  cocoon-flow replay --workflow-id ID [--run-id ID] | --file FILE… | [FILTERS]
                     replay histories against this build; exit 1 on nondeterminism
  cocoon-flow setup                               add the clone search attributes to the namespace
  cocoon-flow fleet nodes [--all] [--output json]   nodes whose workers announced themselves
                     in the last 3 minutes (--all: silent ones too)
  cocoon-flow fleet refresh IMAGE_URL [--node NODE]… [--node-timeout SECONDS]
                     [--request-id ID] [--output json]   force-pulls and verifies the image on
                     every live node (or those named); prints each node's digest before -> after
  cocoon-flow fleet scan [--node NODE]… [--output json]   pre-pulls, now, the missing base
                     images that local snapshots pin
  cocoon-flow fleet schedule [--every 15m]   creates or updates the Schedule that runs that scan
  cocoon-flow <other cocoon command>   runs the configured cocoon binary unchanged

FILTERS: --node NODE --snapshot NAME --digest sha256:… --outcome running|succeeded|failed|cancelled
         --failure TYPE --since 24h --query 'visibility query'

Temporal: --address, --namespace, --tls-cert-path, --tls-key-path, --tls-ca-path,
--tls-server-name, --api-key, or the TEMPORAL_* variables of the temporal CLI.
Config file: --config FILE, COCOON_FLOW_CONFIG, or /etc/cocoon-flow/config.json.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;

  switch (command) {
    case 'clone':
      await runCloneCommand(rest);
      return 0;
    case 'status':
      await runStatusCommand(rest);
      return 0;
    case 'worker':
      await runWorkerCommand(rest);
      return 0;
    case 'list':
      await runListCommand(rest);
      return 0;
    case 'retry':
      return runRetryCommand(rest);
    case 'replay':
      return runReplayCommand(rest);
    case 'setup':
      await runSetupCommand(rest);
      return 0;
    case 'fleet':
      return runFleetCommand(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 1 : 0;
  }

  if (command === 'vm' && rest[0] === 'clone') {
    await runCloneCommand(rest.slice(1));
    return 0;
  }
  if (command === 'rm') return runRmCommand(rest);
  if (command === 'vm' && (rest[0] === 'rm' || rest[0] === 'remove' || rest[0] === 'delete')) {
    return runRmCommand(rest.slice(1));
  }
  if (COCOON_COMMAND_GROUPS.includes(command)) return runCocoonPassthrough(argv);

  throw new UsageError(`unknown command "${command}" for "cocoon-flow"`);
}

// Every failure is one line on stderr in cocoon's own form, so callers that parse cocoon's
// errors (vk-cocoon) read ours the same way.
function describeFailure(error: unknown): string {
  if (error instanceof CloneFailedError) return `${error.type}: ${error.message}`;
  if (
    error instanceof UsageError ||
    error instanceof ConfigError ||
    error instanceof InvalidCloneRequestError ||
    error instanceof TemporalUnavailableError ||
    error instanceof TemporalAuthError ||
    error instanceof SearchAttributesMissingError ||
    error instanceof CloneFilterError ||
    error instanceof HistoryFileError ||
    error instanceof CloneCancelledError
  ) {
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`Error: ${describeFailure(error).replace(/\s*\n\s*/g, ' ')}\n`);
  process.exitCode = 1;
}
