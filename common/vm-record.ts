// The VM record cocoon prints for `vm clone -o json` and `vm inspect`. The fields this tool
// reads are typed; every other field is carried through untouched, because callers such as
// vk-cocoon parse the same JSON cocoon would have printed.

export interface VmNetworkConfig {
  tap?: string;
  mac?: string;
  netns_path?: string;
  network?: { ip?: string; gateway?: string; prefix?: number };
  [field: string]: unknown;
}

export interface VmRecord {
  id: string;
  hypervisor?: string;
  /** `creating|created|running|stopped|error`, or `stopped (stale)` from `vm inspect`. */
  state: string;
  config: { name: string; image?: string; image_digest?: string; [field: string]: unknown };
  pid?: number;
  network_configs?: VmNetworkConfig[];
  [field: string]: unknown;
}
