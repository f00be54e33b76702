/** A usage mistake on the command line: printed as one `Error:` line, exit code 1. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
