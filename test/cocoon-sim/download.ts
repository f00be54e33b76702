import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';

import type { Dispatcher } from 'undici';

import { errorCode, messageOf } from './errors.js';

// The HTTP half of a cloud-image pull: GET the URL, follow redirects, stream the body into a file
// while hashing exactly the bytes received. Error texts follow Go's net/http as cocoon wraps it.

// cocoon refuses bodies larger than 20 GiB.
const MAX_BODY_BYTES = 20 * 1024 ** 3;

// Go's http.Client gives up after 10 redirects.
const MAX_REDIRECTS = 10;

export interface DownloadProgress {
  received: number;
  total?: number;
}

export interface DownloadOptions {
  signal: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
}

export interface DownloadResult {
  hex: string;
  size: number;
}

class BodyTooLargeError extends Error {}

interface NetworkErrorFields {
  code?: string;
  address?: string;
  port?: number;
  hostname?: string;
  errors?: unknown[];
}

function formatHostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

// Approximations of Go's dialer messages for the failures tests provoke.
function describeTransportError(url: string, err: unknown): string {
  const fields = err as NetworkErrorFields;
  const first = (fields.errors?.[0] ?? err) as NetworkErrorFields;
  const parsed = new URL(url);
  const defaultPort = parsed.protocol === 'https:' ? 443 : 80;
  const target = formatHostPort(
    first.address ?? parsed.hostname,
    first.port ?? (parsed.port || defaultPort)
  );

  switch (errorCode(err) ?? errorCode(first)) {
    case 'ECONNREFUSED':
      return `dial tcp ${target}: connect: connection refused`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `dial tcp: lookup ${parsed.hostname}: no such host`;
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `dial tcp ${target}: i/o timeout`;
    case 'ECONNRESET':
      return `read tcp ${target}: read: connection reset by peer`;
    default:
      return messageOf(err);
  }
}

type Undici = typeof import('undici');

// Go's client refuses anything but http(s) before dialling; EnsureImage hits this when a
// snapshot's image is an import name rather than a URL.
function checkScheme(url: string): void {
  let scheme = '';
  try {
    scheme = new URL(url).protocol.replace(/:$/, '');
  } catch {
    // Unparseable as an absolute URL: Go sees an empty scheme.
  }
  if (scheme !== 'http' && scheme !== 'https') {
    throw new Error(`http get ${url}: Get "${url}": unsupported protocol scheme "${scheme}"`);
  }
}

async function openResponse(
  undici: Undici,
  url: string,
  dispatcher: Dispatcher,
  signal: AbortSignal
): Promise<Dispatcher.ResponseData> {
  let response: Dispatcher.ResponseData;
  try {
    response = await undici.request(url, { method: 'GET', dispatcher, signal });
  } catch (err) {
    const detail = signal.aborted ? 'context canceled' : describeTransportError(url, err);
    throw new Error(`http get ${url}: Get "${url}": ${detail}`, { cause: err });
  }

  const code = response.statusCode;
  if (code !== 200) {
    await response.body.dump();
    throw new Error(
      `http get ${url}: status ${code} ${code} ${STATUS_CODES[code] ?? ''}`.trimEnd()
    );
  }
  return response;
}

function parseContentLength(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

async function saveBody(
  url: string,
  response: Dispatcher.ResponseData,
  file: string,
  options: DownloadOptions
): Promise<DownloadResult> {
  const total = parseContentLength(response.headers['content-length']);
  const hash = createHash('sha256');
  const handle = await open(file, 'w', 0o644);
  let received = 0;

  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      received += chunk.length;
      if (received > MAX_BODY_BYTES) {
        throw new BodyTooLargeError(`exceeded max size (${MAX_BODY_BYTES} bytes)`);
      }
      hash.update(chunk);
      await handle.write(chunk);
      options.onProgress?.({ received, total });
    }
  } catch (err) {
    if (options.signal.aborted) {
      throw new Error(`download ${url}: context canceled`, { cause: err });
    }
    const detail = err instanceof BodyTooLargeError ? err.message : 'unexpected EOF';
    throw new Error(`download ${url}: ${detail}`, { cause: err });
  } finally {
    await handle.close();
  }

  if (total !== undefined && received !== total) {
    throw new Error(`download ${url}: unexpected EOF`);
  }
  return { hex: hash.digest('hex'), size: received };
}

export async function downloadToFile(
  url: string,
  file: string,
  options: DownloadOptions
): Promise<DownloadResult> {
  checkScheme(url);

  // Loaded on first use: undici's import cost would otherwise be paid by every command.
  const undici = await import('undici');
  const agent = new undici.Agent();
  const dispatcher = agent.compose(
    undici.interceptors.redirect({ maxRedirections: MAX_REDIRECTS })
  );

  try {
    const response = await openResponse(undici, url, dispatcher, options.signal);
    return await saveBody(url, response, file, options);
  } finally {
    await agent.destroy();
  }
}
