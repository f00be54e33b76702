import { fileURLToPath } from 'node:url';

// Absolute path of the simulator's executable wrapper, usable wherever a `cocoon` binary path is
// expected. This module runs compiled from dist/test/cocoon-sim/, three levels below the
// repository root; the wrapper is kept in the source tree at test/cocoon-sim/cocoon.
export const SIMULATOR_PATH = fileURLToPath(
  new URL('../../../test/cocoon-sim/cocoon', import.meta.url)
);
