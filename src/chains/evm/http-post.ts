// One HTTP POST to a JSON-RPC node with keep-alive connections, the response body in one buffer.
//   http:  our own small HTTP/1.1 client on net.Socket. The socket reads straight into the
//          response buffer (sized from content-length, net's `onread`), so a 7 MB batch of blocks
//          crosses no stream machinery and no intermediate chunk: measured on the benchmark's
//          node, ~2× less main-thread CPU per block than node:http, ~2.5× less than fetch().
//   https: node:https (TLS is not ours to write).
// Bodies come as content-length, chunked, or until the server closes; anything else is an error.

import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

/** Idle keep-alive sockets kept per node. */
const IDLE_SOCKETS_MAX = 16;
/** Status line and headers beyond this are not a JSON-RPC node's answer. */
const HEAD_BYTES_MAX = 64 * 1024;
const SCRATCH_BYTES = 64 * 1024;
const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: IDLE_SOCKETS_MAX });
/** Response buffers kept for reuse (see recycle()): a scanner has a few requests in flight. */
const SPARE_BUFFERS_MAX = 4;
/** Bodies below this are allocated afresh: reuse matters for the multi-megabyte block batches. */
const SPARE_BYTES_MIN = 256 * 1024;
const spares: Buffer[] = [];

/** A buffer for a body of `length` bytes: a spare one when one is big enough. Batches of blocks
 * are megabytes each, many per second; allocating each afresh made the main thread spend ~10% of
 * its time collecting them. */
function bodyBuffer(length: number): Buffer {
  if (length >= SPARE_BYTES_MIN) {
    const at = spares.findIndex((spare) => spare.length >= length);
    if (at !== -1) return (spares.splice(at, 1)[0] as Buffer).subarray(0, length);
  }
  return Buffer.allocUnsafeSlow(length);
}

/** Gives a response body back for reuse. Only when nothing refers to it any more: the caller has
 * copied out or parsed everything it needs. */
export function recycle(bytes: Buffer): void {
  if (bytes.buffer.byteLength < SPARE_BYTES_MIN || bytes.byteOffset !== 0) return;
  if (spares.length >= SPARE_BUFFERS_MAX) spares.shift();
  spares.push(Buffer.from(bytes.buffer as ArrayBuffer));
}

export interface HttpPostResult {
  status: number;
  bytes: Buffer;
}

