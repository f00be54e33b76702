import http2 from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

// The Temporal dev server speaks only cleartext gRPC. This proxy puts TLS (and optionally
// client-certificate checks and an API key check) in front of it on loopback, so the
// connection-security settings are tested against real handshakes and a real server.

type Pem = string | Buffer;

export interface TlsProxyOptions {
  /** The cleartext gRPC server, as `host:port` or `http://host:port`. */
  backend: string;
  cert: Pem;
  key: Pem;
  /** CA that client certificates must chain to; needed with `requireClientCert`. */
  ca?: Pem;
  /**
   * Ask for a client certificate and verify it against `ca`. Without one the handshake fails
   * with a "certificate required" alert; one that does not verify gets its connection closed
   * right after the handshake, before any HTTP/2 frame (Node's TLS server has no alert for it).
   */
  requireClientCert?: boolean;
  /** Every call must carry `authorization: Bearer <apiKey>`, or it gets UNAUTHENTICATED. */
  apiKey?: string;
}

export interface TlsProxy {
  /** `127.0.0.1:PORT`, the form Temporal's connection options take; it also answers to localhost. */
  readonly address: string;
  readonly port: number;
  /** Why each refused TLS handshake failed, oldest first. */
  readonly handshakeFailures: readonly string[];
  /** How many calls were refused for a missing or wrong API key. */
  readonly unauthenticatedCalls: number;
  close(): Promise<void>;
}

const GRPC_UNAUTHENTICATED = 16;
const GRPC_UNAVAILABLE = 14;

// Headers that are either set again for the other hop or are not allowed in HTTP/2 at all.
const HOP_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'host',
]);

