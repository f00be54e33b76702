// The demo talks to a person at a terminal, so it prints plain lines to stdout.

export function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

export function shortDigest(digest: string): string {
  return `${digest.slice(0, 'sha256:'.length + 12)}…`;
}
