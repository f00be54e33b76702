import { DefaultLogger, type LogLevel } from '@temporalio/worker';

// Workers log one JSON object per line on stderr: a short sentence plus its metadata, ready
// for journald or a log shipper.

export function createJsonLogger(level: LogLevel = 'INFO'): DefaultLogger {
  return new DefaultLogger(level, (entry) => {
    const line = {
      time: new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString(),
      level: entry.level.toLowerCase(),
      message: entry.message,
      ...entry.meta,
    };
    process.stderr.write(`${JSON.stringify(line, replaceUnserializable)}\n`);
  });
}

function replaceUnserializable(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}
