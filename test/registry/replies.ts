import { STATUS_CODES } from 'node:http';

import type { Route } from './routes.js';
import type { RegistryStore } from './store.js';

/** A response decided before any byte of it is sent. */
export interface Reply {
  status: number;
  headers: Record<string, string>;
  /** Empty for HEAD, whose headers still describe the GET body. */
  body: Buffer;
  /** Sent with chunked encoding and no Content-Length, the way epoch streams /dl/. */
  chunked: boolean;
}

/** The response epoch gives to `method` on `path` (resolved to `route`), serving `store`. */
export function replyFor(store: RegistryStore, method: string, path: string, route: Route): Reply {
  switch (route.kind) {
    case 'download':
      return replyForDownload(store, method, route.repo);
    case 'manifest':
      return replyForManifest(store, method, route.repo, route.reference);
    case 'blob':
      return replyForBlob(store, method, route.digest);
    case 'other':
      return replyForOther(method, path);
  }
}

/** What a `status` fault sends in place of the content. */
export function statusFaultReply(method: string, status: number): Reply {
  return textReply(method, status, `${status} ${STATUS_CODES[status] ?? 'injected failure'}\n`);
}

/** What an `html` fault sends: a 200 HTML page where a disk or JSON was expected. */
export function htmlFaultReply(method: string): Reply {
  const page = [
    '<!DOCTYPE html>',
    '<html><head><title>502 Bad Gateway</title></head>',
    '<body><h1>Bad Gateway</h1><p>The upstream registry did not answer.</p></body>',
    '</html>',
    '',
  ].join('\n');
  return lengthReply(
    method,
    200,
    { 'Content-Type': 'text/html; charset=utf-8' },
    Buffer.from(page)
  );
}

function replyForDownload(store: RegistryStore, method: string, repo: string): Reply {
  // Epoch routes /dl/ for GET alone; a HEAD gets no length or digest to probe with.
  if (method !== 'GET') {
    return emptyReply(405, { Allow: 'GET' });
  }
  const parts = store.downloadParts(repo);
  if (parts === undefined) {
    return textReply(method, 404, 'artifact not found\n');
  }
  return {
    status: 200,
    headers: { 'Content-Type': 'application/octet-stream' },
    body: Buffer.concat(parts),
    chunked: true,
  };
}

function replyForManifest(
  store: RegistryStore,
  method: string,
  repo: string,
  reference: string
): Reply {
  if (method !== 'GET' && method !== 'HEAD') {
    return readOnlyReply(method);
  }
  const manifest = store.manifest(repo, reference);
  if (manifest === undefined) {
    return method === 'HEAD'
      ? emptyReply(404)
      : v2ErrorReply(404, 'MANIFEST_UNKNOWN', `manifest ${repo}:${reference} not found`);
  }
  const headers = {
    'Content-Type': manifest.mediaType,
    'Docker-Content-Digest': manifest.digest,
  };
  return lengthReply(method, 200, headers, manifest.bytes);
}

function replyForBlob(store: RegistryStore, method: string, requested: string): Reply {
  if (method !== 'GET' && method !== 'HEAD') {
    return readOnlyReply(method);
  }
  // Epoch strips any `sha256:` prefix, looks the hex up in one global namespace and echoes
  // the digest back without hashing what it sends.
  const digest = `sha256:${requested.replace(/^sha256:/, '')}`;
  const blob = store.blob(digest);
  if (blob === undefined) {
    return method === 'HEAD'
      ? emptyReply(404)
      : v2ErrorReply(404, 'BLOB_UNKNOWN', 'blob not found');
  }
  const headers = { 'Content-Type': 'application/octet-stream', 'Docker-Content-Digest': digest };
  return lengthReply(method, 200, headers, blob);
}

function replyForOther(method: string, path: string): Reply {
  // The registry ping clients send before pulling; epoch answers it with an empty object.
  if (method === 'GET' && (path === '/v2/' || path === '/v2')) {
    const headers = {
      'Content-Type': 'application/json',
      'Docker-Distribution-API-Version': 'registry/2.0',
    };
    return lengthReply(method, 200, headers, Buffer.from('{}'));
  }
  return textReply(method, 404, '404 page not found\n');
}

function readOnlyReply(method: string): Reply {
  const message = `${method} is not served: this registry takes content from its test API`;
  const reply = v2ErrorReply(405, 'UNSUPPORTED', message);
  return { ...reply, headers: { ...reply.headers, Allow: 'GET, HEAD' } };
}

function v2ErrorReply(status: number, code: string, message: string): Reply {
  const body = Buffer.from(JSON.stringify({ errors: [{ code, message }] }));
  return lengthReply('GET', status, { 'Content-Type': 'application/json' }, body);
}

function textReply(method: string, status: number, text: string): Reply {
  const headers = {
    'Content-Type': 'text/plain; charset=utf-8',
    'X-Content-Type-Options': 'nosniff',
  };
  return lengthReply(method, status, headers, Buffer.from(text));
}

function lengthReply(
  method: string,
  status: number,
  headers: Record<string, string>,
  body: Buffer
): Reply {
  return {
    status,
    headers: { ...headers, 'Content-Length': String(body.length) },
    body: method === 'HEAD' ? Buffer.alloc(0) : body,
    chunked: false,
  };
}

function emptyReply(status: number, headers: Record<string, string> = {}): Reply {
  return {
    status,
    headers: { ...headers, 'Content-Length': '0' },
    body: Buffer.alloc(0),
    chunked: false,
  };
}
