// Raw calls to Bitcoin Core / Litecoin Core: one function per node method, named after it.
// JSON-RPC over HTTP (batched where several calls go together) and the REST interface for raw
// blocks (`/rest/block/<hash>.bin`: no JSON, no hex doubling). Errors are classified by whether
// asking again can help; messages name the method and the node URL without credentials.

import { readFileSync } from 'node:fs';
import { NonRetryableError, RetryableError } from '../../errors.ts';
import { retry } from '../../retry.ts';

export interface UtxoRpcOptions {
  url: string;
  user?: string | undefined;
  password?: string | undefined;
  cookieFile?: string | undefined;
  timeoutMs: number;
  attemptsMax: number;
  signal?: AbortSignal | undefined;
}

export interface UtxoRpc {
  readonly url: string;
  call<T>(method: string, params?: unknown[]): Promise<T>;
  batch<T>(calls: Array<{ method: string; params: unknown[] }>): Promise<T[]>;
  rest(path: string): Promise<Uint8Array | undefined>;
}

/** JSON-RPC error codes of Bitcoin Core that mean "no such thing", not "try again". */
export const RPC_INVALID_PARAMETER = -8;
export const RPC_INVALID_ADDRESS_OR_KEY = -5;
/** The node is warming up (loading the block index): worth waiting for. */
const RPC_IN_WARMUP = -28;

export class UtxoRpcError extends NonRetryableError {
  constructor(readonly rpcCode: number, method: string, message: string, url: string) {
    super('node_rpc_error', `${method} failed at ${url}: ${message} (code ${rpcCode})`, { method, rpcCode, url });
  }
}

export function createUtxoRpc(options: UtxoRpcOptions): UtxoRpc {
  const base = new URL(options.url);
  const publicUrl = `${base.protocol}//${base.host}${base.pathname}`;
  let nextId = 1;

  function authorization(): string | undefined {
    let user = options.user ?? (base.username !== '' ? decodeURIComponent(base.username) : undefined);
    let password = options.password ?? (base.password !== '' ? decodeURIComponent(base.password) : undefined);
    if ((user === undefined || password === undefined) && options.cookieFile !== undefined) {
      // The cookie changes every time the node restarts: read it per request.
      const cookie = readFileSync(options.cookieFile, 'utf8').trim();
      const colon = cookie.indexOf(':');
      user = cookie.slice(0, colon);
      password = cookie.slice(colon + 1);
    }
    if (user === undefined || password === undefined) return undefined;
    return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }

  async function post(body: unknown, label: string): Promise<unknown> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const auth = authorization();
    if (auth !== undefined) headers.authorization = auth;
    const response = await send(publicUrl, { method: 'POST', headers, body: JSON.stringify(body) }, label, options.timeoutMs);
    const text = await response.text();
    // Bitcoin Core answers JSON-RPC errors with HTTP 500 and a JSON body; other statuses carry no JSON.
    if (response.status === 401 || response.status === 403) {
      throw new NonRetryableError('node_unauthorized', `${label}: the node at ${publicUrl} refused our credentials (HTTP ${response.status})`);
    }
    if (response.status === 503 || response.status === 429) {
      throw new RetryableError('node_busy', `${label}: the node at ${publicUrl} is busy (HTTP ${response.status})`);
    }
    try {
      return JSON.parse(text);
    } catch {
      const kind = response.status >= 500 ? RetryableError : NonRetryableError;
      throw new kind('node_bad_response', `${label}: the node at ${publicUrl} answered HTTP ${response.status} without JSON`, { body: text.slice(0, 200) });
    }
  }

  function unwrap<T>(method: string, reply: unknown): T {
    const { result, error } = (reply ?? {}) as { result?: unknown; error?: { code?: unknown; message?: unknown } | null };
    if (error !== null && error !== undefined) {
      const code = typeof error.code === 'number' ? error.code : 0;
      const message = typeof error.message === 'string' ? error.message : 'unknown error';
      if (code === RPC_IN_WARMUP) throw new RetryableError('node_warming_up', `${method}: the node at ${publicUrl} is warming up: ${message}`);
      throw new UtxoRpcError(code, method, message, publicUrl);
    }
    if (result === undefined) throw new NonRetryableError('node_bad_response', `${method}: the reply from ${publicUrl} has neither result nor error`);
    return result as T;
  }

  const retrying = <T>(fn: () => Promise<T>): Promise<T> =>
    retry(fn, {
      attemptsMax: options.attemptsMax,
      baseDelayMs: 200,
      maxDelayMs: 5_000,
      isRetryable: (error) => error instanceof RetryableError,
      signal: options.signal,
    });

  return {
    url: publicUrl,
    call<T>(method: string, params: unknown[] = []): Promise<T> {
      return retrying(async () => unwrap<T>(method, await post({ jsonrpc: '1.0', id: nextId++, method, params }, method)));
    },
    batch<T>(calls: Array<{ method: string; params: unknown[] }>): Promise<T[]> {
      if (calls.length === 0) return Promise.resolve([]);
      return retrying(async () => {
        const firstId = nextId;
        nextId += calls.length;
        const label = `${calls[0]?.method} ×${calls.length}`;
        const replies = await post(calls.map((c, i) => ({ jsonrpc: '1.0', id: firstId + i, method: c.method, params: c.params })), label);
        if (!Array.isArray(replies) || replies.length !== calls.length) {
          throw new NonRetryableError('node_bad_response', `${label}: the batch reply from ${publicUrl} does not hold one reply per call`);
        }
        const byId = new Map(replies.map((r: { id?: unknown }) => [r.id, r]));
        return calls.map((c, i) => unwrap<T>(c.method, byId.get(firstId + i)));
      });
    },
    rest(path: string): Promise<Uint8Array | undefined> {
      return retrying(async () => {
        const response = await send(`${base.protocol}//${base.host}/rest/${path}`, { method: 'GET' }, `rest ${path}`, options.timeoutMs);
        if (response.status === 404) return undefined;
        if (response.status !== 200) {
          const kind = response.status >= 500 || response.status === 429 ? RetryableError : NonRetryableError;
          throw new kind('node_rest_error', `rest ${path} at ${publicUrl}: HTTP ${response.status}`);
        }
        return new Uint8Array(await response.arrayBuffer());
      });
    },
  };
}

