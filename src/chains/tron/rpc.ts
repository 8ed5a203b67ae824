// The TRON full-node HTTP API (java-tron /wallet and /walletsolidity; TronGrid speaks the same):
// one exported function per endpoint, each a POST with a JSON body, answering the response's
// raw bytes (an ArrayBuffer of their own, so blocks can be moved to a decode worker untouched).
// Parsing is the caller's: standardize.ts for what the main thread reads, decode.ts in workers.
//
// Exact amounts: java-tron prints int64 fields (sun amounts, call values) as bare JSON numbers,
// and `int64_as_string=true` works only for GET. JSON.parse would round values above 2^53, so
// nothing here parses block or info bodies with it; they are read from the bytes by json-scan.ts
// (integers are taken as digit ranges and become BigInt) or parseJsonExact (bigint past 2^53).
//
// Failures are classified here, once: TRON reports most errors with HTTP 200 — `{"Error": …}`
// bodies (rate limits say "lack of computing resources"), and lite fullnodes answer history
// endpoints with the bare text "this API is closed because this node is a lite fullnode". HTTP
// 429/5xx, timeouts and refused connections are retryable; a 429's Retry-After is honoured
// (capped). Messages name the endpoint and the URL, never the API key.

import { NonRetryableError, RetryableError } from '../../errors.ts';
import { retry } from '../../retry.ts';
import { sleep as sleepFor } from '../../sleep.ts';
import { copyChunks, createHttpClient, joinChunks, HttpAborted, HttpAnswerTooLarge, HttpTimeout, type Chunks, type HttpAnswer } from './http.ts';

export interface TronRpcOptions {
  url: string;
  /** TronGrid API key, sent as TRON-PRO-API-KEY. */
  apiKey?: string | undefined;
  timeoutMs: number;
  /** Attempts per request, the first included. */
  attemptsMax: number;
  signal?: AbortSignal | undefined;
  sleep?: ((ms: number, signal?: AbortSignal) => Promise<void>) | undefined;
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  /** Longest Retry-After honoured; a server asking for more gets this. */
  retryAfterMaxMs?: number;
  onRetry?: ((error: unknown, attempt: number, delayMs: number) => void) | undefined;
  /** Plain http:// through node:http instead of the socket client (tests and benchmarks compare). */
  plainHttp?: 'sockets' | 'node';
}

export interface TronRpc {
  /** The node URL without credentials, for messages. */
  readonly url: string;
  /** POSTs `body` to `path`; the response bytes once they are neither an HTTP nor a TRON error:
   * the first bytes of an ArrayBuffer of their own (a recycled one when large, maybe larger). */
  post(path: string, body: Record<string, unknown>): Promise<Uint8Array>;
  /** Closes the kept-alive connections. */
  close(): void;
}

const RETRY_BASE_DELAY_MS = 200;
const RETRY_MAX_DELAY_MS = 10_000;
const RETRY_AFTER_MAX_MS = 60_000;
/** Bodies up to this size are parsed to look for `{"Error": …}`; a block or info list is larger
 * than any error body, and is checked by its first key instead. */
const ERROR_BODY_BYTES_MAX = 64 * 1024;
/** Connections kept open to the node; requests beyond wait for one. */
const SOCKETS_MAX = 16;
/** Largest answer read: 100 blocks of ~2,000 transactions are about 200 MB of JSON. */
const ANSWER_BYTES_MAX = 256 * 1024 * 1024;
/** Blocks per /wallet/getblockbylimitnext request (java-tron's BLOCK_LIMIT_NUM). */
export const BLOCK_RANGE_MAX = 100;

/** java-tron's rate-limit and overload messages, and TronGrid's. */
const RETRYABLE_MESSAGES = [/lack of computing resources/i, /frequency limit/i, /suspended/i, /rate.?limit/i, /too many requests/i, /timeout/i, /server (is )?busy/i];

