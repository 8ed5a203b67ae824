// JSON-RPC over HTTP for EVM nodes: single calls, batches (with a fallback to single calls when
// a provider rejects batches), a timeout per request, bounded retries (src/retry.ts) and errors
// split by retryability. HTTP itself is http-post.ts (keep-alive, the body read into one buffer).
// Results of bulk calls come back as raw JSON bytes, sliced out of the response without parsing
// it (json-scan.ts), because blocks are decoded in worker threads.
// Error messages name the method and the URL with credentials and API keys removed.

import { NonRetryableError, RetryableError } from '../../errors.ts';
import { retry } from '../../retry.ts';
import { rawBuffers } from '../../scan/buffers.ts';
import { httpPost, recycle, type HttpPostResult } from './http-post.ts';
import { splitBatchResults, splitSingleResult } from './json-scan.ts';

export interface RpcTransportOptions {
  url: string;
  timeoutMs: number;
  /** Attempts per HTTP request, the first included. */
  attemptsMax: number;
  /** Calls per batch request; 1 sends single calls only. */
  batchMax: number;
  signal?: AbortSignal | undefined;
  sleep?: ((ms: number, signal?: AbortSignal) => Promise<void>) | undefined;
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  /** Told once when the provider rejects batches and single calls are used from then on. */
  onBatchRejected?: ((reason: string) => void) | undefined;
}

export interface RpcTransport {
  /** The URL without credentials, for messages and logs. */
  readonly url: string;
  /** One call; its result as parsed JSON. */
  request(method: string, params: readonly unknown[]): Promise<unknown>;
  /** Calls of one method (batched); each result's JSON bytes, in call order, each in a buffer of
   * its own (transferable to a worker). A null result is the 4 bytes `null`. */
  requestRaw(method: string, paramsList: readonly (readonly unknown[])[]): Promise<Uint8Array[]>;
}

/** A JSON-RPC error object the node returned, already classified. */
export interface RpcErrorDetails {
  method: string;
  url: string;
  rpcCode?: number | undefined;
  httpStatus?: number | undefined;
}

/** eth_getLogs asked for too many blocks or results; `suggested` is the provider's hint, if any. */
export class LogsRangeError extends NonRetryableError {
  readonly suggested: { fromBlock: number; toBlock: number } | undefined;

  constructor(message: string, details: RpcErrorDetails, suggested: { fromBlock: number; toBlock: number } | undefined) {
    super('evm_logs_range', message, { ...details });
    this.suggested = suggested;
  }
}

const SINGLE_CONCURRENCY_MAX = 8;
const RETRY_BASE_DELAY_MS = 200;
const RETRY_MAX_DELAY_MS = 10_000;

