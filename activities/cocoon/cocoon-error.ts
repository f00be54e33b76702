// cocoon reports every failure as exit code 1 and a last stderr line `Error: <text>`. This
// module turns that line into a stable code. The substrings come from cocoon's own error
// strings; they are the only place in this project that reads cocoon's message text.

export type CocoonErrorCode =
  | 'SnapshotNotFound'
  | 'ImageNotFound'
  | 'VmNotFound'
  | 'VmNameTaken'
  | 'InvalidVmName'
  | 'ResourceBelowSnapshot'
  | 'HttpStatus'
  | 'RegistryUnreachable'
  | 'DownloadIncomplete'
  | 'NotADiskImage'
  | 'UnsupportedImage'
  | 'BaseBlobMissing'
  | 'BaseLayerMissing'
  | 'AmbiguousRef'
  | 'LockBusy'
  | 'Canceled'
  | 'MalformedOutput'
  | 'Killed'
  | 'NotStarted'
  | 'Unknown';

interface Rule {
  code: CocoonErrorCode;
  pattern: RegExp;
}

// Order matters: a restore failure mentions `vm.restore` and a path that may contain other
// words, so the most specific rules come first.
const RULES: Rule[] = [
  { code: 'BaseBlobMissing', pattern: /vm\.restore:.*Backing file|Could not open backing file/ },
  { code: 'BaseLayerMissing', pattern: /verify base files:/ },
  { code: 'VmNameTaken', pattern: /vm name ".*" already exists/ },
  { code: 'InvalidVmName', pattern: /vm name ".*" is invalid/ },
  { code: 'ResourceBelowSnapshot', pattern: /below snapshot minimum|exceeds host cores/ },
  { code: 'SnapshotNotFound', pattern: /snapshot not found/ },
  { code: 'ImageNotFound', pattern: /not found in any backend/ },
  { code: 'VmNotFound', pattern: /VM not found/i },
  { code: 'HttpStatus', pattern: /http get \S+: status \d{3}/ },
  { code: 'RegistryUnreachable', pattern: /http get \S+: Get "/ },
  {
    code: 'DownloadIncomplete',
    pattern: /download \S+: .*(unexpected EOF|deadline exceeded|connection reset|broken pipe)/,
  },
  { code: 'NotADiskImage', pattern: /content looks like|content too small to be a disk image/ },
  {
    code: 'UnsupportedImage',
    pattern: /unsupported source format|unsupported qcow2 version|qemu-img|inspect image:/,
  },
  { code: 'AmbiguousRef', pattern: /ambiguous ref|resolves to multiple backends/ },
  { code: 'LockBusy', pattern: /lock busy/ },
  { code: 'Canceled', pattern: /context canceled/ },
];

export class CocoonError extends Error {
  override readonly name = 'CocoonError';

  constructor(
    readonly code: CocoonErrorCode,
    message: string,
    readonly details: {
      /** The cocoon arguments, without the binary, sudo or global flags. */
      command: string[];
      exitCode?: number;
      /** cocoon's `Error:` line without the prefix, when it printed one. */
      errorLine?: string;
      /** For `HttpStatus`: the status code the registry answered. */
      httpStatus?: number;
    }
  ) {
    super(message);
  }
}

/** The text of the last `Error: …` line on stderr, if there is one. */
export function findErrorLine(stderr: string): string | undefined {
  const lines = stripAnsi(stderr).split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]?.trim() ?? '';
    if (line.startsWith('Error: ')) return line.slice('Error: '.length);
  }
  return undefined;
}

/** Maps one cocoon error line to its code, and the HTTP status for pull failures. */
export function classifyErrorLine(line: string): { code: CocoonErrorCode; httpStatus?: number } {
  const rule = RULES.find((r) => r.pattern.test(line));
  if (!rule) return { code: 'Unknown' };
  if (rule.code !== 'HttpStatus') return { code: rule.code };

  const status = /: status (\d{3})/.exec(line)?.[1];
  return { code: 'HttpStatus', httpStatus: Number(status) };
}

// cocoon's console logger colours its output unless NO_COLOR is set, and `sudo` drops that
// variable, so colour codes are removed before any line is read.
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
}
