// What an HTTP answer is, for both clients (http.ts over node:http(s), http1.ts over plain
// sockets): its status, Retry-After and body as chunks, and the errors a request ends with.

/** An answer as the socket delivered it: chunks, not yet copied into one buffer. */
export interface Chunks {
  parts: Buffer[];
  length: number;
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

/** Bytes [start, end) of an answer, copied once into a buffer of their own (allocUnsafeSlow: not
 * from Node's shared pool, so it can be moved to a worker, and not zero-filled first). */
export function copyChunks(body: Chunks, start = 0, end = body.length): Uint8Array {
  const out = Buffer.allocUnsafeSlow(end - start);
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


/** The answer in one buffer of its own: the answer's own buffer when it arrived as exactly one
 * (a Content-Length answer), else a copy. */
export function joinChunks(body: Chunks): Uint8Array {
  const only = body.parts.length === 1 ? body.parts[0] : undefined;
  if (only !== undefined && only.byteOffset === 0 && only.byteLength === only.buffer.byteLength && only.buffer instanceof ArrayBuffer) {
    return new Uint8Array(only.buffer, 0, only.byteLength);
  }
  return copyChunks(body);
}
