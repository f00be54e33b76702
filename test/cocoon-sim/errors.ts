// Error helpers that mimic Go's `fmt.Errorf("%s: %w")` chains, so the final message reads the way
// cocoon prints it after `Error: `.

export class CanceledError extends Error {
  constructor() {
    super('context canceled');
    this.name = 'CanceledError';
  }
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function wrapError(prefix: string, cause: unknown): Error {
  return new Error(`${prefix}: ${messageOf(cause)}`, { cause });
}

export function throwIfCanceled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new CanceledError();
  }
}

export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