export function createRpcTransport(options: RpcTransportOptions): RpcTransport {
  const url = redactUrl(options.url);
  const endpoint = splitCredentials(options.url);
  let nextId = 1;
  let batchesRejected = options.batchMax <= 1;

  async function post(label: string, body: string): Promise<{ status: number; bytes: Buffer }> {
    const signals = [AbortSignal.timeout(options.timeoutMs)];
    if (options.signal !== undefined) signals.push(options.signal);
    let response: HttpPostResult;
    try {
      response = await httpPost(endpoint.url, endpoint.headers, body, AbortSignal.any(signals));
    } catch (error) {
      throw transportFailure(label, url, error, options.timeoutMs, options.url);
    }
    if (response.status === 429 || response.status === 408 || response.status >= 500) {
      throw new RetryableError('evm_rpc_http', `${label} ${url}: HTTP ${response.status}`, { method: label, url, httpStatus: response.status });
    }
    return response;
  }

  function withRetry<T>(fn: () => Promise<T>): Promise<T> {
    return retry(fn, {
      attemptsMax: options.attemptsMax,
      baseDelayMs: options.retryBaseDelayMs ?? RETRY_BASE_DELAY_MS,
      maxDelayMs: options.retryMaxDelayMs ?? RETRY_MAX_DELAY_MS,
      isRetryable: (error) => error instanceof RetryableError,
      signal: options.signal,
      sleep: options.sleep,
    });
  }

  async function requestOnce(method: string, params: readonly unknown[]): Promise<unknown> {
    const id = nextId++;
    const { status, bytes } = await post(method, JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    const envelope = parseBody(bytes, method, url, status);
    recycle(bytes);
    return resultOf(envelope, id, method, url, status);
  }

  /** One call whose result comes back as bytes: sliced out of the response when it is an object,
   * an array or null (no parse), else parsed and written again. */
  async function rawOnce(method: string, params: readonly unknown[]): Promise<Uint8Array> {
    const id = nextId++;
    const { status, bytes } = await post(method, JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    const slice = status === 200 ? splitSingleResult(bytes, id) : undefined;
    if (slice !== undefined) {
      const out = copyOut(bytes, slice.start, slice.end);
      recycle(bytes);
      return out;
    }
    return encodeJson(resultOf(parseBody(bytes, method, url, status), id, method, url, status));
  }

  async function batchOnce(method: string, paramsList: readonly (readonly unknown[])[]): Promise<Uint8Array[] | 'rejected'> {
    const firstId = nextId;
    nextId += paramsList.length;
    const body = JSON.stringify(paramsList.map((params, i) => ({ jsonrpc: '2.0', id: firstId + i, method, params })));
    const label = `${method} ×${paramsList.length}`;
    const { status, bytes } = await post(label, body);
    const slices = status === 200 ? splitBatchResults(bytes, paramsList.length) : undefined;
    if (slices !== undefined) {
      const out: Uint8Array[] = new Array(paramsList.length);
      for (const slice of slices) {
        const at = slice.id - firstId;
        if (at < 0 || at >= paramsList.length || out[at] !== undefined) throw malformed(label, url, `unexpected id ${slice.id}`);
        out[at] = copyOut(bytes, slice.start, slice.end);
      }
      recycle(bytes);
      return out;
    }
    const parsed = status === 200 ? parseBody(bytes, label, url, status) : parseOrUndefined(bytes);
    if (Array.isArray(parsed)) return resultsInOrder(parsed, firstId, paramsList.length, method, label, url, status);
    // A provider without batches answers with one error object or a 4xx instead of an array; a
    // rate limit or a busy node answers the same way, and that is retried, not taken as a refusal.
    if (status === 200 && !isRpcErrorEnvelope(parsed)) throw malformed(label, url, 'a batch was answered with a non-array');
    if (isRpcErrorEnvelope(parsed)) {
      const error = rpcError(label, url, (parsed as { error: unknown }).error, status);
      if (error instanceof RetryableError) throw error;
    }
    return 'rejected';
  }

  async function requestSingles(method: string, paramsList: readonly (readonly unknown[])[]): Promise<Uint8Array[]> {
    const out: Uint8Array[] = new Array(paramsList.length);
    let next = 0;
    async function lane(): Promise<void> {
      while (next < paramsList.length) {
        const at = next++;
        out[at] = await withRetry(() => rawOnce(method, paramsList[at] as readonly unknown[]));
      }
    }
    await Promise.all(Array.from({ length: Math.min(SINGLE_CONCURRENCY_MAX, paramsList.length) }, lane));
    return out;
  }

  return {
    url,
    request: (method, params) => withRetry(() => requestOnce(method, params)),
    async requestRaw(method, paramsList) {
      if (batchesRejected || paramsList.length === 1) return requestSingles(method, paramsList);
      const chunks: Promise<Uint8Array[] | 'rejected'>[] = [];
      for (let start = 0; start < paramsList.length; start += options.batchMax) {
        const chunk = paramsList.slice(start, start + options.batchMax);
        chunks.push(withRetry(() => batchOnce(method, chunk)));
      }
      const results = await Promise.all(chunks);
      if (results.some((result) => result === 'rejected')) {
        batchesRejected = true;
        options.onBatchRejected?.(`${url} rejected a JSON-RPC batch; sending single requests from now on`);
        return requestSingles(method, paramsList);
      }
      return (results as Uint8Array[][]).flat();
    },
  };
}

const encoder = new TextEncoder();

/** JSON bytes in a buffer of their own (Buffer.from would share Node's pool slab, which must
 * never be moved to a worker). */
export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value ?? null));
}

