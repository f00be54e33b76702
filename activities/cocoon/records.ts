import type { VmRecord } from '../../common/vm-record.js';
import { CocoonError } from './cocoon-error.js';

// cocoon's JSON output, parsed and checked field by field: a shape this tool does not expect
// (a newer cocoon, a wrapper that printed a banner) stops the clone with a clear error instead
// of a wrong decision made on undefined fields.

export interface SnapshotRecord {
  id: string;
  name: string;
  image: string;
  image_digest: string;
  image_type: string;
  hypervisor?: string;
  cpu?: number;
  memory?: number;
  storage?: number;
  [field: string]: unknown;
}

export interface ImageRecord {
  /** The content digest, `sha256:<hex>`. */
  id: string;
  /** The index key: the URL for pulled images, the name for imported ones. */
  name: string;
  type: string;
  /** The on-disk blob size after any conversion. */
  size: number;
  created_at: string;
}

type FieldKind = 'string' | 'number' | 'object';

export function parseSnapshotRecord(stdout: string, command: string[]): SnapshotRecord {
  return parseRecord<SnapshotRecord>(stdout, command, {
    id: 'string',
    name: 'string',
    image: 'string',
    image_digest: 'string',
    image_type: 'string',
  });
}

export function parseImageRecord(stdout: string, command: string[]): ImageRecord {
  return parseRecord<ImageRecord>(stdout, command, {
    id: 'string',
    name: 'string',
    type: 'string',
    size: 'number',
    created_at: 'string',
  });
}

export function parseVmRecord(stdout: string, command: string[]): VmRecord {
  const record = parseRecord<VmRecord>(stdout, command, {
    id: 'string',
    state: 'string',
    config: 'object',
  });

  if (typeof record.config.name !== 'string') {
    throw malformed(command, 'field config.name is missing or not a string', stdout);
  }
  if (record.pid !== undefined && typeof record.pid !== 'number') {
    throw malformed(command, 'field pid is not a number', stdout);
  }
  return record;
}

function parseRecord<T>(stdout: string, command: string[], fields: Record<string, FieldKind>): T {
  let value: unknown;
  try {
    value = JSON.parse(stdout);
  } catch {
    throw malformed(command, 'stdout is not JSON', stdout);
  }

  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw malformed(command, 'stdout is not a JSON object', stdout);
  }

  const record = value as Record<string, unknown>;
  for (const [field, kind] of Object.entries(fields)) {
    const actual = record[field];
    const matches =
      kind === 'object'
        ? typeof actual === 'object' && actual !== null && !Array.isArray(actual)
        : typeof actual === kind;
    if (!matches) throw malformed(command, `field ${field} is missing or not a ${kind}`, stdout);
  }
  return record as T;
}

function malformed(command: string[], problem: string, stdout: string): CocoonError {
  const excerpt = stdout.length > 120 ? `${stdout.slice(0, 117)}...` : stdout;
  return new CocoonError(
    'MalformedOutput',
    `cocoon ${command.join(' ')} printed output this tool cannot read (${problem}): ${JSON.stringify(excerpt)}`,
    { command }
  );
}