export function createTronRpc(options: TronRpcOptions): TronRpc {
  const url = redactUrl(options.url);
  const base = options.url.replace(/\/+$/, '');
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (options.apiKey !== undefined && options.apiKey !== '') headers['TRON-PRO-API-KEY'] = options.apiKey;
  const retryAfterMaxMs = options.retryAfterMaxMs ?? RETRY_AFTER_MAX_MS;
  // Bodies are quoted in messages; a server echoing the key must not put it in our logs.
  const apiKey = options.apiKey;
  const redact = (text: string): string => (apiKey === undefined || apiKey === '' ? text : text.split(apiKey).join('***'));

  const client = createHttpClient({ socketsMax: SOCKETS_MAX, answerBytesMax: ANSWER_BYTES_MAX, plainHttp: options.plainHttp ?? 'sockets', signal: options.signal });

  async function postOnce(path: string, body: string): Promise<Chunks> {
    let answer: HttpAnswer;
    try {
      answer = await client.post(base + path, headers, body, options.timeoutMs);
    } catch (error) {
      throw transportFailure(path, url, error, options.timeoutMs, redact);
    }
    if (answer.status !== 200) throw httpFailure(path, url, answer, retryAfterMaxMs, redact);
    checkTronError(path, url, answer.body, redact);
    return answer.body;
  }

  const sleep = options.sleep ?? sleepFor;
  function postWithRetries(path: string, body: Record<string, unknown>): Promise<Chunks> {
      const text = JSON.stringify(body);
      // The wait before the next attempt is the backoff, or longer when the server said so.
      let retryAfterMs = 0;
      return retry(() => postOnce(path, text), {
        attemptsMax: options.attemptsMax,
        baseDelayMs: options.retryBaseDelayMs ?? RETRY_BASE_DELAY_MS,
        maxDelayMs: options.retryMaxDelayMs ?? RETRY_MAX_DELAY_MS,
        isRetryable: (error) => error instanceof RetryableError,
        signal: options.signal,
        onRetry: (error, attempt, delayMs) => {
          const asked = (error as RetryableError).details?.retryAfterMs;
          retryAfterMs = typeof asked === 'number' ? asked : 0;
          options.onRetry?.(error, attempt, Math.max(delayMs, retryAfterMs));
        },
        sleep: (delayMs, signal) => sleep(Math.max(delayMs, retryAfterMs), signal),
      });
  }

  return {
    url,
    close: () => client.close(),
    post: async (path, body) => joinChunks(await postWithRetries(path, body)),
  };
}

// ---- endpoints ----

/** /wallet/getnowblock: the head block, transactions included. */
export function getNowBlock(rpc: TronRpc): Promise<Uint8Array> {
  return rpc.post('/wallet/getnowblock', {});
}

/** /walletsolidity/getnowblock: the latest solidified (irreversible) block. */
export function getSolidifiedNowBlock(rpc: TronRpc): Promise<Uint8Array> {
  return rpc.post('/walletsolidity/getnowblock', {});
}

/** /wallet/getblockbynum: one block, or `{}` when the node has none at `num`. */
export function getBlockByNum(rpc: TronRpc, num: number): Promise<Uint8Array> {
  return rpc.post('/wallet/getblockbynum', { num });
}

/** /wallet/getblockbylimitnext: `{"block":[…]}` for heights [startNum, endNum), at most 100;
 * blocks the node does not have are left out (decode.ts decodeRange reads it in a worker). */
export function getBlockByLimitNext(rpc: TronRpc, startNum: number, endNum: number): Promise<Uint8Array> {
  if (!(endNum > startNum && endNum - startNum <= BLOCK_RANGE_MAX)) {
    throw new NonRetryableError('tron_range_invalid', `getblockbylimitnext [${startNum}, ${endNum}): a range holds 1 to ${BLOCK_RANGE_MAX} blocks`);
  }
  return rpc.post('/wallet/getblockbylimitnext', { startNum, endNum });
}

/** /wallet/gettransactioninfobyblocknum: the TransactionInfo (receipt, logs, result) of every
 * transaction of block `num`, in block order. */
export function getTransactionInfoByBlockNum(rpc: TronRpc, num: number): Promise<Uint8Array> {
  return rpc.post('/wallet/gettransactioninfobyblocknum', { num });
}

/** /wallet/getcontract: a deployed contract's metadata, or `{}`. `address` is 41-prefixed hex. */
export function getContract(rpc: TronRpc, address: string): Promise<Uint8Array> {
  return rpc.post('/wallet/getcontract', { value: address });
}

export interface TriggerConstantContractParameters {
  /** 41-prefixed hex */
  ownerAddress: string;
  /** 41-prefixed hex */
  contractAddress: string;
  functionSelector: string;
  /** ABI-encoded arguments, hex without 0x. */
  parameter?: string;
}

