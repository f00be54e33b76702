import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, NativeConnection, Runtime, TransportError } from '@temporalio/worker';
import { execa } from 'execa';
import { CloneClient } from '../client/clone-client.js';
import { TemporalAuthError, TemporalUnavailableError } from '../client/clone-errors.js';
import { loadSettings, type SettingFlags } from '../common/config/load-settings.js';
import type { TemporalSettings } from '../common/config/settings.js';
import { temporalConnectionOptions } from '../common/config/temporal-connection.js';
import { createTestCertificates, type TestCertificates } from './support/test-certificates.js';
import { startTemporalDevServer } from './support/temporal-server.js';
import { startTlsProxy, type TlsProxy } from './support/tls-proxy.js';

// TLS, mTLS and API keys, each against the real dev server behind a TLS-terminating proxy, for
// both connections cocoon-flow makes: the client's (grpc-js) and the worker's (Rust core).
// Settings go through loadSettings, so the TEMPORAL_* variables are what is tested.

const CLI = fileURLToPath(new URL('../client/cli/main.js', import.meta.url));
const API_KEY = 'cocoon-flow-test-key';
// The Rust core reports a refused client certificate by the server's alert only when the alert
// arrives before the core notices the closed connection, and otherwise by how the connection
// ended; a server that refuses by hanging up (as Node's does) leaves only the latter.
const REFUSED_BY_SERVER =
  /CertificateRequired|connection closed|broken pipe|ConnectionReset|UnexpectedEof/;
// A failed connect costs the client's 5 s connect timeout; anything near this bound hangs.
const CLI_TIME_LIMIT_MS = 15_000;

let env: TestWorkflowEnvironment;
let certs: TestCertificates;
let emptyConfig: string;
let tlsProxy: TlsProxy;
let mtlsProxy: TlsProxy;
let apiKeyProxy: TlsProxy;

before(async () => {
  quietWorkerLogs();
  certs = await createTestCertificates();
  // The host's /etc/cocoon-flow/config.json must not leak in: every setting comes from the test.
  emptyConfig = join(certs.dir, 'config.json');
  await writeFile(emptyConfig, '{}\n');
  env = await startTemporalDevServer();

  const serverIdentity = {
    backend: env.address,
    cert: await readFile(certs.serverCert),
    key: await readFile(certs.serverKey),
  };
  tlsProxy = await startTlsProxy(serverIdentity);
  mtlsProxy = await startTlsProxy({
    ...serverIdentity,
    ca: await readFile(certs.caCert),
    requireClientCert: true,
  });
  apiKeyProxy = await startTlsProxy({ ...serverIdentity, apiKey: API_KEY });
});

after(async () => {
  await Promise.all([tlsProxy?.close(), mtlsProxy?.close(), apiKeyProxy?.close()]);
  await env?.teardown();
  await certs?.remove();
});

// The server certificate names localhost, which is what a deployment would dial by name.
function addressOf(proxy: TlsProxy): string {
  return `localhost:${proxy.port}`;
}

function settingsFromEnv(
  proxy: TlsProxy,
  variables: Record<string, string> = {}
): TemporalSettings {
  return loadSettings(
    {},
    { COCOON_FLOW_CONFIG: emptyConfig, TEMPORAL_ADDRESS: addressOf(proxy), ...variables }
  ).temporal;
}

function settingsFromFlags(proxy: TlsProxy, flags: SettingFlags): TemporalSettings {
  return loadSettings({ config: emptyConfig, address: addressOf(proxy), ...flags }, {}).temporal;
}

/** Connects the client and makes a namespace call through the proxy. */
async function clientCall(settings: TemporalSettings): Promise<void> {
  const client = await CloneClient.connect(settings);
  try {
    const answer = await client.client.workflowService.describeNamespace({
      namespace: settings.namespace,
    });
    assert.equal(answer.namespaceInfo?.name, settings.namespace);
  } finally {
    await client.close();
  }
}

/** Connects the way the worker does and makes a namespace call through the proxy. */
async function workerCall(settings: TemporalSettings): Promise<void> {
  const connection = await NativeConnection.connect(temporalConnectionOptions(settings));
  try {
    const answer = await connection.workflowService.describeNamespace({
      namespace: settings.namespace,
    });
    assert.equal(answer.namespaceInfo?.name, settings.namespace);
  } finally {
    await connection.close();
  }
}

