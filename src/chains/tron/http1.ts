// A small HTTP/1.1 client for plain-HTTP nodes (a java-tron full node on :8090), used by http.ts
// for http:// URLs. Scanning moves ~0.5 MB of JSON per TRON block; through node:http each byte is
// allocated three times (libuv's 64 KB read buffers, llhttp's copy of every body span, our copy
// for the worker), and the garbage collection of that external memory was the largest cost of
// the main thread. Here the socket reads body bytes straight into the answer's buffer (net
// `onread` with a buffer function), one contiguous buffer from the raw-block recycler that then
// goes to a decode worker as it is: the kernel's copy is the only one. Chunked answers (java-tron's
// large answers are chunked) are de-chunked in place: each data run is moved left over the framing
// before it, within bytes just read (still in cache). The head, and anything read before the
// body starts, goes through a small scratch buffer. https:// (TronGrid) stays on node:https.
//
// What it speaks: POST with Content-Length; answers with Content-Length, chunked transfer coding
// (extensions and trailers skipped) or read-to-close; 1xx heads skipped; keep-alive unless the
// node says `Connection: close` or answers HTTP/1.0. No pipelining: one request per connection at
// a time. Every size it buffers is bounded.

import net from 'node:net';
import { rawBuffers } from '../../scan/buffers.ts';
import { HttpAborted, HttpAnswerTooLarge, HttpTimeout, RECYCLED_BYTES_MIN, type HttpAnswer, type HttpClientOptions } from './http-answer.ts';

const SCRATCH_BYTES = 64 * 1024;
/** Most bytes one socket read puts into an answer's buffer. */
const READ_WINDOW_BYTES = 256 * 1024;
/** Room a body of unknown length keeps free for the next read; it grows (doubling) below this. */
const READ_ROOM_MIN = 32 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const HEAD_BYTES_MAX = 32 * 1024;
const CHUNK_LINE_BYTES_MAX = 1024;
/** Requests waiting for a connection; the callers bound theirs far below this. */
const QUEUE_MAX = 10_000;

interface Request {
  host: string;
  port: number;
  bytes: Buffer;
  /** Expected body size (the last answer of the same path), for a body of unknown length. */
  sizeHint: number;
  resolve(answer: HttpAnswer): void;
  reject(error: unknown): void;
  done: boolean;
}

class Http1ProtocolError extends Error {}

/** A buffer of its own with room for `bytes`: from the recycler when large (its capacity is then
 * a size class, maybe larger). */
function bodyBuffer(bytes: number): Buffer {
  return bytes >= RECYCLED_BYTES_MIN ? Buffer.from(rawBuffers.take(bytes)) : Buffer.allocUnsafeSlow(Math.max(bytes, 1));
}

/** The answer's body: bytes [0, written) of one buffer that grows by doubling when it must. */
class Body {
  buffer: Buffer;
  written = 0;

  constructor(private readonly bytesMax: number, capacity: number) {
    this.buffer = bodyBuffer(capacity);
  }

  /** Makes room for `bytes` more after what is written, refusing answers beyond bytesMax. */
  reserve(bytes: number): void {
    const needed = this.written + bytes;
    if (needed > this.bytesMax) throw new HttpAnswerTooLarge(`the answer exceeds ${this.bytesMax} bytes`);
    if (needed <= this.buffer.length) return;
    const grown = bodyBuffer(Math.min(Math.max(needed, this.buffer.length * 2), this.bytesMax));
    this.buffer.copy(grown, 0, 0, this.written);
    if (this.buffer.length >= RECYCLED_BYTES_MIN) rawBuffers.give([this.buffer.buffer as ArrayBuffer]);
    this.buffer = grown;
  }

  /** Where the next read goes: after what is written, at most `limit` bytes. */
  window(limit: number): Buffer {
    return this.buffer.subarray(this.written, this.written + Math.min(limit, this.buffer.length - this.written));
  }
}

type Phase = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailers' | 'close';

