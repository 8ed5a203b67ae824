// The EVM JSON-RPC methods Settle uses, one function each, named after the method. Transport
// (HTTP, batches, timeouts, retries, error classes) is transport.ts; response shapes are
// standardize.ts. Bulk block reads return the raw JSON bytes of each block, for the workers.

import { NonRetryableError } from '../../errors.ts';
import { ADDRESS_RE, HASH_RE, LOOSE_QUANTITY_RE, toHexQuantity } from './hex.ts';
import { indexLogs, malformedResponse, parseJsonBytes, ReceiptSchema, standardize, type EvmReceipt, type LogRecord } from './standardize.ts';
import { LogsRangeError, type RpcTransport } from './transport.ts';

export type BlockTag = number | 'latest' | 'finalized' | 'safe' | 'earliest' | 'pending';

function tagParam(tag: BlockTag): string {
  return typeof tag === 'number' ? toHexQuantity(tag) : tag;
}

function quantityResult(value: unknown, method: string): bigint {
  if (typeof value !== 'string' || !LOOSE_QUANTITY_RE.test(value)) throw malformedResponse(`${method}: ${JSON.stringify(value)} is not a hex quantity`);
  return BigInt(value);
}

export async function ethChainId(rpc: RpcTransport): Promise<bigint> {
  return quantityResult(await rpc.request('eth_chainId', []), 'eth_chainId');
}

export async function ethBlockNumber(rpc: RpcTransport): Promise<number> {
  return Number(quantityResult(await rpc.request('eth_blockNumber', []), 'eth_blockNumber'));
}

/** The blocks at `tags` (one batch per batchMax), as the raw JSON bytes of each result: an object,
 * or `null` when the node has no such block (above its head, or a tag it does not know). */
export async function ethGetBlockByNumber(rpc: RpcTransport, tags: readonly BlockTag[], fullTransactions: boolean): Promise<Uint8Array[]> {
  return rpc.requestRaw('eth_getBlockByNumber', tags.map((tag) => [tagParam(tag), fullTransactions]));
}

export async function ethGetBlockByHash(rpc: RpcTransport, hashes: readonly string[], fullTransactions: boolean): Promise<Uint8Array[]> {
  for (const hash of hashes) if (!HASH_RE.test(hash)) throw new TypeError(`not a 0x 32-byte block hash: ${hash}`);
  return rpc.requestRaw('eth_getBlockByHash', hashes.map((hash) => [hash, fullTransactions]));
}

/** Receipts of `hashes` (batched); null where the node has none (not mined, or pruned). */
export async function ethGetTransactionReceipt(rpc: RpcTransport, hashes: readonly string[]): Promise<(EvmReceipt | null)[]> {
  const raw = await rpc.requestRaw('eth_getTransactionReceipt', hashes.map((hash) => [hash]));
  return raw.map((bytes, i) => {
    const value = parseJsonBytes(bytes, `eth_getTransactionReceipt ${hashes[i]}`);
    return value === null ? null : standardize(ReceiptSchema, value, `eth_getTransactionReceipt ${hashes[i]}`);
  });
}

export interface EthCallParameters {
  to: string;
  data: string;
}

/** The return data of a read-only call, 0x hex. */
export async function ethCall(rpc: RpcTransport, call: EthCallParameters, block: BlockTag = 'latest'): Promise<string> {
  if (!ADDRESS_RE.test(call.to)) throw new TypeError(`not a 0x 20-byte address: ${call.to}`);
  const result = await rpc.request('eth_call', [{ to: call.to, data: call.data }, tagParam(block)]);
  if (typeof result !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(result)) throw malformedResponse(`eth_call: ${JSON.stringify(result)} is not hex data`);
  return result;
}

export interface LogsFilter {
  fromBlock: number;
  toBlock: number;
  address?: readonly string[] | undefined;
  topics?: readonly (string | readonly string[] | null)[] | undefined;
}

export interface GetLogsOptions {
  /** Blocks per request; ranges are split further when the provider refuses one. */
  blockRangeMax: number;
  /** Bound on requests for one call, splits included; default 2 × blocks + 32. */
  requestsMax?: number | undefined;
}

/** eth_getLogs over [fromBlock, toBlock], in requests of at most blockRangeMax blocks. A provider
 * that refuses a range (Infura −32005 with a suggested range, Alchemy's 10K-log cap, "range too
 * large") gets a smaller one: its suggestion when it gives one, else half; then the next
 * requests keep the size that worked. A single block it still refuses is a NonRetryableError.
 * The logs come back checked (standardize.indexLogs), in the node's order, with their bytes. */
export async function ethGetLogs(rpc: RpcTransport, filter: LogsFilter, options: GetLogsOptions): Promise<LogRecord[]> {
  if (!(filter.fromBlock <= filter.toBlock)) throw new TypeError(`eth_getLogs: empty range ${filter.fromBlock}..${filter.toBlock}`);
  const blocks = filter.toBlock - filter.fromBlock + 1;
  const requestsMax = options.requestsMax ?? 2 * blocks + 32;
  const out: LogRecord[] = [];
  let span = Math.max(1, Math.min(options.blockRangeMax, blocks));
  let from = filter.fromBlock;
  for (let requests = 1; from <= filter.toBlock; requests += 1) {
    if (requests > requestsMax) {
      throw new NonRetryableError('evm_logs_range', `eth_getLogs ${rpc.url}: ${requestsMax} requests did not cover blocks ${filter.fromBlock}..${filter.toBlock}`);
    }
    const to = Math.min(filter.toBlock, from + span - 1);
    let bytes: Uint8Array;
    try {
      [bytes] = (await rpc.requestRaw('eth_getLogs', [[filterParam(filter, from, to)]])) as [Uint8Array];
    } catch (error) {
      if (!(error instanceof LogsRangeError)) throw error;
      if (to === from) throw new NonRetryableError('evm_logs_range', `${error.message} (for the single block ${from}; cannot split further)`, error.details);
      span = smallerSpan(error, from, to);
      continue;
    }
    const logs = indexLogs(bytes, `eth_getLogs ${from}..${to}`);
    for (const log of logs) {
      if (log.blockNumber < from || log.blockNumber > to) throw malformedResponse(`eth_getLogs ${from}..${to}: a log of block ${log.blockNumber}`);
      out.push(log);
    }
    from = to + 1;
  }
  return out;
}

function smallerSpan(error: LogsRangeError, from: number, to: number): number {
  const suggested = error.suggested;
  if (suggested !== undefined && suggested.fromBlock === from && suggested.toBlock >= from && suggested.toBlock < to) {
    return suggested.toBlock - from + 1;
  }
  return Math.ceil((to - from + 1) / 2);
}

function filterParam(filter: LogsFilter, from: number, to: number): Record<string, unknown> {
  const param: Record<string, unknown> = { fromBlock: toHexQuantity(from), toBlock: toHexQuantity(to) };
  if (filter.address !== undefined) param['address'] = filter.address;
  if (filter.topics !== undefined) param['topics'] = filter.topics;
  return param;
}