function unavailableAt(address: string, reason: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof TemporalUnavailableError, `TemporalUnavailableError, got ${error}`);
    assert.equal(error.address, address);
    assert.match(error.message, reason);
    return true;
  };
}

function transportFailure(reason: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof TransportError, `TransportError, got ${error}`);
    assert.match(error.message, reason);
    return true;
  };
}

describe('TLS with a server CA', () => {
  test('the client connects and calls with the CA from TEMPORAL_TLS_SERVER_CA_CERT_PATH', async () => {
    await clientCall(settingsFromEnv(tlsProxy, { TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.caCert }));
  });

  test('the worker connects and calls with the CA from the tlsCaPath flag', async () => {
    await workerCall(settingsFromFlags(tlsProxy, { tlsCaPath: certs.caCert }));
  });

  test('the client refuses a server whose certificate the configured CA did not sign', async () => {
    const settings = settingsFromEnv(tlsProxy, {
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.wrongCaCert,
    });
    await assert.rejects(
      CloneClient.connect(settings),
      unavailableAt(settings.address, /TLS handshake failed: .*certificate/)
    );
  });

  test('the worker refuses a server whose certificate the configured CA did not sign', async () => {
    const settings = settingsFromFlags(tlsProxy, { tlsCaPath: certs.wrongCaCert });
    await assert.rejects(workerCall(settings), transportFailure(/UnknownIssuer/));
  });
});

describe('mTLS', () => {
  const withClientCert = () => ({
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.caCert,
    TEMPORAL_TLS_CLIENT_CERT_PATH: certs.clientCert,
    TEMPORAL_TLS_CLIENT_KEY_PATH: certs.clientKey,
  });

  test('the client connects and calls with its certificate and key', async () => {
    await clientCall(settingsFromEnv(mtlsProxy, withClientCert()));
  });

  test('the worker connects and calls with its certificate and key', async () => {
    await workerCall(settingsFromEnv(mtlsProxy, withClientCert()));
  });

  test('the server refuses the handshake of a client without a certificate', async () => {
    const settings = settingsFromEnv(mtlsProxy, {
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.caCert,
    });
    const refusedBefore = mtlsProxy.handshakeFailures.length;

    await assert.rejects(
      CloneClient.connect(settings),
      unavailableAt(settings.address, /TLS handshake failed: .*certificate required/)
    );
    await assert.rejects(workerCall(settings), transportFailure(REFUSED_BY_SERVER));
    assert.ok(
      mtlsProxy.handshakeFailures.slice(refusedBefore).some((m) => /did not return a cert/.test(m)),
      `the proxy refused at the TLS layer: ${mtlsProxy.handshakeFailures.join(' | ')}`
    );
  });

  test('the server refuses a client certificate from another CA', async () => {
    const settings = settingsFromEnv(mtlsProxy, {
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.caCert,
      TEMPORAL_TLS_CLIENT_CERT_PATH: certs.strangerCert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: certs.strangerKey,
    });
    const refusedBefore = mtlsProxy.handshakeFailures.length;

    await assert.rejects(
      CloneClient.connect(settings),
      unavailableAt(settings.address, /refused the client certificate/)
    );
    await assert.rejects(workerCall(settings), transportFailure(REFUSED_BY_SERVER));
    assert.ok(
      mtlsProxy.handshakeFailures
        .slice(refusedBefore)
        .some((m) => /client certificate refused/.test(m)),
      `the proxy refused the certificate: ${mtlsProxy.handshakeFailures.join(' | ')}`
    );
  });

  test('both sides refuse an mTLS server when the configured CA is the wrong one', async () => {
    const settings = settingsFromEnv(mtlsProxy, {
      ...withClientCert(),
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.wrongCaCert,
    });

    await assert.rejects(
      CloneClient.connect(settings),
      unavailableAt(settings.address, /TLS handshake failed: .*certificate/)
    );
    await assert.rejects(workerCall(settings), transportFailure(/UnknownIssuer/));
  });
});