export async function startTlsProxy(options: TlsProxyOptions): Promise<TlsProxy> {
  if (options.requireClientCert && options.ca === undefined) {
    throw new TypeError('requireClientCert needs the ca that client certificates chain to');
  }
  const backendUrl = options.backend.includes('://')
    ? options.backend
    : `http://${options.backend}`;
  const sockets = new Set<Socket>();
  const sessions = new Set<http2.Http2Session>();
  const handshakeFailures: string[] = [];
  let unauthenticatedCalls = 0;

  const server = http2.createSecureServer({
    cert: options.cert,
    key: options.key,
    ca: options.ca,
    requestCert: options.requireClientCert ?? false,
    rejectUnauthorized: options.requireClientCert ?? false,
    allowHTTP1: false,
  });

  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // Node refuses a missing client certificate with a TLS alert, but one that does not verify
  // only by hanging up after the handshake; authorizationError keeps the reason for that case.
  server.on('tlsClientError', (error: Error, socket: TLSSocket) => {
    const refused = socket.authorizationError;
    handshakeFailures.push(refused ? `client certificate refused: ${refused}` : error.message);
  });

  // Each client session gets its own backend session, so a client that goes away takes its
  // half of the proxy with it and calls of different clients never share a fate.
  server.on('session', (session: http2.ServerHttp2Session) => {
    const backend = http2.connect(backendUrl);
    sessions.add(session);
    sessions.add(backend);
    session.on('error', () => backend.destroy());
    backend.on('error', () => session.destroy());
    session.once('close', () => {
      sessions.delete(session);
      backend.close();
    });
    backend.once('close', () => {
      sessions.delete(backend);
      session.close();
    });

    session.on('stream', (stream, headers) => {
      if (options.apiKey !== undefined && headers.authorization !== `Bearer ${options.apiKey}`) {
        unauthenticatedCalls += 1;
        refuseUnauthenticated(stream, headers.authorization === undefined);
        return;
      }
      forwardStream(stream, headers, backend);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    address: `127.0.0.1:${port}`,
    port,
    handshakeFailures,
    get unauthenticatedCalls() {
      return unauthenticatedCalls;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

function forwardStream(
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  backend: http2.ClientHttp2Session
): void {
  if (backend.destroyed || backend.closed) {
    answerUnavailable(stream, 'the backend connection is closed');
    return;
  }

  let upstream: http2.ClientHttp2Stream;
  try {
    upstream = backend.request(requestHeaders(headers), { endStream: false });
  } catch (error) {
    answerUnavailable(stream, `cannot open a backend stream: ${(error as Error).message}`);
    return;
  }

  let trailers: http2.OutgoingHttpHeaders = {};
  stream.pipe(upstream);

  upstream.on('response', (responseHeaders, flags) => {
    if (stream.destroyed) return;
    const ended = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
    // A trailers-only response (an error before any message) has nothing to wait for.
    stream.respond(copyHeaders(responseHeaders, true), {
      endStream: ended,
      waitForTrailers: !ended,
    });
    if (ended) upstream.resume();
    else upstream.pipe(stream);
  });
  upstream.on('trailers', (received) => {
    trailers = copyHeaders(received, false);
  });
  stream.on('wantTrailers', () => stream.sendTrailers(trailers));

  // A reset or error on either side resets the other, so neither peer waits for a call that
  // can no longer finish.
  upstream.on('error', (error) => {
    if (!stream.headersSent && !stream.destroyed) {
      answerUnavailable(stream, `backend stream failed: ${error.message}`);
    } else {
      resetStream(stream, http2.constants.NGHTTP2_INTERNAL_ERROR);
    }
  });
  upstream.on('close', () => {
    if (upstream.rstCode !== undefined && upstream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) {
      resetStream(stream, upstream.rstCode);
    }
  });
  stream.on('error', () => resetStream(upstream, http2.constants.NGHTTP2_CANCEL));
  stream.on('close', () => {
    const code = stream.rstCode ?? http2.constants.NGHTTP2_NO_ERROR;
    if (code !== http2.constants.NGHTTP2_NO_ERROR || !upstream.readableEnded) {
      resetStream(upstream, code === http2.constants.NGHTTP2_NO_ERROR ? undefined : code);
    }
  });
}

function requestHeaders(incoming: http2.IncomingHttpHeaders): http2.OutgoingHttpHeaders {
  const outgoing = copyHeaders(incoming, false);
  outgoing[':method'] = incoming[':method'];
  outgoing[':path'] = incoming[':path'];
  outgoing[':authority'] = incoming[':authority'];
  outgoing[':scheme'] = 'http';
  return outgoing;
}

// Copies the ordinary headers; `:status` is the one pseudo-header a response carries over.
function copyHeaders(
  incoming: http2.IncomingHttpHeaders,
  keepStatus: boolean
): http2.OutgoingHttpHeaders {
  const outgoing: http2.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || HOP_HEADERS.has(name)) continue;
    if (name.startsWith(':') && !(keepStatus && name === ':status')) continue;
    outgoing[name] = value;
  }
  return outgoing;
}

function refuseUnauthenticated(stream: http2.ServerHttp2Stream, missing: boolean): void {
  const message = missing ? 'missing API key' : 'invalid API key';
  answerWithStatus(stream, GRPC_UNAUTHENTICATED, message);
}

function answerUnavailable(stream: http2.ServerHttp2Stream, message: string): void {
  answerWithStatus(stream, GRPC_UNAVAILABLE, message);
}

// A gRPC error is HTTP 200 with the status in the trailers; the request body is drained so the
// client can finish sending and the stream closes cleanly.
function answerWithStatus(stream: http2.ServerHttp2Stream, code: number, message: string): void {
  if (stream.destroyed || stream.headersSent) return;
  stream.resume();
  stream.on('error', () => {});
  stream.once('wantTrailers', () =>
    stream.sendTrailers({ 'grpc-status': String(code), 'grpc-message': message })
  );
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.end();
}

function resetStream(stream: http2.Http2Stream, code: number | undefined): void {
  if (stream.destroyed || stream.closed) return;
  stream.close(code ?? http2.constants.NGHTTP2_CANCEL);
}
