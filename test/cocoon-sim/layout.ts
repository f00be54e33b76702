import path from 'node:path';

// Where cocoon keeps things under --root-dir and --run-dir. Only the parts the simulator models
// are listed.
export interface Layout {
  rootDir: string;
  runDir: string;
  cloudimg: { index: string; lock: string; blobs: string; temp: string };
  oci: { index: string; lock: string; blobs: string };
  vms: { db: string; lock: string };
  snapshots: { db: string; lock: string; data: string };
}

export function createLayout(rootDir: string, runDir: string): Layout {
  const at = (...parts: string[]): string => path.join(rootDir, ...parts);

  return {
    rootDir,
    runDir,
    cloudimg: {
      index: at('cloudimg', 'db', 'images.json'),
      lock: at('cloudimg', 'db', 'images.lock'),
      blobs: at('cloudimg', 'blobs'),
      temp: at('cloudimg', 'temp'),
    },
    oci: {
      index: at('oci', 'db', 'images.json'),
      lock: at('oci', 'db', 'images.lock'),
      blobs: at('oci', 'blobs'),
    },
    vms: {
      db: at('cloudhypervisor', 'db', 'vms.json'),
      lock: at('cloudhypervisor', 'db', 'vms.lock'),
    },
    snapshots: {
      db: at('snapshot', 'db', 'snapshots.json'),
      lock: at('snapshot', 'db', 'snapshots.lock'),
      data: at('snapshot', 'localfile'),
    },
  };
}

export function cloudBlobPath(layout: Layout, hex: string): string {
  return path.join(layout.cloudimg.blobs, `${hex}.qcow2`);
}

export function ociBlobPath(layout: Layout, hex: string): string {
  return path.join(layout.oci.blobs, `${hex}.erofs`);
}

export function vmRunDir(layout: Layout, id: string): string {
  return path.join(layout.runDir, 'cloudhypervisor', id);
}

export function snapshotDataDir(layout: Layout, id: string): string {
  return path.join(layout.snapshots.data, id);
}
