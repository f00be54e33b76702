import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { SettingFlags } from '../../common/config/load-settings.js';
import { UsageError } from './cli-error.js';

// Flags shared by every command that talks to Temporal. The names follow the `temporal` CLI.
export const CONNECTION_OPTIONS = {
  config: { type: 'string' },
  address: { type: 'string' },
  namespace: { type: 'string' },
  tls: { type: 'boolean' },
  'tls-cert-path': { type: 'string' },
  'tls-key-path': { type: 'string' },
  'tls-ca-path': { type: 'string' },
  'tls-server-name': { type: 'string' },
  'api-key': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

type ParsedValues = Record<string, string | boolean | string[] | undefined>;

/** parseArgs, with its errors turned into the one-line usage errors cocoon users know. */
export function parseCommand<T extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: T
): { values: ParsedValues; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args,
      options,
      allowPositionals: true,
      strict: true,
    });
    return { values: values as ParsedValues, positionals };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const flag = /'([^']+)'/.exec((error as Error).message)?.[1] ?? 'flag';
      throw new UsageError(`unknown flag: ${flag}`);
    }
    throw new UsageError((error as Error).message.split('\n')[0] ?? 'invalid arguments');
  }
}

export function connectionFlags(values: ParsedValues): SettingFlags {
  return {
    config: stringValue(values.config),
    address: stringValue(values.address),
    namespace: stringValue(values.namespace),
    tls: values.tls as boolean | undefined,
    tlsCertPath: stringValue(values['tls-cert-path']),
    tlsKeyPath: stringValue(values['tls-key-path']),
    tlsCaPath: stringValue(values['tls-ca-path']),
    tlsServerName: stringValue(values['tls-server-name']),
    apiKey: stringValue(values['api-key']),
  };
}

export function stringValue(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function integerValue(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || !Number.isSafeInteger(number)) {
    throw new UsageError(
      `invalid argument ${JSON.stringify(value)} for "--${flag}": not a whole number`
    );
  }
  return number;
}

const SIZE = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b?)$/i;
const UNIT_POWER: Record<string, number> = { '': 0, k: 1, m: 2, g: 3, t: 4, p: 5 };

/**
 * A size as cocoon reads `--memory` and `--storage`: plain bytes ("4294967296") or a number with
 * a binary unit ("4G", "4GiB", "512Mi"), as in go-units' RAMInBytes.
 */
export function sizeValue(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const match = typeof value === 'string' ? SIZE.exec(value.trim()) : null;
  if (!match?.[1]) {
    throw new UsageError(
      `invalid argument ${JSON.stringify(value)} for "--${flag}": not a size such as 4G or 4294967296`
    );
  }

  const power = UNIT_POWER[(match[2] ?? '').toLowerCase()] ?? 0;
  const bytes = Math.round(Number(match[1]) * 1024 ** power);
  if (!Number.isSafeInteger(bytes)) {
    throw new UsageError(`invalid argument ${JSON.stringify(value)} for "--${flag}": too large`);
  }
  return bytes;
}
