export { CocoonCli, type CocoonCliOptions } from './cocoon/cocoon-cli.js';
export { createNodeActivities, type NodeActivities } from './node-activities.js';
export { createWatchActivities } from './node-watch/watch-node-worker.js';
