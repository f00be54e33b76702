// The workflow bundle's entry: every workflow type a cocoon-flow worker serves.
export { cloneVM } from './clone-vm.js';