/** /wallet/triggerconstantcontract: runs a view function locally on the node. */
export function triggerConstantContract(rpc: TronRpc, p: TriggerConstantContractParameters): Promise<Uint8Array> {
  return rpc.post('/wallet/triggerconstantcontract', {
    owner_address: p.ownerAddress,
    contract_address: p.contractAddress,
    function_selector: p.functionSelector,
    parameter: p.parameter ?? '',
  });
}

// ---- classification ----

function checkTronError(path: string, url: string, body: Chunks, redact: (text: string) => string): void {
  const opener = firstByte(body);
  if (opener === -1) throw new RetryableError('tron_rpc_empty', `${path} ${url}: empty response`, { path, url });
  if (opener !== 0x7b && opener !== 0x5b) {
    const text = redact(Buffer.from(copyChunks(body, 0, Math.min(body.length, 200))).toString('utf8').trim());
    if (/this API is closed/i.test(text)) {
      throw new NonRetryableError('tron_rpc_lite_node', `${path} ${url}: ${text} — Settle needs a full node that keeps block and transaction history`, { path, url });
    }
    throw new NonRetryableError('tron_rpc_malformed', `${path} ${url}: the response is not JSON: ${JSON.stringify(text.slice(0, 120))}`, { path, url });
  }
  if (opener !== 0x7b || body.length > ERROR_BODY_BYTES_MAX) return;
  const bytes = copyChunks(body);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch {
    throw new NonRetryableError('tron_rpc_malformed', `${path} ${url}: the response is not valid JSON`, { path, url });
  }
  const error = (parsed as { Error?: unknown }).Error;
  if (error === undefined) return;
  const message = redact(String(error).slice(0, 300));
  const details = { path, url, nodeError: message };
  if (RETRYABLE_MESSAGES.some((re) => re.test(message))) throw new RetryableError('tron_rpc_busy', `${path} ${url}: ${message}`, details);
  throw new NonRetryableError('tron_rpc_error', `${path} ${url}: ${message}`, details);
}

function httpFailure(path: string, url: string, answer: HttpAnswer, retryAfterMaxMs: number, redact: (text: string) => string): RetryableError | NonRetryableError {
  const status = answer.status;
  const text = redact(Buffer.from(copyChunks(answer.body, 0, Math.min(answer.body.length, 200))).toString('utf8').replace(/\s+/g, ' ').trim());
  const details: Record<string, unknown> = { path, url, httpStatus: status };
  const message = `${path} ${url}: HTTP ${status}${text === '' ? '' : ` ${text}`}`;
  const rateLimited = status === 429 || (status === 403 && RETRYABLE_MESSAGES.some((re) => re.test(text)));
  if (rateLimited) {
    const retryAfterMs = parseRetryAfterMs(answer.retryAfter, Date.now());
    if (retryAfterMs !== undefined) details.retryAfterMs = Math.min(retryAfterMs, retryAfterMaxMs);
    return new RetryableError('tron_rpc_rate_limited', message, details);
  }
  if (status === 408 || status >= 500) return new RetryableError('tron_rpc_http', message, details);
  return new NonRetryableError('tron_rpc_http', message, details);
}

/** The first byte that is not whitespace; -1 when there is none. */
function firstByte(body: Chunks): number {
  for (const part of body.parts) {
    for (let i = 0; i < part.length; i += 1) {
      const byte = part[i] as number;
      if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) return byte;
    }
  }
  return -1;
}

/** Retry-After: delta-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when unreadable. */
export function parseRetryAfterMs(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function transportFailure(path: string, url: string, error: unknown, timeoutMs: number, redact: (text: string) => string): RetryableError | NonRetryableError {
  if (error instanceof HttpTimeout) return new RetryableError('tron_rpc_timeout', `${path} ${url}: no answer within ${timeoutMs} ms`, { path, url });
  if (error instanceof HttpAnswerTooLarge) return new NonRetryableError('tron_rpc_too_large', `${path} ${url}: ${error.message}`, { path, url });
  if (error instanceof HttpAborted) return new RetryableError('tron_rpc_aborted', `${path} ${url}: aborted`, { path, url });
  const code = (error as { code?: string } | null)?.code;
  const reason = redact(code ?? (error as Error).message);
  return new RetryableError('tron_rpc_unreachable', `${path} ${url}: ${reason}`, { path, url });
}

/** The URL without user, password and query. */
export function redactUrl(raw: string): string {
  try {
    const parsed = new URL(raw);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

