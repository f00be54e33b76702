// The workflow bundle's entry: every workflow type a cocoon-flow worker serves.
export { cloneVM } from './clone-vm.js';
export { fleetNodes } from './fleet-nodes.js';
export { refreshFleet } from './refresh-fleet.js';
export { scanFleet } from './scan-fleet.js';