/** Results from this size on are copied into buffers of the raw-block recycler (scan/buffers.ts). */
const RECYCLED_BYTES_MIN = 64 * 1024;

/** A copy of bytes[start, end) at the start of an ArrayBuffer of its own, so it can be moved to
 * a worker: a recycled one when large (it may be larger than the copy; callers pass the length
 * on as RawBlock.lengths), else an unpooled one of exactly this size. Fresh pages per block cost
 * more than the copy itself. */
function copyOut(bytes: Buffer, start: number, end: number): Uint8Array {
  const length = end - start;
  const out = length >= RECYCLED_BYTES_MIN ? Buffer.from(rawBuffers.take(length), 0, length) : Buffer.allocUnsafeSlow(length);
  bytes.copy(out, 0, start, end);
  return out;
}

function parseBody(bytes: Buffer, method: string, url: string, status: number): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    const text = bytes.toString('utf8', 0, Math.min(bytes.length, 120)).replace(/\s+/g, ' ');
    if (status !== 200) throw new NonRetryableError('evm_rpc_http', `${method} ${url}: HTTP ${status} ${text}`, { method, url, httpStatus: status });
    throw malformed(method, url, `the response is not JSON (${text})`);
  }
}

function parseOrUndefined(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}

function resultsInOrder(parsed: unknown[], firstId: number, count: number, method: string, label: string, url: string, status: number): Uint8Array[] {
  if (parsed.length !== count) throw malformed(label, url, `${parsed.length} responses to ${count} calls`);
  const out: Uint8Array[] = new Array(count);
  for (const envelope of parsed) {
    const id = (envelope as { id?: unknown } | null)?.id;
    const at = typeof id === 'number' ? id - firstId : -1;
    if (at < 0 || at >= count || out[at] !== undefined) throw malformed(label, url, `unexpected id ${String(id)}`);
    out[at] = encodeJson(resultOf(envelope, id as number, method, url, status));
  }
  return out;
}

function isRpcErrorEnvelope(value: unknown): boolean {
  return value !== null && typeof value === 'object' && 'error' in value;
}

function resultOf(envelope: unknown, id: number, method: string, url: string, status: number): unknown {
  if (envelope === null || typeof envelope !== 'object' || Array.isArray(envelope)) throw malformed(method, url, 'the response is not a JSON-RPC object');
  const { error, result } = envelope as { error?: unknown; result?: unknown; id?: unknown };
  if (error !== undefined && error !== null) throw rpcError(method, url, error, status);
  if ((envelope as { id?: unknown }).id !== id) throw malformed(method, url, `response id ${String((envelope as { id?: unknown }).id)} is not ${id}`);
  if (!('result' in envelope)) throw malformed(method, url, 'the response has neither result nor error');
  return result;
}

function malformed(method: string, url: string, reason: string): NonRetryableError {
  return new NonRetryableError('evm_rpc_malformed', `${method} ${url}: malformed response: ${reason}`, { method, url });
}

/** Credentials in the URL (user:password@) become a Basic Authorization header, as browsers send them. */
function splitCredentials(raw: string): { url: URL; headers: Record<string, string> } {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  const parsed = new URL(raw);
  if (parsed.username === '' && parsed.password === '') return { url: parsed, headers };
  const user = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  headers['authorization'] = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  parsed.username = '';
  parsed.password = '';
  return { url: parsed, headers };
}

