import { readFileSync } from 'node:fs';
import { ConfigError } from './config-error.js';
import { DEFAULT_CONFIG_PATH, DEFAULTS, type FlowSettings, type TlsSettings } from './settings.js';

// Settings come from three layers, strongest first: command-line flags, environment variables,
// then the config file. Temporal's connection uses the variable names of the `temporal` CLI,
// so one environment serves both tools.

/** Values given on the command line; undefined means "not given". */
export interface SettingFlags {
  config?: string;
  address?: string;
  namespace?: string;
  tlsCertPath?: string;
  tlsKeyPath?: string;
  tlsCaPath?: string;
  tlsServerName?: string;
  tls?: boolean;
  apiKey?: string;
  node?: string;
  cocoonBinary?: string;
  rootDir?: string;
  runDir?: string;
  sudo?: boolean;
  registries?: string[];
  ledgerDir?: string;
  nodeTimeoutSeconds?: number;
  pullStallSeconds?: number;
  metricsAddress?: string;
  workflowCacheSize?: number;
}

type Env = Record<string, string | undefined>;

interface ConfigFile {
  temporal?: {
    address?: string;
    namespace?: string;
    tls?: TlsSettings | boolean;
    apiKey?: string;
  };
  node?: string;
  cocoon?: { binary?: string; rootDir?: string; runDir?: string; sudo?: boolean };
  registries?: string[];
  ledgerDir?: string;
  nodeTimeoutSeconds?: number;
  pullStallSeconds?: number;
  metricsAddress?: string;
  workflowCacheSize?: number;
}

const FILE_KEYS = [
  'temporal',
  'node',
  'cocoon',
  'registries',
  'ledgerDir',
  'nodeTimeoutSeconds',
  'pullStallSeconds',
  'metricsAddress',
  'workflowCacheSize',
];

export function loadSettings(flags: SettingFlags = {}, env: Env = process.env): FlowSettings {
  const file = readConfigFile(flags.config ?? env.COCOON_FLOW_CONFIG);
  const fileTls = file.temporal?.tls;

  const tlsFile: TlsSettings | undefined =
    fileTls === true ? {} : typeof fileTls === 'object' ? fileTls : undefined;
  const tls = resolveTls(flags, env, tlsFile);

  return {
    temporal: {
      address: flags.address ?? env.TEMPORAL_ADDRESS ?? file.temporal?.address ?? DEFAULTS.address,
      namespace:
        flags.namespace ?? env.TEMPORAL_NAMESPACE ?? file.temporal?.namespace ?? DEFAULTS.namespace,
      tls,
      apiKey: flags.apiKey ?? env.TEMPORAL_API_KEY ?? file.temporal?.apiKey,
    },
    node: flags.node ?? env.COCOON_FLOW_NODE ?? file.node,
    cocoon: {
      binary:
        flags.cocoonBinary ??
        env.COCOON_FLOW_COCOON_BINARY ??
        file.cocoon?.binary ??
        DEFAULTS.cocoonBinary,
      rootDir:
        flags.rootDir ?? env.COCOON_FLOW_ROOT_DIR ?? file.cocoon?.rootDir ?? DEFAULTS.rootDir,
      runDir: flags.runDir ?? env.COCOON_FLOW_RUN_DIR ?? file.cocoon?.runDir ?? DEFAULTS.runDir,
      sudo:
        flags.sudo ??
        parseBoolean(env.COCOON_FLOW_SUDO, 'COCOON_FLOW_SUDO') ??
        file.cocoon?.sudo ??
        false,
    },
    registries: flags.registries ?? parseList(env.COCOON_FLOW_REGISTRIES) ?? file.registries ?? [],
    ledgerDir:
      flags.ledgerDir ?? env.COCOON_FLOW_LEDGER_DIR ?? file.ledgerDir ?? DEFAULTS.ledgerDir,
    nodeTimeoutSeconds:
      flags.nodeTimeoutSeconds ??
      parseSeconds(env.COCOON_FLOW_NODE_TIMEOUT, 'COCOON_FLOW_NODE_TIMEOUT') ??
      file.nodeTimeoutSeconds,
    pullStallSeconds:
      flags.pullStallSeconds ??
      parseSeconds(env.COCOON_FLOW_PULL_STALL_SECONDS, 'COCOON_FLOW_PULL_STALL_SECONDS') ??
      file.pullStallSeconds ??
      DEFAULTS.pullStallSeconds,
    metricsAddress:
      flags.metricsAddress ??
      env.COCOON_FLOW_METRICS_ADDRESS ??
      file.metricsAddress ??
      DEFAULTS.metricsAddress,
    workflowCacheSize:
      flags.workflowCacheSize ??
      parseCount(env.COCOON_FLOW_WORKFLOW_CACHE_SIZE, 'COCOON_FLOW_WORKFLOW_CACHE_SIZE') ??
      file.workflowCacheSize ??
      DEFAULTS.workflowCacheSize,
  };
}

