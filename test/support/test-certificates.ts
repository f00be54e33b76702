import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

// Certificates made fresh for each test run with the openssl CLI, so no private key is ever
// committed and none can expire between runs. P-256 keys keep generation to a few milliseconds.

/** PEM file paths of a throwaway PKI: a CA, its server and client certificates, and a stranger. */
export interface TestCertificates {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A CA that did not sign the server certificate: trusting only it must fail verification. */
  wrongCaCert: string;
  /** A client certificate signed by the wrong CA, which a server trusting `caCert` refuses. */
  strangerCert: string;
  strangerKey: string;
  remove(): Promise<void>;
}

// Both rustls (the worker's connection) and OpenSSL (the client's) check these extensions:
// an end-entity certificate must not be a CA, and must be meant for its side of the handshake.
const CA_EXTENSIONS = [
  'basicConstraints = critical, CA:TRUE',
  'keyUsage = critical, keyCertSign, cRLSign',
  'subjectKeyIdentifier = hash',
];
const SERVER_EXTENSIONS = [
  'basicConstraints = critical, CA:FALSE',
  'keyUsage = critical, digitalSignature',
  'extendedKeyUsage = serverAuth',
  'subjectAltName = DNS:localhost, IP:127.0.0.1',
];
const CLIENT_EXTENSIONS = [
  'basicConstraints = critical, CA:FALSE',
  'keyUsage = critical, digitalSignature',
  'extendedKeyUsage = clientAuth',
];

/** Checks that the openssl CLI runs; the message says how to get it when it does not. */
async function assertOpensslAvailable(): Promise<void> {
  try {
    await execa('openssl', ['version']);
  } catch (error) {
    throw new Error(
      `the openssl CLI is needed to make test certificates (Debian: apt-get install openssl): ${(error as Error).message}`,
      { cause: error }
    );
  }
}

export async function createTestCertificates(): Promise<TestCertificates> {
  await assertOpensslAvailable();
  const dir = await mkdtemp(join(tmpdir(), 'cocoon-flow-certs-'));
  const path = (name: string) => join(dir, name);

  try {
    await createCa(dir, 'ca', 'cocoon-flow test CA');
    await createCa(dir, 'wrong-ca', 'cocoon-flow unrelated CA');
    await createSigned(dir, 'ca', 'server', 'localhost', SERVER_EXTENSIONS);
    await createSigned(dir, 'ca', 'client', 'cocoon-flow test worker', CLIENT_EXTENSIONS);
    await createSigned(dir, 'wrong-ca', 'stranger', 'cocoon-flow stranger', CLIENT_EXTENSIONS);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  return {
    dir,
    caCert: path('ca.pem'),
    serverCert: path('server.pem'),
    serverKey: path('server.key'),
    clientCert: path('client.pem'),
    clientKey: path('client.key'),
    wrongCaCert: path('wrong-ca.pem'),
    strangerCert: path('stranger.pem'),
    strangerKey: path('stranger.key'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

async function createCa(dir: string, name: string, commonName: string): Promise<void> {
  const extensions = join(dir, `${name}.ext`);
  await writeFile(extensions, extensionSection(CA_EXTENSIONS));
  await openssl(dir, [
    'req',
    '-x509',
    ...newKeyArgs(name),
    '-subj',
    `/CN=${commonName}`,
    '-days',
    '2',
    '-config',
    extensions,
    '-extensions',
    'ext',
    '-out',
    `${name}.pem`,
  ]);
}

async function createSigned(
  dir: string,
  issuer: string,
  name: string,
  commonName: string,
  extensionLines: string[]
): Promise<void> {
  const extensions = join(dir, `${name}.ext`);
  await writeFile(extensions, extensionSection(extensionLines));
  await openssl(dir, [
    'req',
    '-new',
    ...newKeyArgs(name),
    '-subj',
    `/CN=${commonName}`,
    '-config',
    extensions,
    '-out',
    `${name}.csr`,
  ]);
  await openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${issuer}.pem`,
    '-CAkey',
    `${issuer}.key`,
    '-CAcreateserial',
    '-CAserial',
    `${issuer}.srl`,
    '-days',
    '2',
    '-extfile',
    extensions,
    '-extensions',
    'ext',
    '-out',
    `${name}.pem`,
  ]);
}

// `req` needs a config file with a [req] section; giving it our own keeps the host's
// openssl.cnf (and whatever defaults it adds) out of the certificates.
function extensionSection(lines: string[]): string {
  return ['[req]', 'distinguished_name = dn', '[dn]', '[ext]', ...lines, ''].join('\n');
}

function newKeyArgs(name: string): string[] {
  return [
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
  ];
}

async function openssl(cwd: string, args: string[]): Promise<void> {
  await execa('openssl', args, { cwd, stdin: 'ignore' });
}
