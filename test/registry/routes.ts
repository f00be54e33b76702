/** The request families the registry counts and injects faults into. */
export type RouteKind = 'download' | 'manifest' | 'blob' | 'other';

export type Route =
  | { kind: 'download'; repo: string }
  | { kind: 'manifest'; repo: string; reference: string }
  | { kind: 'blob'; repo: string; digest: string }
  | { kind: 'other' };

// Repository names may contain '/', so the name is everything up to the last fixed segment.
const downloadPath = /^\/dl\/(.+)$/;
const manifestPath = /^\/v2\/(.+)\/manifests\/([^/]+)$/;
const blobPath = /^\/v2\/(.+)\/blobs\/([^/]+)$/;

/** Which epoch route a request path names; the query string plays no part. */
export function resolveRoute(target: string): Route {
  const path = decodePath(target.split('?', 1)[0] ?? '');
  if (path === undefined) {
    return { kind: 'other' };
  }
  const download = downloadPath.exec(path);
  if (download?.[1] !== undefined) {
    return { kind: 'download', repo: download[1] };
  }
  const manifest = manifestPath.exec(path);
  if (manifest?.[1] !== undefined && manifest[2] !== undefined) {
    return { kind: 'manifest', repo: manifest[1], reference: manifest[2] };
  }
  const blob = blobPath.exec(path);
  if (blob?.[1] !== undefined && blob[2] !== undefined) {
    return { kind: 'blob', repo: blob[1], digest: blob[2] };
  }
  return { kind: 'other' };
}

/** The repository a route belongs to, if any. */
export function routeRepo(route: Route): string | undefined {
  return route.kind === 'other' ? undefined : route.repo;
}

/** Encodes a repository name for a URL path, keeping its '/' separators. */
export function encodeRepoPath(repo: string): string {
  return repo.split('/').map(encodeURIComponent).join('/');
}

function decodePath(path: string): string | undefined {
  try {
    return path
      .split('/')
      .map((segment) => decodeURIComponent(segment))
      .join('/');
  } catch {
    return undefined;
  }
}
