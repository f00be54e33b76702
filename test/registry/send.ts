import type { ServerResponse } from 'node:http';

import type { Fault } from './faults.js';
import type { Reply } from './replies.js';

export interface SendOptions {
  /** Aborted when the registry closes, ending any stall or slow transfer. */
  signal: AbortSignal;
  /** Called with each count of body bytes the socket accepted. */
  onBytes(count: number): void;
}

// Small enough that truncation points and byte counts land where a test asks, large
// enough that a disk image still moves in a few dozen writes.
const chunkSize = 16 * 1024;

// A slow transfer sends one piece per tick, so its rate holds from the first second.
const slowTickMs = 50;

/** Writes `reply` to `res`, shaping its body as `fault` says. */
export async function sendReply(
  res: ServerResponse,
  reply: Reply,
  fault: Fault | undefined,
  options: SendOptions
): Promise<void> {
  const body = fault?.kind === 'corrupt' ? invertSomeBytes(reply.body) : reply.body;
  const cut = cutPoint(fault, body.length);
  const headers = { ...reply.headers };
  if (fault?.kind === 'truncate' && !reply.chunked && cut < body.length) {
    // A short body under a Content-Length can only end with the connection.
    headers['Connection'] = 'close';
  }
  res.writeHead(reply.status, headers);
  // Headers go out now, so a client sees the status even if the body then breaks.
  res.flushHeaders();

  const pace = fault?.kind === 'slow' ? fault.bytesPerSecond : undefined;
  if (!(await writeRange(res, body, 0, cut, pace, options))) {
    return;
  }
  switch (fault?.kind) {
    case 'truncate':
      res.end();
      return;
    case 'reset':
      dropConnection(res);
      return;
    case 'stall':
      if (!(await pause(res, fault.forMs, options.signal))) {
        res.destroy();
        return;
      }
      break;
  }
  if (await writeRange(res, body, cut, body.length, pace, options)) {
    res.end();
  }
}

/** Where a fault interrupts the body; the body length when it does not. */
function cutPoint(fault: Fault | undefined, length: number): number {
  switch (fault?.kind) {
    case 'reset':
    case 'truncate':
    case 'stall':
      return Math.min(fault.afterBytes, length);
    default:
      return length;
  }
}

/** Writes `body[start, end)`; false when the connection or the registry went away. */
async function writeRange(
  res: ServerResponse,
  body: Buffer,
  start: number,
  end: number,
  bytesPerSecond: number | undefined,
  options: SendOptions
): Promise<boolean> {
  const step =
    bytesPerSecond === undefined
      ? chunkSize
      : Math.max(1, Math.floor((bytesPerSecond * slowTickMs) / 1000));
  for (let offset = start; offset < end; offset += step) {
    const chunk = body.subarray(offset, Math.min(offset + step, end));
    if (options.signal.aborted || !(await writeChunk(res, chunk))) {
      return false;
    }
    options.onBytes(chunk.length);
    if (bytesPerSecond !== undefined) {
      const waitMs = (chunk.length / bytesPerSecond) * 1000;
      if (!(await pause(res, waitMs, options.signal))) {
        return false;
      }
    }
  }
  return !options.signal.aborted && !res.destroyed;
}

/** Resolves once the socket took the chunk: true, or false if the connection closed first. */
function writeChunk(res: ServerResponse, chunk: Buffer): Promise<boolean> {
  if (res.destroyed || res.writableEnded) {
    return Promise.resolve(false);
  }
  return new Promise((resolve) => {
    const onClose = (): void => resolve(false);
    res.once('close', onClose);
    res.write(chunk, (error) => {
      res.off('close', onClose);
      resolve(error === undefined || error === null);
    });
  });
}

/**
 * Waits `ms` (forever when undefined). True if the time passed, false if the registry
 * closed or the client went away first.
 */
function pause(res: ServerResponse, ms: number | undefined, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted || res.destroyed) {
    return Promise.resolve(false);
  }
  return new Promise((resolve) => {
    const finish = (elapsed: boolean): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      res.off('close', onAbort);
      resolve(elapsed);
    };
    const onAbort = (): void => finish(false);
    const timer = ms === undefined ? undefined : setTimeout(() => finish(true), ms);
    signal.addEventListener('abort', onAbort);
    res.once('close', onAbort);
  });
}

/**
 * Closes the connection after the bytes already written, without ending the response:
 * chunked bodies lack their terminator and sized bodies come up short, so the client
 * sees the body break rather than end.
 */
function dropConnection(res: ServerResponse): void {
  const socket = res.socket;
  if (socket === null) {
    res.destroy();
    return;
  }
  socket.end();
}

/** A copy of `bytes` with a few bytes inverted, away from the start so headers still parse. */
function invertSomeBytes(bytes: Buffer): Buffer {
  const copy = Buffer.from(bytes);
  const positions = new Set([1, 2, 3].map((quarter) => Math.floor((copy.length * quarter) / 4)));
  for (const position of positions) {
    if (position < copy.length) {
      copy[position] = (copy[position] ?? 0) ^ 0xff;
    }
  }
  return copy;
}
