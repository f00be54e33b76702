// How cocoon resolves a VM or snapshot ref: exact ID, then exact name, then an ID prefix of at
// least three characters. Returns undefined when nothing matches.

const MIN_PREFIX = 3;

export function resolveByRef<T extends { id: string }>(
  items: T[],
  ref: string,
  nameOf: (item: T) => string
): T | undefined {
  const exact = items.find((item) => item.id === ref) ?? items.find((item) => nameOf(item) === ref);
  if (exact || ref.length < MIN_PREFIX) {
    return exact;
  }

  const byPrefix = items.filter((item) => item.id.startsWith(ref));
  if (byPrefix.length > 1) {
    throw new Error(`ambiguous ref "${ref}": multiple matches`);
  }
  return byPrefix[0];
}