// TLS is on when any TLS setting or an API key is present (as with the `temporal` CLI), unless
// it is switched off explicitly.
function resolveTls(
  flags: SettingFlags,
  env: Env,
  file: TlsSettings | undefined
): TlsSettings | undefined {
  const tls: TlsSettings = {
    certPath:
      flags.tlsCertPath ??
      env.TEMPORAL_TLS_CLIENT_CERT_PATH ??
      env.TEMPORAL_TLS_CERT ??
      file?.certPath,
    keyPath:
      flags.tlsKeyPath ?? env.TEMPORAL_TLS_CLIENT_KEY_PATH ?? env.TEMPORAL_TLS_KEY ?? file?.keyPath,
    caPath:
      flags.tlsCaPath ??
      env.TEMPORAL_TLS_SERVER_CA_CERT_PATH ??
      env.TEMPORAL_TLS_CA ??
      file?.caPath,
    serverName: flags.tlsServerName ?? env.TEMPORAL_TLS_SERVER_NAME ?? file?.serverName,
  };
  const explicit = flags.tls ?? parseBoolean(env.TEMPORAL_TLS, 'TEMPORAL_TLS');
  const anySetting = Object.values(tls).some((v) => v !== undefined);
  const apiKey = flags.apiKey ?? env.TEMPORAL_API_KEY;

  if (explicit === false) return undefined;
  if (explicit === true || anySetting || file !== undefined || apiKey !== undefined) {
    if ((tls.certPath === undefined) !== (tls.keyPath === undefined)) {
      throw new ConfigError(
        'TLS client certificate and key must be given together (TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH, or --tls-cert-path and --tls-key-path)'
      );
    }
    return tls;
  }
  return undefined;
}

function readConfigFile(explicitPath: string | undefined): ConfigFile {
  const path = explicitPath ?? DEFAULT_CONFIG_PATH;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    // The default file is optional; a file the user named must exist.
    if (missing && explicitPath === undefined) return {};
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`);
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path} must hold a JSON object`);
  }

  const unknown = Object.keys(parsed).filter((key) => !FILE_KEYS.includes(key));
  if (unknown.length > 0) {
    throw new ConfigError(
      `config file ${path} has unknown keys ${unknown.join(', ')}; known keys are ${FILE_KEYS.join(', ')}`
    );
  }
  const registries = (parsed as ConfigFile).registries;
  if (
    registries !== undefined &&
    !(Array.isArray(registries) && registries.every((r) => typeof r === 'string'))
  ) {
    throw new ConfigError(`config file ${path}: registries must be a list of URL prefixes`);
  }
  return parsed as ConfigFile;
}

function parseBoolean(value: string | undefined, name: string): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  if (['1', 'true', 'yes', 'on'].includes(value.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(value.toLowerCase())) return false;
  throw new ConfigError(`${name}=${JSON.stringify(value)} is not a boolean; use true or false`);
}

function parseList(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function parseSeconds(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds <= 0) {
    throw new ConfigError(`${name}=${JSON.stringify(value)} must be a whole number of seconds`);
  }
  return seconds;
}

// The worker's workflow cache: 0 turns it off; otherwise Temporal needs room for two.
function parseCount(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const count = Number(value);
  if (!Number.isInteger(count) || count === 1 || count < 0) {
    throw new ConfigError(
      `${name}=${JSON.stringify(value)} must be 0 (no cache) or a whole number of 2 or more`
    );
  }
  return count;
}