/** One keep-alive connection and the parse of the answer it is reading. */
class Connection {
  readonly socket: net.Socket;
  request: Request | undefined;
  closed = false;
  private phase: Phase = 'head';
  private status = 0;
  private retryAfter: string | null = null;
  private keepAlive = true;
  private remaining = 0;
  private line = '';
  private body: Body | undefined;
  private readonly scratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  private headBytes: Buffer | undefined;

  constructor(host: string, port: number, private readonly bytesMax: number, private readonly pool: { release(c: Connection): void }) {
    this.socket = net.connect({
      host,
      port,
      noDelay: true,
      onread: { buffer: () => this.target(), callback: (n: number, into: Uint8Array) => this.onRead(n, into) },
    } as net.NetConnectOpts);
    this.socket.on('end', () => this.onEnd());
    this.socket.on('error', (error) => this.fail(error));
    this.socket.on('close', () => this.fail(new Error('the connection closed before the answer ended')));
  }

  send(request: Request): void {
    this.request = request;
    this.phase = 'head';
    this.headBytes = undefined;
    this.socket.write(request.bytes);
  }

  destroy(error: Error): void {
    this.fail(error);
    this.socket.destroy();
  }

  /** The buffer the next read lands in: the body's own once the body has begun, else scratch.
   * A Content-Length body is never read past its end, so the next answer's bytes cannot land in it. */
  private target(): Uint8Array {
    const body = this.body;
    if (body === undefined || this.phase === 'head') return this.scratch;
    try {
      if (this.phase === 'length') return body.window(Math.min(this.remaining, READ_WINDOW_BYTES));
      body.reserve(READ_ROOM_MIN);
      return body.window(READ_WINDOW_BYTES);
    } catch (error) {
      // Too large: fail the answer, and read what still comes into scratch until the socket closes.
      this.destroy(error as Error);
      return this.scratch;
    }
  }

  private onRead(n: number, into: Uint8Array): boolean {
    try {
      const body = this.body;
      if (into.buffer === this.scratch.buffer || body === undefined) this.consume(this.scratch, 0, n, false);
      else this.consume(body.buffer, body.written, body.written + n, true);
    } catch (error) {
      this.destroy(error as Error);
    }
    return true;
  }

  /** Bytes [at, end) of `source`. In place: they were read into the body's buffer right after its
   * written bytes, and body data among them moves left over any framing before it (the buffer is
   * never grown meanwhile: data only moves left). From scratch: body data is copied in. */
  private consume(source: Buffer, start: number, end: number, inPlace: boolean): void {
    let at = start;
    while (at < end) {
      if (this.request === undefined) throw new Http1ProtocolError('bytes from the node while no request was in flight');
      if (this.phase === 'head') {
        at = this.readHead(source, at, end);
        continue;
      }
      const body = this.body as Body;
      if (this.phase === 'length' || this.phase === 'chunk-data' || this.phase === 'close') {
        const take = this.phase === 'close' ? end - at : Math.min(this.remaining, end - at);
        if (inPlace) {
          if (at !== body.written) source.copyWithin(body.written, at, at + take);
        } else {
          body.reserve(take);
          source.copy(body.buffer, body.written, at, at + take);
        }
        body.written += take;
        at += take;
        if (this.phase === 'close') continue;
        this.remaining -= take;
        if (this.remaining === 0) {
          if (this.phase === 'length') this.complete();
          else this.phase = 'chunk-crlf';
        }
      } else at = this.readLine(source, at, end);
    }
  }

