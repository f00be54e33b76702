import { loadSettings } from '../../common/config/load-settings.js';
import { CloneClient } from '../clone-client.js';
import { registerSearchAttributes } from '../search-attribute-setup.js';
import { UsageError } from './cli-error.js';
import { connectionFlags, CONNECTION_OPTIONS, parseCommand } from './options.js';

/**
 * `cocoon-flow setup`: prepares a namespace for clones by adding the clone search attributes
 * it lacks. Safe to run again; the compose stack's setup job does the same.
 */
export async function runSetupCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseCommand(args, CONNECTION_OPTIONS);
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);

  const settings = loadSettings(connectionFlags(values));
  const client = await CloneClient.connect(settings.temporal);
  try {
    const added = await registerSearchAttributes(client.client);
    process.stdout.write(
      added.length > 0
        ? `added search attributes ${added.join(', ')} to namespace ${settings.temporal.namespace}\n`
        : `namespace ${settings.temporal.namespace} has every clone search attribute already\n`
    );
  } finally {
    await client.close();
  }
}