/** Rejects with the socket's error (code ECONNREFUSED, ECONNRESET…), or `signal.reason` on abort. */
export function httpPost(url: URL, headers: Record<string, string>, body: string, signal: AbortSignal): Promise<HttpPostResult> {
  if (url.protocol === 'https:') return httpsPost(url, headers, body, signal);
  if (url.protocol !== 'http:') return Promise.reject(new TypeError(`unsupported protocol ${url.protocol}`));
  const payload = Buffer.from(body, 'utf8');
  const lines = [`POST ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`, `content-length: ${payload.length}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  const request = Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), payload]);
  const connection = idle(url.host)?.pop() ?? new Connection(url);
  return connection.send(request, signal);
}

const idleByHost = new Map<string, Connection[]>();

function idle(host: string): Connection[] | undefined {
  return idleByHost.get(host);
}

function release(connection: Connection): void {
  let list = idleByHost.get(connection.host);
  if (list === undefined) idleByHost.set(connection.host, (list = []));
  if (list.length < IDLE_SOCKETS_MAX) list.push(connection);
  else connection.close();
}

function forget(connection: Connection): void {
  const list = idleByHost.get(connection.host);
  const at = list?.indexOf(connection) ?? -1;
  if (at !== -1) list?.splice(at, 1);
}

interface Pending {
  resolve(result: HttpPostResult): void;
  reject(error: unknown): void;
}

/** One keep-alive socket and the parse state of the response it is reading. */
class Connection {
  readonly host: string;
  private readonly socket: net.Socket;
  private readonly scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
  private pending: Pending | undefined;
  private head: Buffer[] = [];
  private headBytes = 0;
  private status = 0;
  private closeAfter = false;
  /** content-length body, read into directly. */
  private body: Buffer | undefined;
  private filled = 0;
  /** chunked or read-until-close bodies, raw until decoded at the end. */
  private rest: Buffer[] | undefined;
  private mode: 'head' | 'length' | 'chunked' | 'close' = 'head';
  private closed = false;

  constructor(url: URL) {
    this.host = url.host;
    this.socket = net.connect({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port === '' ? 80 : url.port),
      noDelay: true,
      onread: { buffer: () => this.target(), callback: (read: number, into: Uint8Array) => this.onRead(read, into) },
    } as net.NetConnectOpts);
    this.socket.on('error', (error) => this.fail(error));
    this.socket.on('close', () => {
      this.closed = true;
      forget(this);
      if (this.mode === 'close' && this.pending !== undefined) this.finish();
      else this.fail(Object.assign(new Error('the node closed the connection'), { code: 'ECONNRESET' }));
    });
  }

  send(request: Buffer, signal: AbortSignal): Promise<HttpPostResult> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const onAbort = (): void => {
        this.fail(signal.reason);
        this.close();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.pending = {
        resolve: (result) => {
          signal.removeEventListener('abort', onAbort);
          resolve(result);
        },
        reject: (error) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      this.mode = 'head';
      this.head = [];
      this.headBytes = 0;
      this.socket.ref();
      this.socket.write(request);
    });
  }

  close(): void {
    this.closed = true;
    forget(this);
    this.socket.destroy();
  }

  /** Where the next read goes: straight into the body when its length is known. */
  private target(): Uint8Array {
    if (this.mode === 'length' && this.body !== undefined && this.filled < this.body.length) return this.body.subarray(this.filled);
    return this.scratch;
  }

  private onRead(read: number, into: Uint8Array): boolean {
    if (this.pending === undefined) {
      this.close(); // bytes nobody asked for: the connection cannot be trusted any more
      return false;
    }
    if (this.mode === 'length' && into !== this.scratch) {
      this.filled += read;
      if (this.filled === (this.body as Buffer).length) this.finish();
      return true;
    }
    this.consume(Buffer.from(into.buffer, into.byteOffset, read));
    return true;
  }

  private consume(chunk: Buffer): void {
    if (this.mode === 'head') {
      this.head.push(Buffer.from(chunk)); // scratch is reused: keep a copy
      this.headBytes += chunk.length;
      const all = this.head.length === 1 ? (this.head[0] as Buffer) : Buffer.concat(this.head);
      const end = all.indexOf('\r\n\r\n');
      if (end === -1) {
        if (this.headBytes > HEAD_BYTES_MAX) this.fail(new Error(`HTTP response head over ${HEAD_BYTES_MAX} bytes`));
        return;
      }
      if (!this.parseHead(all.toString('latin1', 0, end))) return;
      this.consume(all.subarray(end + 4));
    } else if (this.mode === 'length') {
      const body = this.body as Buffer;
      const take = Math.min(chunk.length, body.length - this.filled);
      chunk.copy(body, this.filled, 0, take);
      this.filled += take;
      if (this.filled === body.length) this.finish();
    } else {
      (this.rest as Buffer[]).push(Buffer.from(chunk));
      if (this.mode === 'chunked') this.finishChunkedIfComplete();
    }
  }

  /** Status, length and framing of the response; false when it failed the request. */
  private parseHead(text: string): boolean {
    const [statusLine = '', ...headerLines] = text.split('\r\n');
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
    if (match === null) {
      this.fail(new Error(`not an HTTP response: ${statusLine.slice(0, 40)}`));
      return false;
    }
    this.status = Number(match[1]);
    const fields = new Map<string, string>();
    for (const line of headerLines) {
      const colon = line.indexOf(':');
      if (colon > 0) fields.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    this.closeAfter = /close/i.test(fields.get('connection') ?? '') || statusLine.startsWith('HTTP/1.0');
    const length = fields.get('content-length');
    if (/chunked/i.test(fields.get('transfer-encoding') ?? '')) {
      this.mode = 'chunked';
      this.rest = [];
    } else if (length !== undefined && /^\d+$/.test(length)) {
      this.mode = 'length';
      this.body = bodyBuffer(Number(length));
      this.filled = 0;
      if (this.body.length === 0) this.finish();
    } else {
      this.mode = 'close';
      this.rest = [];
    }
    return true;
  }

  private finishChunkedIfComplete(): void {
    const raw = Buffer.concat(this.rest as Buffer[]);
    this.rest = [raw];
    const parts: Buffer[] = [];
    let at = 0;
    for (;;) {
      const lineEnd = raw.indexOf('\r\n', at);
      if (lineEnd === -1) return;
      const size = Number.parseInt(raw.toString('latin1', at, lineEnd).split(';')[0] as string, 16);
      if (!Number.isInteger(size) || size < 0) return this.fail(new Error('malformed chunked HTTP body'));
      if (size === 0) {
        if (raw.indexOf('\r\n\r\n', lineEnd) === -1 && !raw.subarray(lineEnd).equals(Buffer.from('\r\n\r\n'))) return;
        this.body = Buffer.concat(parts);
        return this.finish();
      }
      if (raw.length < lineEnd + 2 + size + 2) return;
      parts.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
  }

  private finish(): void {
    const pending = this.pending;
    if (pending === undefined) return;
    const bytes = this.mode === 'close' ? Buffer.concat(this.rest as Buffer[]) : (this.body as Buffer);
    this.pending = undefined;
    this.body = undefined;
    this.rest = undefined;
    this.mode = 'head';
    if (this.closeAfter || this.closed) {
      this.close();
    } else {
      // An idle keep-alive socket must not keep the process alive.
      this.socket.unref();
      release(this);
    }
    pending.resolve({ status: this.status, bytes });
  }

  private fail(error: unknown): void {
    const pending = this.pending;
    this.pending = undefined;
    this.close();
    pending?.reject(error);
  }
}

function httpsPost(url: URL, headers: Record<string, string>, body: string, signal: AbortSignal): Promise<HttpPostResult> {
  const payload = Buffer.from(body, 'utf8');
  return new Promise((resolve, reject) => {
    const request = https.request(url, { method: 'POST', agent: httpsAgent, headers: { ...headers, 'content-length': String(payload.length) }, signal }, (response: http.IncomingMessage) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', (error: Error) => reject(signal.aborted ? (signal.reason as Error) : error));
      response.on('end', () => {
        const bytes = Buffer.allocUnsafeSlow(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
        let at = 0;
        for (const chunk of chunks) at += chunk.copy(bytes, at);
        resolve({ status: response.statusCode ?? 0, bytes });
      });
    });
    request.on('error', (error: Error) => reject(signal.aborted ? (signal.reason as Error) : error));
    request.end(payload);
  });
}
