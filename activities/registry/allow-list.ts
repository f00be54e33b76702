// A worker downloads only from the registries its operator listed, each given as a URL
// prefix. Matching is on whole path segments so that `https://epoch.example` does not also
// admit `https://epoch.example.evil.net/...`.

export function isAllowedUrl(url: string, prefixes: readonly string[]): boolean {
  return prefixes.some((prefix) => matchesPrefix(url, prefix));
}

function matchesPrefix(url: string, prefix: string): boolean {
  if (!url.startsWith(prefix)) return false;
  if (url.length === prefix.length || prefix.endsWith('/')) return true;
  return url[prefix.length] === '/';
}
