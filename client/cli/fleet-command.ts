import { loadSettings } from '../../common/config/load-settings.js';
import { DEFAULT_PREPULL_EVERY, PREPULL_SCHEDULE_ID } from '../../common/fleet-names.js';
import type {
  FleetRefreshReport,
  FleetScanReport,
  NodeError,
  NodeRefresh,
  NodeScan,
} from '../../common/fleet-reports.js';
import { CloneClient } from '../clone-client.js';
import { installPrepullSchedule, nodeSightings, refreshFleet, scanFleet } from '../fleet-client.js';
import { freshNodes } from '../../common/fleet-names.js';
import { UsageError } from './cli-error.js';
import {
  connectionFlags,
  CONNECTION_OPTIONS,
  integerValue,
  parseCommand,
  stringValue,
} from './options.js';

// `cocoon-flow fleet …`: the fleet as a whole. Every command prints one line per node, then
// one summary line, and exits 1 when any node could not do what was asked.

const FLEET_OPTIONS = {
  ...CONNECTION_OPTIONS,
  node: { type: 'string', multiple: true },
  'request-id': { type: 'string' },
  'node-timeout': { type: 'string' },
  every: { type: 'string' },
  all: { type: 'boolean' },
  output: { type: 'string', short: 'o' },
} as const;

type Values = ReturnType<typeof parseCommand>['values'];

const SUBCOMMANDS: Record<string, (client: CloneClient, args: Parsed) => Promise<number>> = {
  nodes: listNodes,
  refresh: refresh,
  scan: scan,
  schedule: schedule,
};

// Which flags each subcommand reads; any other is a mistake worth saying.
const FLAGS_OF: Record<string, string[]> = {
  nodes: ['all', 'output'],
  refresh: ['node', 'request-id', 'node-timeout', 'output'],
  scan: ['node', 'node-timeout', 'output'],
  schedule: ['every'],
};

interface Parsed {
  values: Values;
  positionals: string[];
}

export async function runFleetCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, FLEET_OPTIONS);
  const [subcommand, ...rest] = positionals;
  const run = subcommand ? SUBCOMMANDS[subcommand] : undefined;
  if (!subcommand || !run) {
    throw new UsageError(
      `${subcommand ? `unknown command "${subcommand}" for "cocoon-flow fleet"` : 'missing command'}: use nodes, refresh, scan or schedule`
    );
  }
  rejectFlagsOfOthers(subcommand, values);
  const output = stringValue(values.output);
  if (output !== undefined && output !== 'json') {
    throw new UsageError(`invalid argument ${JSON.stringify(output)} for "--output": only json`);
  }

  const settings = loadSettings(connectionFlags(values));
  const client = await CloneClient.connect(settings.temporal);
  try {
    return await run(client, { values, positionals: rest });
  } finally {
    await client.close();
  }
}

async function listNodes(client: CloneClient, { values, positionals }: Parsed): Promise<number> {
  expectArgs('nodes', positionals, 0);
  const sightings = await nodeSightings(client.client);
  const now = Date.now();
  const fresh = new Set(freshNodes(sightings, now));
  const shown = values.all ? sightings : sightings.filter((s) => fresh.has(s.node));

  if (values.output === 'json') {
    printJson(shown.map((s) => ({ ...s, live: fresh.has(s.node) })));
    return 0;
  }
  for (const sighting of shown) {
    const age = Math.max(0, Math.round((now - Date.parse(sighting.lastSeen)) / 1000));
    const state = fresh.has(sighting.node) ? 'live' : 'silent';
    print(`${sighting.node}  ${state}  last seen ${sighting.lastSeen} (${age}s ago)`);
  }
  print(
    `${fresh.size} live node(s)${values.all ? `, ${sightings.length - fresh.size} silent` : ''}`
  );
  return 0;
}

async function refresh(client: CloneClient, { values, positionals }: Parsed): Promise<number> {
  expectArgs('refresh', positionals, 1);
  const report = await refreshFleet(client.client, {
    image: positionals[0] as string,
    nodes: values.node as string[] | undefined,
    nodeTimeoutSeconds: integerValue(values['node-timeout'], 'node-timeout'),
    requestId: stringValue(values['request-id']),
  });

  if (values.output === 'json') printJson(report);
  else printRefresh(report);
  return report.nodes.some((node) => node.error) ? 1 : 0;
}