function transportFailure(method: string, url: string, error: unknown, timeoutMs: number, rawUrl: string): RetryableError {
  const name = (error as { name?: string } | null)?.name;
  if (name === 'TimeoutError') return new RetryableError('evm_rpc_timeout', `${method} ${url}: no answer within ${timeoutMs} ms`, { method, url });
  if (name === 'AbortError') return new RetryableError('evm_rpc_aborted', `${method} ${url}: aborted`, { method, url });
  const code = (error as { code?: unknown } | null)?.code;
  // Messages of the HTTP stack may quote the URL: never let its credentials through.
  const reason = (typeof code === 'string' ? code : String((error as Error).message)).split(rawUrl).join(url);
  return new RetryableError('evm_rpc_unreachable', `${method} ${url}: ${reason}`, { method, url });
}

/** Messages of providers that refuse an eth_getLogs range or result size. */
const LOGS_RANGE_MESSAGES = [
  /query returned more than \d+ results/i, // Infura (-32005), with "Try with this block range [0x…, 0x…]"
  /log response size exceeded/i, // Alchemy: "…or any block range with a cap of 10K logs…"
  /\b10K logs\b/i,
  /(block )?range (is )?too (large|wide|big)/i,
  /exceed(s|ed)? (the )?(max(imum)? )?(block )?range/i,
  /block range (limit|greater than|exceeds|should)/i,
  /too many (results|logs|blocks)/i,
  /response size (exceeded|too large|is larger)/i,
  /limited to a? ?[\d,]+ (block )?range/i,
];

/** Classifies a JSON-RPC error object: what a retry can fix (node busy, rate limit, state not
 * there yet) is RetryableError; a request the node will always refuse is NonRetryableError. */
export function rpcError(method: string, url: string, error: unknown, httpStatus?: number): NonRetryableError | RetryableError {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const rpcCode = typeof code === 'number' ? code : undefined;
  const text = typeof message === 'string' ? message.slice(0, 300) : JSON.stringify(error).slice(0, 300);
  const details: RpcErrorDetails = { method, url, rpcCode, httpStatus };
  const described = `${method} ${url}: error ${rpcCode ?? '?'} ${text}`;
  if (method === 'eth_getLogs' && LOGS_RANGE_MESSAGES.some((re) => re.test(text))) {
    return new LogsRangeError(described, details, suggestedRange(text));
  }
  if (/revert/i.test(text)) return new NonRetryableError('evm_rpc_reverted', described, { ...details });
  if (rpcCode === undefined) return new NonRetryableError('evm_rpc_error', described, { ...details });
  // -32000…-32099 are server errors (rate limits, "header not found", a node behind): retry.
  // -32603 is an internal error. The rest of -32768…-32000 describe a request that is wrong.
  if ((rpcCode <= -32000 && rpcCode >= -32099) || rpcCode === -32603 || rpcCode === 429) {
    return new RetryableError('evm_rpc_error', described, { ...details });
  }
  return new NonRetryableError('evm_rpc_error', described, { ...details });
}

function suggestedRange(message: string): { fromBlock: number; toBlock: number } | undefined {
  const match = /\[\s*(0x[0-9a-f]+)\s*,\s*(0x[0-9a-f]+)\s*\]/i.exec(message);
  if (match === null) return undefined;
  return { fromBlock: Number.parseInt(match[1] as string, 16), toBlock: Number.parseInt(match[2] as string, 16) };
}

/** The URL without user, password, query or anything that looks like an API key in the path. */
export function redactUrl(raw: string): string {
  try {
    const parsed = new URL(raw);
    const path = parsed.pathname
      .split('/')
      .map((segment) => (segment.length >= 16 && /[0-9]/.test(segment) && /^[A-Za-z0-9_-]+$/.test(segment) ? '***' : segment))
      .join('/');
    return `${parsed.protocol}//${parsed.host}${path === '/' ? '' : path}`;
  } catch {
    return '(invalid url)';
  }
}
