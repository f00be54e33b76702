// The settings a worker and the CLI share. One config file serves both, because vk-cocoon runs
// the CLI under sudo, which drops the environment, and passes no node.

export interface TlsSettings {
  /** Client certificate and key for mTLS. */
  certPath?: string;
  keyPath?: string;
  /** CA that signed the server's certificate, when it is not a public one. */
  caPath?: string;
  serverName?: string;
}

export interface TemporalSettings {
  address: string;
  namespace: string;
  /** Undefined means plain TCP; present (even empty) means TLS. */
  tls?: TlsSettings;
  apiKey?: string;
}

export interface CocoonSettings {
  binary: string;
  rootDir: string;
  runDir: string;
  sudo: boolean;
}

export interface FlowSettings {
  temporal: TemporalSettings;
  /** This host's node name: the worker's queue, and the CLI's default for `--node`. */
  node?: string;
  cocoon: CocoonSettings;
  /** URL prefixes the worker may download images from. */
  registries: string[];
  /** Where the worker keeps its clone ledger, outside cocoon's root. */
  ledgerDir: string;
  nodeTimeoutSeconds?: number;
  /** A pull whose download has not grown for this long is stopped as stalled. */
  pullStallSeconds: number;
  /** `host:port` where the worker serves Prometheus metrics; empty turns them off. */
  metricsAddress: string;
  /** How many running clones the worker keeps in memory between their steps. */
  workflowCacheSize: number;
}

export const DEFAULT_CONFIG_PATH = '/etc/cocoon-flow/config.json';

export const DEFAULTS = {
  address: 'localhost:7233',
  namespace: 'default',
  cocoonBinary: '/usr/local/bin/cocoon',
  rootDir: '/var/lib/cocoon',
  runDir: '/var/lib/cocoon/run',
  ledgerDir: '/var/lib/cocoon-flow/ledger',
  // cocoon's own limit is 30 minutes for the whole download; a minute without a single new byte
  // is a stall on any link that still works.
  pullStallSeconds: 60,
  // 9464 is the port OpenTelemetry's Prometheus exporter uses by convention.
  metricsAddress: '0.0.0.0:9464',
  // A cached clone costs the worker about 1.5 MiB. Clones mostly wait on cocoon between steps,
  // and one evicted from the cache replays its short history (a few milliseconds) when its
  // step ends, so a small cache keeps a node's worker small under a burst of clones.
  workflowCacheSize: 10,
} as const;
