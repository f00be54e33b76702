import { readFileSync } from 'node:fs';
import { ConfigError } from './config-error.js';
import type { TemporalSettings } from './settings.js';

// Turns the Temporal settings into the connection options both the worker's NativeConnection
// and the client's Connection accept.

export interface TemporalConnectionOptions {
  address: string;
  tls?: {
    serverNameOverride?: string;
    serverRootCACertificate?: Buffer;
    clientCertPair?: { crt: Buffer; key: Buffer };
  };
  apiKey?: string;
}

export function temporalConnectionOptions(settings: TemporalSettings): TemporalConnectionOptions {
  const options: TemporalConnectionOptions = { address: settings.address };
  if (settings.apiKey) options.apiKey = settings.apiKey;
  if (!settings.tls) return options;

  const { certPath, keyPath, caPath, serverName } = settings.tls;
  options.tls = {};
  if (serverName) options.tls.serverNameOverride = serverName;
  if (caPath) options.tls.serverRootCACertificate = readPem(caPath, 'CA certificate');
  if (certPath && keyPath) {
    options.tls.clientCertPair = {
      crt: readPem(certPath, 'client certificate'),
      key: readPem(keyPath, 'client key'),
    };
  }
  return options;
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(
      `cannot read the Temporal TLS ${what} ${path}: ${(error as Error).message}`
    );
  }
}