  /** Collects the head up to its blank line (which may straddle two reads), then sets up the body. */
  private readHead(buffer: Buffer, at: number, n: number): number {
    const carried = this.headBytes?.length ?? 0;
    // Search from up to 3 carried bytes back, in case the blank line straddles two reads.
    const joined = carried === 0 ? buffer.subarray(at, n) : Buffer.concat([this.headBytes as Buffer, buffer.subarray(at, n)]);
    const end = joined.indexOf(HEAD_END, Math.max(0, carried - 3));
    if (end < 0) {
      if (joined.length >= HEAD_BYTES_MAX) throw new Http1ProtocolError('an answer head beyond 32 KB');
      this.headBytes = Buffer.from(joined);
      return n;
    }
    this.headBytes = undefined;
    const consumed = end + 4 - carried;
    const lines = joined.toString('latin1', 0, end).split('\r\n');
    const statusLine = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0] ?? '');
    if (statusLine === null) throw new Http1ProtocolError(`not an HTTP/1.x answer: ${JSON.stringify((lines[0] ?? '').slice(0, 40))}`);
    this.status = Number(statusLine[2]);
    if (this.status >= 100 && this.status < 200) return at + consumed; // 100 Continue and the like: the real head follows
    this.keepAlive = statusLine[1] === '1';
    this.retryAfter = null;
    let length: number | undefined;
    let chunked = false;
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') length = /^\d+$/.test(value) ? Number(value) : Number.NaN;
      else if (name === 'transfer-encoding') chunked = value.toLowerCase().split(',').some((coding: string) => coding.trim() === 'chunked');
      else if (name === 'connection') this.keepAlive = value.toLowerCase() === 'keep-alive' || (this.keepAlive && value.toLowerCase() !== 'close');
      else if (name === 'retry-after') this.retryAfter = value;
    }
    if (length !== undefined && !Number.isSafeInteger(length)) throw new Http1ProtocolError('an invalid Content-Length');
    if (length !== undefined && length > this.bytesMax) throw new HttpAnswerTooLarge(`the answer exceeds ${this.bytesMax} bytes`);
    const request = this.request as Request;
    this.body = new Body(this.bytesMax, chunked || length === undefined ? Math.min(request.sizeHint + READ_ROOM_MIN, this.bytesMax) : length);
    if (chunked) this.phase = 'chunk-size';
    else if (length !== undefined) {
      this.phase = 'length';
      this.remaining = length;
      if (length === 0) this.complete();
    } else {
      this.phase = 'close';
      this.keepAlive = false;
    }
    return at + consumed;
  }

  /** Chunk-size lines, the CRLF after each chunk's data, and trailers. */
  private readLine(buffer: Buffer, at: number, n: number): number {
    const lf = buffer.indexOf(0x0a, at);
    const end = lf < 0 || lf >= n ? n : lf + 1;
    this.line += buffer.toString('latin1', at, end);
    if (this.line.length > CHUNK_LINE_BYTES_MAX) throw new Http1ProtocolError('a chunk line beyond 1 KB');
    if (!this.line.endsWith('\n')) return end;
    const line = this.line.replace(/\r?\n$/, '');
    this.line = '';
    if (this.phase === 'chunk-crlf') {
      if (line !== '') throw new Http1ProtocolError('chunk data not followed by CRLF');
      this.phase = 'chunk-size';
    } else if (this.phase === 'chunk-size') {
      const size = Number.parseInt(line.split(';')[0] ?? '', 16);
      if (!/^[0-9a-fA-F]+/.test(line) || !Number.isSafeInteger(size)) throw new Http1ProtocolError(`an invalid chunk size ${JSON.stringify(line.slice(0, 20))}`);
      if (size === 0) this.phase = 'trailers';
      else {
        this.phase = 'chunk-data';
        this.remaining = size;
      }
    } else if (line === '') this.complete(); // the blank line that ends the trailers
    return end;
  }

  private onEnd(): void {
    if (this.phase === 'close' && this.request !== undefined) this.complete();
    else this.fail(new Error('the node closed the connection'));
  }

  private complete(): void {
    const request = this.request as Request;
    this.request = undefined;
    const body = this.body as Body;
    this.body = undefined;
    this.phase = 'head';
    if (!this.keepAlive) {
      this.closed = true;
      this.socket.end();
    }
    if (!request.done) {
      request.done = true;
      request.resolve({ status: this.status, retryAfter: this.retryAfter, body: { parts: [body.buffer.subarray(0, body.written)], length: body.written, owned: true } });
    }
    // Free for the next request at once, but the pool sends nothing on it before this read is
    // consumed: bytes left in it (a node misbehaving) fail this connection rather than being
    // taken for the next request's answer.
    this.pool.release(this);
  }

  private fail(error: Error): void {
    const wasClosed = this.closed;
    this.closed = true;
    const request = this.request;
    this.request = undefined;
    this.body = undefined;
    if (request !== undefined && !request.done) {
      request.done = true;
      request.reject(error);
    }
    if (!wasClosed) this.pool.release(this);
  }
}

