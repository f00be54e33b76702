import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

import { type Fault, FaultBook, type FaultHandle, type FaultMatch } from './faults.js';
import { htmlFaultReply, replyFor, statusFaultReply } from './replies.js';
import { encodeRepoPath, resolveRoute, routeRepo } from './routes.js';
import { sendReply } from './send.js';
import { type RequestFilter, RequestLog, type RequestRecord } from './stats.js';
import { type PushedImage, RegistryStore } from './store.js';

export interface EpochRegistryOptions {
  /** Interface to listen on; loopback unless told otherwise. */
  host?: string;
  /** Port to listen on; 0 picks a free one. */
  port?: number;
}

/**
 * A real HTTP server on loopback that answers the image routes of epoch, cocoon's
 * registry, with epoch's headers and quirks: `/dl/<repo>` streams the `latest` cloud
 * image chunked with no length or digest, `/v2/<repo>/manifests/<ref>` and
 * `/v2/<repo>/blobs/<digest>` answer as an OCI registry whose blob namespace is global.
 * Tests fill it through `push*`, make it misbehave through `injectFault` and read what
 * clients did through the request log.
 */
export class EpochRegistry {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly #server: Server;
  readonly #sockets: Set<Socket>;
  readonly #store = new RegistryStore();
  readonly #faults = new FaultBook();
  readonly #log = new RequestLog();
  readonly #closing = new AbortController();
  #closed: Promise<void> | undefined;

  private constructor(server: Server, sockets: Set<Socket>, url: string) {
    this.#server = server;
    this.#sockets = sockets;
    this.url = url;
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.#handle(req, res));
  }

  static async start(options: EpochRegistryOptions = {}): Promise<EpochRegistry> {
    const host = options.host ?? '127.0.0.1';
    const server = createServer();
    const sockets = new Set<Socket>();
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    const urlHost = host.includes(':') ? `[${host}]` : host;
    return new EpochRegistry(server, sockets, `http://${urlHost}:${port}`);
  }

  /**
   * Stores `bytes` as a single-layer cloud image (qcow2 when they carry the qcow2 magic,
   * raw otherwise) and moves `tag` to it. Earlier manifests and blobs stay served by
   * digest, as epoch never deletes them.
   */
  pushCloudImage(repo: string, bytes: Buffer, tag = 'latest'): PushedImage {
    return this.#store.pushCloudImage(repo, bytes, tag);
  }

  /** Stores a cloud image split into `.part` layers that /dl/ concatenates in order. */
  pushCloudImageParts(repo: string, parts: Buffer[], tag = 'latest'): PushedImage {
    return this.#store.pushCloudImageParts(repo, parts, tag);
  }

  /**
   * Stores any bytes, such as an HTML page, as a raw disk layer: epoch checks nothing,
   * so /dl/ then serves them with 200 like any image.
   */
  pushRawBody(repo: string, bytes: Buffer, tag = 'latest'): PushedImage {
    return this.#store.pushRawBody(repo, bytes, tag);
  }

  downloadUrl(repo: string): string {
    return `${this.url}/dl/${encodeRepoPath(repo)}`;
  }

  manifestUrl(repo: string, reference = 'latest'): string {
    return `${this.url}/v2/${encodeRepoPath(repo)}/manifests/${reference}`;
  }

  blobUrl(repo: string, digest: string): string {
    return `${this.url}/v2/${encodeRepoPath(repo)}/blobs/${digest}`;
  }

  /**
   * Makes the next `times` requests matching `match` show `fault` (`Infinity`: until
   * cleared). When several faults match, the one injected first applies.
   */
  injectFault(match: FaultMatch, fault: Fault, times = 1): FaultHandle {
    return this.#faults.inject(match, fault, times);
  }

  clearFaults(): void {
    this.#faults.clear();
  }

  /** Exchanges since the last reset, oldest first, including ones still open. */
  requests(filter?: RequestFilter): RequestRecord[] {
    return this.#log.list(filter);
  }

  requestCount(filter?: RequestFilter): number {
    return this.#log.count(filter);
  }

  /** Body bytes sent over all matching exchanges. */
  bytesSent(filter?: RequestFilter): number {
    return this.#log.bytesSent(filter);
  }

  resetStats(): void {
    this.#log.reset();
  }

  /** Stops listening, ends stalled and slow responses and drops every open connection. */
  close(): Promise<void> {
    if (this.#closed === undefined) {
      this.#closing.abort();
      this.#closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      for (const socket of this.#sockets) {
        socket.destroy();
      }
    }
    return this.#closed;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? 'GET';
    const target = req.url ?? '/';
    const route = resolveRoute(target);
    const repo = routeRepo(route);
    const record = this.#log.open(method, target, route.kind, repo);
    res.once('finish', () => {
      record.completed = true;
    });
    res.once('close', () => {
      record.open = false;
    });

    const fault = this.#faults.take(route.kind, repo);
    record.fault = fault?.kind;
    const reply =
      fault?.kind === 'status'
        ? statusFaultReply(method, fault.status)
        : fault?.kind === 'html'
          ? htmlFaultReply(method)
          : replyFor(this.#store, method, target.split('?', 1)[0] ?? target, route);
    record.status = reply.status;

    const onBytes = (count: number): void => {
      record.bytesSent += count;
    };
    sendReply(res, reply, fault, { signal: this.#closing.signal, onBytes }).catch(() => {
      res.destroy();
    });
  }
}
