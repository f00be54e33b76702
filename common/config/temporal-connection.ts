import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { ConfigError } from './config-error.js';
import type { TemporalSettings } from './settings.js';

// Turns the Temporal settings into the connection options both the worker's NativeConnection
// and the client's Connection accept, and says why a TLS handshake with them fails.

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

const DEFAULT_TEMPORAL_PORT = 7233;
// A server that refuses the client certificate says so only after the client has finished its
// half of a TLS 1.3 handshake, so the check waits this long for the server's first word.
const HANDSHAKE_CHECK_TIMEOUT_MS = 2_000;

/**
 * Why a TLS handshake with these options fails, or undefined when it succeeds or TLS is off.
 * grpc-js reports a failed handshake only as "Failed to connect before the deadline", so a
 * client whose connect timed out makes one handshake of its own to learn the reason.
 */
export function tlsHandshakeFailure(
  options: TemporalConnectionOptions
): Promise<string | undefined> {
  const tls = options.tls;
  if (!tls) return Promise.resolve(undefined);
  const { host, port } = splitAddress(options.address);
  const serverName = tls.serverNameOverride ?? host;

  return new Promise((resolve) => {
    const socket = tlsConnect({
      host,
      port,
      servername: isIP(serverName) ? undefined : serverName,
      ca: tls.serverRootCACertificate,
      cert: tls.clientCertPair?.crt,
      key: tls.clientCertPair?.key,
      ALPNProtocols: ['h2'],
    });
    const finish = (problem: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(problem);
    };
    const timer = setTimeout(() => finish(undefined), HANDSHAKE_CHECK_TIMEOUT_MS);

    socket.once('error', (error: NodeJS.ErrnoException & { reason?: string }) => {
      // A refused or unreachable port is not a handshake problem; its own message says it all.
      if (error.syscall) return finish(error.message);
      const reason = error.reason ?? error.message;
      finish(`TLS handshake failed: ${reason}${error.code ? ` (${error.code})` : ''}`);
    });
    // A gRPC server speaks first after the handshake; hanging up instead is how some servers
    // (Node's among them) refuse a client certificate they cannot verify.
    let secured = false;
    socket.once('secureConnect', () => {
      secured = true;
      socket.once('data', () => finish(undefined));
    });
    socket.once('close', () =>
      finish(
        secured
          ? 'the server closed the connection right after the TLS handshake; it may have refused the client certificate'
          : undefined
      )
    );
  });
}

function splitAddress(address: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(address);
  if (!match) return { host: address, port: DEFAULT_TEMPORAL_PORT };
  const port = match[3] ? Number(match[3]) : DEFAULT_TEMPORAL_PORT;
  return { host: match[1] ?? match[2] ?? address, port };
}