export interface Http1Client {
  post(url: URL, headers: Record<string, string>, body: string, timeoutMs: number): Promise<HttpAnswer>;
  close(): void;
}

export function createHttp1Client(options: HttpClientOptions): Http1Client {
  const idle: Connection[] = [];
  const busy = new Set<Connection>();
  const queue: Request[] = [];
  /** Body size of the last answer per path: where a body of unknown length starts its buffer. */
  const sizeHints = new Map<string, number>();
  options.signal?.addEventListener('abort', () => closeAll(new HttpAborted('aborted')), { once: true });

  function closeAll(error: Error): void {
    for (const request of queue.splice(0)) {
      if (!request.done) {
        request.done = true;
        request.reject(error);
      }
    }
    for (const connection of [...idle, ...busy]) connection.destroy(error);
    idle.length = 0;
    busy.clear();
  }

  function dispatch(): void {
    while (queue.length > 0) {
      const request = queue[0] as Request;
      if (request.done) {
        queue.shift();
        continue;
      }
      let connection = idle.pop();
      while (connection !== undefined && connection.closed) connection = idle.pop();
      if (connection === undefined) {
        if (busy.size >= options.socketsMax) return;
        connection = new Connection(request.host, request.port, options.answerBytesMax, { release });
      }
      queue.shift();
      busy.add(connection);
      connection.send(request);
    }
  }

  /** A connection is free again, or gone (closed: it is dropped). Waiting requests are sent from
   * a microtask, never from inside a connection's read. */
  function release(connection: Connection): void {
    busy.delete(connection);
    const at = idle.indexOf(connection);
    if (at >= 0) idle.splice(at, 1);
    if (!connection.closed && connection.request === undefined) idle.push(connection);
    if (queue.length > 0) queueMicrotask(dispatch);
  }

  return {
    post(url, headers, body, timeoutMs) {
      return new Promise<HttpAnswer>((resolve, reject) => {
        if (options.signal?.aborted === true) return reject(new HttpAborted('aborted'));
        if (queue.length >= QUEUE_MAX) return reject(new Error(`more than ${QUEUE_MAX} requests waiting for a connection`));
        const payload = Buffer.from(body);
        let head = `POST ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: keep-alive\r\nContent-Length: ${payload.length}\r\n`;
        for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
        const bytes = Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), payload]);
        const finish = (): void => clearTimeout(timer);
        const request: Request = {
          host: url.hostname,
          port: url.port === '' ? 80 : Number(url.port),
          bytes,
          sizeHint: sizeHints.get(url.pathname) ?? 0,
          done: false,
          resolve: (answer) => {
            finish();
            // A handful of paths: the map stays small.
            if (sizeHints.size < 64 || sizeHints.has(url.pathname)) sizeHints.set(url.pathname, answer.body.length);
            resolve(answer);
          },
          reject: (error) => {
            finish();
            reject(error);
          },
        };
        // A request given up on takes its connection with it: the answer may still be arriving.
        const abandon = (error: Error): void => {
          for (const connection of busy) {
            if (connection.request === request) {
              connection.destroy(error);
              return;
            }
          }
          if (!request.done) {
            request.done = true;
            request.reject(error);
          }
        };
        const timer = setTimeout(() => abandon(new HttpTimeout(`no answer within ${timeoutMs} ms`)), timeoutMs);
        queue.push(request);
        dispatch();
      });
    },
    close() {
      closeAll(new HttpAborted('client closed'));
    },
  };
}