describe('API key', () => {
  const withKey = (key: string) => ({
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.caCert,
    TEMPORAL_API_KEY: key,
  });

  test('the client and the worker call with the right key from TEMPORAL_API_KEY', async () => {
    const settings = settingsFromEnv(apiKeyProxy, withKey(API_KEY));
    await clientCall(settings);
    await workerCall(settings);
  });

  test('the client reports a wrong key as TemporalAuthError, naming authentication', async () => {
    const settings = settingsFromEnv(apiKeyProxy, withKey('not-the-key'));
    await assert.rejects(CloneClient.connect(settings), (error: unknown) => {
      assert.ok(error instanceof TemporalAuthError, `TemporalAuthError, got ${error}`);
      assert.equal(error.code, 'UNAUTHENTICATED');
      assert.equal(error.address, settings.address);
      assert.match(error.message, /authentication/);
      assert.match(error.message, /invalid API key/);
      return true;
    });
  });

  test('the worker reports a wrong key as a transport error naming authentication', async () => {
    const settings = settingsFromEnv(apiKeyProxy, withKey('not-the-key'));
    await assert.rejects(workerCall(settings), transportFailure(/authentication credentials/));
  });

  test('a missing key is refused like a wrong one', async () => {
    const settings = settingsFromEnv(apiKeyProxy, {
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.caCert,
    });
    const refusedBefore = apiKeyProxy.unauthenticatedCalls;

    await assert.rejects(CloneClient.connect(settings), TemporalAuthError);
    await assert.rejects(workerCall(settings), transportFailure(/missing API key/));
    assert.ok(apiKeyProxy.unauthenticatedCalls >= refusedBefore + 2);
  });
});

describe('cocoon-flow CLI', () => {
  // A clean environment, as under sudo: only the variables given here reach the CLI.
  async function runStatus(proxy: TlsProxy, variables: Record<string, string>) {
    const started = Date.now();
    const result = await execa(process.execPath, [CLI, 'status', '--node', 'n1', 'some-vm'], {
      reject: false,
      extendEnv: false,
      env: {
        PATH: process.env.PATH ?? '',
        COCOON_FLOW_CONFIG: emptyConfig,
        TEMPORAL_ADDRESS: addressOf(proxy),
        ...variables,
      },
      timeout: CLI_TIME_LIMIT_MS,
    });
    return { ...result, ms: Date.now() - started };
  }

  function assertOneErrorLine(
    result: Awaited<ReturnType<typeof runStatus>>,
    proxy: TlsProxy,
    reason: RegExp
  ) {
    assert.equal(result.timedOut, false, `the CLI exits within ${CLI_TIME_LIMIT_MS} ms`);
    assert.equal(result.exitCode, 1, result.stderr);
    const lines = result.stderr.split('\n').filter((line) => line.trim() !== '');
    assert.equal(lines.length, 1, `one line on stderr, got:\n${result.stderr}`);
    assert.ok(lines[0]?.startsWith('Error: '), lines[0]);
    assert.ok(lines[0]?.includes(addressOf(proxy)), `names the address: ${lines[0]}`);
    assert.match(lines[0] ?? '', reason);
    assert.equal(result.stdout, '');
  }

  test('exits 1 with one Error line naming the address when the server CA is wrong', async () => {
    const result = await runStatus(tlsProxy, {
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.wrongCaCert,
    });
    assertOneErrorLine(result, tlsProxy, /TLS handshake failed/);
  });

  test('exits 1 with one Error line naming the address when the client certificate is missing', async () => {
    const result = await runStatus(mtlsProxy, { TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.caCert });
    assertOneErrorLine(result, mtlsProxy, /certificate required/);
  });

  test('exits 1 with one Error line naming the address when the API key is wrong', async () => {
    const result = await runStatus(apiKeyProxy, {
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.caCert,
      TEMPORAL_API_KEY: 'not-the-key',
    });
    assertOneErrorLine(result, apiKeyProxy, /authentication/);
  });
});

// Connection failures are the point of this file; the Rust core's own warnings about them
// would only repeat what the assertions check.
function quietWorkerLogs(): void {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // A runtime is already installed in this process.
  }
}
