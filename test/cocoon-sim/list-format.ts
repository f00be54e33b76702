// `-o/--format` of the list commands: "table" (the default) or "json".
export function isJsonFormat(format: string): boolean {
  if (format !== 'table' && format !== 'json') {
    throw new Error(`unsupported output format "${format}" (use table or json)`);
  }
  return format === 'json';
}
