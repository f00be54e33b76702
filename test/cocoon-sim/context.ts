import type { FlagValues } from './args.js';
import type { Layout } from './layout.js';

// What every command handler receives.
export interface CommandContext {
  layout: Layout;
  args: string[];
  flags: FlagValues;
  // Aborted on SIGTERM or SIGINT; long steps stop and clean up when it fires.
  signal: AbortSignal;
}
