// Sizes in the syntax of docker/go-units RAMInBytes ("4G", "512MiB", "4294967296"), which cocoon
// uses for --memory and --storage, and a human rendering for its "below snapshot minimum" errors.

const MULTIPLIERS: Record<string, number> = {
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
};

const SIZE_PATTERN = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/;

export function parseRamSize(text: string): number {
  const match = SIZE_PATTERN.exec(text);
  const value = match ? Number.parseFloat(match[1] ?? '') : Number.NaN;
  if (!match || Number.isNaN(value)) {
    throw new Error(`invalid size: '${text}'`);
  }

  const unit = match[2]?.toLowerCase();
  return Math.trunc(value * (unit ? (MULTIPLIERS[unit] ?? 1) : 1));
}

const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBinarySize(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < BINARY_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${Number(value.toPrecision(4))} ${BINARY_UNITS[unit]}`;
}
