// Everything the simulator writes to stdout goes through here, so stdout holds nothing but the
// documents and plain-text messages cocoon itself prints.

// Go's encoding/json escapes these by default; the characters can only occur inside strings, so
// replacing them in the encoded text is safe.
const GO_ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

export function encodeJsonLikeGo(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(
    /[<>&\u2028\u2029]/g,
    (c) => GO_ESCAPES[c] ?? c
  );
}

export function printJson(value: unknown): void {
  process.stdout.write(`${encodeJsonLikeGo(value, 2)}\n`);
}

export function printText(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

// Left-aligned columns separated by three spaces, like text/tabwriter with cocoon's padding.
export function printTable(headers: string[], rows: string[][]): void {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length))
  );
  const render = (cells: string[]): string =>
    cells
      .map((cell, column) =>
        column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)
      )
      .join('   ');

  printText([headers, ...rows].map(render).join('\n'));
}
