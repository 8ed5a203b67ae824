// What an HTTP answer is, for both clients (http.ts over node:http(s), http1.ts over plain
// sockets): its status, Retry-After and body as chunks, and the errors a request ends with.
// Large bodies live in buffers of the raw-block recycler (src/scan/buffers.ts); what goes to a
// worker comes back through the decode pool. Only buffers that are the answer's own may be moved
// to a worker or recycled: node:http's chunks are slices of buffers Node itself still uses.

import { rawBuffers } from '../../scan/buffers.ts';

/** An answer as the socket delivered it: chunks, not yet copied into one buffer. */
export interface Chunks {
  parts: Buffer[];
  length: number;
  /** The one part starts an ArrayBuffer that belongs to this answer alone (http1.ts answers). */
  owned?: boolean;
}

export interface HttpAnswer {
  status: number;
  retryAfter: string | null;
  body: Chunks;
}

export interface HttpClientOptions {
  /** Sockets kept per node: one per request in flight. */
  socketsMax: number;
  /** Longest answer accepted; a bigger one is refused rather than buffered. */
  answerBytesMax: number;
  /** Shutdown: every request in flight or waiting fails with HttpAborted, and so do later ones.
   * One listener per client, not one per request. */
  signal?: AbortSignal | undefined;
}


export class HttpAnswerTooLarge extends Error {}
export class HttpTimeout extends Error {}
export class HttpAborted extends Error {}

/** From this size on, answer bytes go into recycled buffers; below it malloc is cheap enough. */
export const RECYCLED_BYTES_MIN = 64 * 1024;

/** A buffer of its own for `length` bytes, never a slice of Node's shared pool (so it can be
 * moved to a worker), not zero-filled, recycled when large. */
export function ownBytes(length: number): Buffer {
  return length >= RECYCLED_BYTES_MIN ? Buffer.from(rawBuffers.take(length), 0, length) : Buffer.allocUnsafeSlow(length);
}

/** Bytes [start, end) of an answer, copied once into a buffer of their own (ownBytes): a view of
 * the first end - start bytes of its ArrayBuffer, which may be larger. */
export function copyChunks(body: Chunks, start = 0, end = body.length): Uint8Array {
  const out = ownBytes(end - start);
  let offset = 0;
  let written = 0;
  for (const part of body.parts) {
    const from = Math.max(start - offset, 0);
    const to = Math.min(end - offset, part.length);
    if (from < to) written += part.copy(out, written, from, to);
    offset += part.length;
    if (offset >= end) break;
  }
  return new Uint8Array(out.buffer, 0, end - start);
}

/** The answer in one buffer of its own, as a view of its first bytes: the answer's own buffer
 * when it owns one (http1.ts), else a copy. */
export function joinChunks(body: Chunks): Uint8Array {
  const only = body.parts[0];
  if (body.owned === true && body.parts.length === 1 && only !== undefined && only.byteOffset === 0 && only.buffer instanceof ArrayBuffer) {
    return new Uint8Array(only.buffer, 0, only.byteLength);
  }
  return copyChunks(body);
}
