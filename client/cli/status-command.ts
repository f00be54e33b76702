import { loadSettings } from '../../common/config/load-settings.js';
import { CloneClient, type CloneReport } from '../clone-client.js';
import { UsageError } from './cli-error.js';
import { connectionFlags, CONNECTION_OPTIONS, parseCommand, stringValue } from './options.js';

const STATUS_OPTIONS = {
  ...CONNECTION_OPTIONS,
  node: { type: 'string' },
  'request-id': { type: 'string' },
  output: { type: 'string', short: 'o' },
} as const;

/** `cocoon-flow status [--node N] [--request-id ID] VM`: the clone's step and outcome. */
export async function runStatusCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseCommand(args, STATUS_OPTIONS);
  if (positionals.length !== 1) {
    throw new UsageError(`accepts 1 arg(s), received ${positionals.length}`);
  }

  const settings = loadSettings({ ...connectionFlags(values), node: stringValue(values.node) });
  if (!settings.node) throw new UsageError('no node: pass --node or set "node" in the config file');

  const client = await CloneClient.connect(settings.temporal);
  try {
    const report = await client.status({
      node: settings.node,
      vmName: positionals[0] as string,
      requestId: stringValue(values['request-id']),
    });
    process.stdout.write(
      stringValue(values.output) === 'json'
        ? `${JSON.stringify(report, null, 2)}\n`
        : formatReport(report)
    );
  } finally {
    await client.close();
  }
}

function formatReport(report: CloneReport): string {
  const lines = [`clone ${report.workflowId} (run ${report.runId}): ${report.state}`];
  const progress = report.progress;

  if (progress) {
    lines.push(`  step: ${progress.step}`);
    if (progress.base) lines.push(`  base: ${progress.base.image} ${progress.base.digest}`);
    if (progress.verification) lines.push(`  base image: ${progress.verification}`);
    lines.push(`  pulls: ${progress.pullAttempts}`);
    for (const step of progress.steps) {
      lines.push(`    ${step.step.padEnd(15)} ${step.outcome ?? 'running'} ${durationOf(step)}`);
    }
  }
  if (report.result)
    lines.push(
      `  vm: ${report.result.config.name} ${report.result.id} ${report.result.state} pid ${report.result.pid ?? '-'}`
    );
  if (report.failure) lines.push(`  failure: ${report.failure.type}: ${report.failure.message}`);
  return `${lines.join('\n')}\n`;
}

function durationOf(step: { startedAt: string; endedAt?: string }): string {
  if (!step.endedAt) return '';
  const ms = Date.parse(step.endedAt) - Date.parse(step.startedAt);
  return `${(ms / 1000).toFixed(1)}s`;
}