async function send(url: string, init: RequestInit, label: string, timeoutMs: number): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const reason = (error as Error).name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : ((error as { cause?: Error }).cause?.message ?? (error as Error).message);
    throw new RetryableError('node_unreachable', `${label}: ${url.replace(/\/\/[^@/]*@/, '//')} ${reason}`, {}, { cause: error });
  }
}

// ---- one function per node method ----

export function getBlockCount(rpc: UtxoRpc): Promise<number> {
  return rpc.call<number>('getblockcount');
}

export function getBestBlockHash(rpc: UtxoRpc): Promise<string> {
  return rpc.call<string>('getbestblockhash');
}

/** undefined when the height is above the node's tip. */
export async function getBlockHash(rpc: UtxoRpc, height: number): Promise<string | undefined> {
  try {
    return await rpc.call<string>('getblockhash', [height]);
  } catch (error) {
    if (error instanceof UtxoRpcError && error.rpcCode === RPC_INVALID_PARAMETER) return undefined;
    throw error;
  }
}

/** Hashes of consecutive heights in one batch; every height must exist. */
export function getBlockHashes(rpc: UtxoRpc, from: number, to: number): Promise<string[]> {
  const calls = [];
  for (let height = from; height <= to; height++) calls.push({ method: 'getblockhash', params: [height] });
  return rpc.batch<string>(calls);
}

export interface BlockHeaderVerbose {
  hash: string;
  height: number;
  previousblockhash?: string;
  confirmations: number;
}

export function getBlockHeader(rpc: UtxoRpc, hash: string): Promise<BlockHeaderVerbose> {
  return rpc.call<BlockHeaderVerbose>('getblockheader', [hash, true]);
}

/** The raw block over RPC (`getblock <hash> 0`), hex-decoded. */
export async function getBlockRaw(rpc: UtxoRpc, hash: string): Promise<Uint8Array> {
  const hex = await rpc.call<string>('getblock', [hash, 0]);
  return Buffer.from(hex, 'hex');
}

/** The raw block over REST; undefined when REST is off or the block is unknown. */
export function restBlock(rpc: UtxoRpc, hash: string): Promise<Uint8Array | undefined> {
  return rpc.rest(`block/${hash}.bin`);
}

export interface BlockchainInfo {
  chain: string;
  blocks: number;
  bestblockhash: string;
  initialblockdownload?: boolean;
}

export function getBlockchainInfo(rpc: UtxoRpc): Promise<BlockchainInfo> {
  return rpc.call<BlockchainInfo>('getblockchaininfo');
}
