// One HTTP POST, its answer kept as the chunks it arrived in and copied once, into the buffers
// that go to the workers (a block range is cut into one buffer per block straight from the
// chunks: range.ts). fetch() (undici) pushes each 64 KB chunk through web streams and then
// concatenates them, which measured at several milliseconds of CPU per block, more than decoding
// it. Plain http:// (a self-hosted full node) goes through the socket client of http1.ts, which
// copies each byte once; https:// (TronGrid) through node:https with a keep-alive agent.

import http from 'node:http';
import https from 'node:https';

import { HttpAborted, HttpAnswerTooLarge, HttpTimeout, type Chunks, type HttpAnswer, type HttpClientOptions } from './http-answer.ts';
import { createHttp1Client } from './http1.ts';

export { copyChunks, joinChunks, HttpAborted, HttpAnswerTooLarge, HttpTimeout, type Chunks, type HttpAnswer, type HttpClientOptions } from './http-answer.ts';

export interface HttpClient {
  /** POSTs `body`; fails with HttpTimeout after `timeoutMs`, with HttpAborted on shutdown. */
  post(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<HttpAnswer>;
  close(): void;
}

export interface CreateHttpClientOptions extends HttpClientOptions {
  /** 'node' sends plain-HTTP requests through node:http too (tests compare both clients). */
  plainHttp?: 'sockets' | 'node';
}

/** https:// through node:https; http:// through the socket client of http1.ts unless told otherwise. */
export function createHttpClient(options: CreateHttpClientOptions): HttpClient {
  const node = createNodeHttpClient(options);
  const sockets = options.plainHttp === 'node' ? undefined : createHttp1Client(options);
  return {
    post(url, headers, body, timeoutMs) {
      const target = new URL(url);
      if (target.protocol === 'http:' && sockets !== undefined) return sockets.post(target, headers, body, timeoutMs);
      return node.post(url, headers, body, timeoutMs);
    },
    close() {
      node.close();
      sockets?.close();
    },
  };
}

function createNodeHttpClient(options: HttpClientOptions): HttpClient {
  const agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: options.socketsMax }),
    'https:': new https.Agent({ keepAlive: true, maxSockets: options.socketsMax }),
  };
  const inFlight = new Set<http.ClientRequest>();
  options.signal?.addEventListener('abort', () => {
    for (const req of inFlight) req.destroy(new HttpAborted('aborted'));
  }, { once: true });
  return {
    post(url, headers, body, timeoutMs) {
      const target = new URL(url);
      const secure = target.protocol === 'https:';
      const request = secure ? https.request : http.request;
      return new Promise<HttpAnswer>((resolve, reject) => {
        if (options.signal?.aborted === true) return reject(new HttpAborted('aborted'));
        const req = request(
          target,
          { method: 'POST', agent: secure ? agents['https:'] : agents['http:'], headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
          (res) => collect(res, options.answerBytesMax).then(
            (answer) => settle(() => resolve({ status: res.statusCode ?? 0, retryAfter: headerValue(res.headers['retry-after']), body: answer })),
            (error: unknown) => settle(() => reject(error)),
          ),
        );
        inFlight.add(req);
        // A plain timer rather than AbortSignal.timeout/any per request: at thousands of requests
        // a second those cost a signal, a timer and weak references each.
        const timer = setTimeout(() => req.destroy(new HttpTimeout(`no answer within ${timeoutMs} ms`)), timeoutMs);
        function settle(done: () => void): void {
          clearTimeout(timer);
          inFlight.delete(req);
          done();
        }
        req.on('error', (error) => settle(() => reject(error)));
        req.end(body);
      });
    },
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}

function collect(res: http.IncomingMessage, bytesMax: number): Promise<Chunks> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let length = 0;
    res.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > bytesMax) res.destroy(new HttpAnswerTooLarge(`the answer exceeds ${bytesMax} bytes`));
      else parts.push(chunk);
    });
    res.on('end', () => resolve({ parts, length }));
    res.on('error', reject);
    res.on('close', () => {
      if (!res.complete) reject(new Error('the connection closed before the answer ended'));
    });
  });
}

function headerValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? (value[0] ?? null) : value;
}