async function scan(client: CloneClient, { values, positionals }: Parsed): Promise<number> {
  expectArgs('scan', positionals, 0);
  const report = await scanFleet(client.client, {
    nodes: values.node as string[] | undefined,
    nodeTimeoutSeconds: integerValue(values['node-timeout'], 'node-timeout'),
  });

  if (values.output === 'json') printJson(report);
  else printScan(report);
  return report.nodes.some((node) => node.error || node.unavailable.length > 0) ? 1 : 0;
}

async function schedule(client: CloneClient, { values, positionals }: Parsed): Promise<number> {
  expectArgs('schedule', positionals, 0);
  const every = intervalValue(stringValue(values.every) ?? DEFAULT_PREPULL_EVERY);
  const outcome = await installPrepullSchedule(client.client, { every });
  print(
    `${outcome} schedule ${PREPULL_SCHEDULE_ID}: a pre-pull scan of every live node every ${every}`
  );
  return 0;
}

function printRefresh(report: FleetRefreshReport): void {
  for (const node of report.nodes) print(refreshLine(node));
  print(report.summary);
}

function refreshLine(node: NodeRefresh): string {
  const digests = `${short(node.before)} -> ${short(node.after)}`;
  if (node.error) return `${node.node}  failed  ${digests}  ${errorText(node.error)}`;
  const how = node.verification ? ` (${node.verification})` : '';
  return `${node.node}  ${node.changed ? 'changed' : 'unchanged'}  ${digests}${how}`;
}

function printScan(report: FleetScanReport): void {
  for (const node of report.nodes) print(scanLine(node));
  print(report.summary);
}

function scanLine(node: NodeScan): string {
  const counts = `${node.present.length} present, ${node.prepulled.length} pre-pulled, ${node.stale.length} stale, ${node.unavailable.length} unavailable`;
  if (node.error) return `${node.node}  failed  ${counts}  ${errorText(node.error)}`;

  const notes = [
    ...node.stale.map((b) => `${short(b.digest)} stale (${b.url} serves ${short(b.servedDigest)})`),
    ...node.unavailable.map((b) => `${short(b.digest)} ${errorText(b.error)}`),
  ];
  return `${node.node}  ${counts}${notes.length > 0 ? `; ${notes.join('; ')}` : ''}`;
}

// Twelve hex digits tell digests apart on a terminal; --output json has them whole.
function short(digest: string | undefined): string {
  return digest ? digest.slice(0, 'sha256:'.length + 12) : 'none';
}

function errorText(error: NodeError): string {
  return `${error.type}: ${error.message.replace(/\s*\n\s*/g, ' ')}`;
}

// A Schedule interval as the `every` flag takes it: a whole number of s, m, h or d. Less than
// a minute would start scans faster than a node can list its snapshots.
function intervalValue(value: string): string {
  const match = /^(\d+)(s|m|h|d)$/.exec(value);
  const seconds = match
    ? Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[match[2] as 's']
    : 0;
  if (!match || seconds < 60 || seconds > 7 * 86400) {
    throw new UsageError(
      `invalid argument ${JSON.stringify(value)} for "--every": a duration from 1m to 7d, such as 15m or 1h`
    );
  }
  return value;
}

function expectArgs(command: string, positionals: string[], count: number): void {
  if (positionals.length !== count) {
    throw new UsageError(
      `"fleet ${command}" accepts ${count} arg(s), received ${positionals.length}`
    );
  }
}

function rejectFlagsOfOthers(subcommand: string, values: Values): void {
  const own = new Set([...Object.keys(CONNECTION_OPTIONS), ...(FLAGS_OF[subcommand] ?? [])]);
  const foreign = Object.keys(values).find((flag) => values[flag] !== undefined && !own.has(flag));
  if (foreign) throw new UsageError(`unknown flag: --${foreign} for "fleet ${subcommand}"`);
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
