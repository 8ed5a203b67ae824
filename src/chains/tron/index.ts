// The TRON family adapter: the main-thread side of the scan pipeline. It talks to a java-tron
// full node (or TronGrid) through rpc.ts, checks what comes back (standardize.ts) and hands the
// raw bytes of each block and of its transaction infos to the workers (decode.ts). It reads
// headers only; transactions are the workers' job.
//
// Finality is the node's solidified block (/walletsolidity/getnowblock): ~19 of 27 SRs have
// built on it, and TRON never reverts it.

import type { Logger } from 'pino';
import type { Clock } from '../../common.ts';
import type { TronChainConfig } from '../../config.ts';
import { assert, NonRetryableError, RetryableError } from '../../errors.ts';
import type { BlockRef, ChainAdapter, ChainHead, DecodeOptions, RawBlock } from '../../scan/types.ts';
import { tronAddressToBodyHex } from './address.ts';
import type { TronBlockHeader } from './header.ts';
import {
  BLOCK_RANGE_MAX,
  createTronRpc,
  getBlockByLimitNext,
  getBlockByNum,
  getContract,
  getNowBlock,
  getSolidifiedNowBlock,
  getTransactionInfoByBlockNum,
  triggerConstantContract,
  type TronRpc,
} from './rpc.ts';
import {
  blockRefOf,
  ConstantResultSchema,
  ContractInfoSchema,
  isEmptyObject,
  parseNodeJson,
  parseWith,
  readBlockSummary,
  standardizeBlock,
  standardizeTransactionInfos,
} from './standardize.ts';

/** Blocks one fetchBlocks call may ask for; the scanner asks for a handful at a time. */
export const FETCH_BLOCKS_MAX = 1_000;
/** Transaction-info requests in flight per fetchBlocks call (one per block: TRON has no range form). */
export const INFO_REQUESTS_IN_FLIGHT_MAX = 8;
/** Anyone may call a view function; the zero address needs no account on chain. */
const ZERO_ADDRESS = `41${'00'.repeat(20)}`;

export interface TronAdapterDeps {
  logger: Logger;
  clock: Clock;
  signal: AbortSignal;
}

export interface TronAdapter extends ChainAdapter {
  readonly rpc: TronRpc;
}

/** Genesis block ids of the public networks (java-tron /wallet/getblockbynum {num: 0}). */
const GENESIS_BLOCK_IDS: Partial<Record<TronChainConfig['network'], string>> = {
  mainnet: '00000000000000001ebf88508a03865c71d452e25f4d51194196a1d22b6653dc',
  nile: '0000000000000000d698d4192c56cb6be724a558448e2684802de4d6cd8690dc',
};

export function createTronAdapter(chain: string, config: TronChainConfig, deps: TronAdapterDeps): TronAdapter {
  const logger = deps.logger.child({ chain });
  const rpc = createTronRpc({
    url: config.rpc.url,
    apiKey: config.rpc.apiKey,
    timeoutMs: config.rpcTimeoutMs,
    attemptsMax: config.rpcAttemptsMax,
    signal: deps.signal,
    sleep: deps.clock.sleep,
    onRetry: (error, attempt, delayMs) => logger.debug({ err: (error as Error).message, attempt, delayMs }, 'tron rpc retry'),
  });
  const tokens = config.tokens.map((token) => {
    try {
      return { ...token, body: tronAddressToBodyHex(token.contract) };
    } catch {
      throw new NonRetryableError('tron_token_invalid', `chain ${chain}: token ${token.code} contract ${JSON.stringify(token.contract)} is not a TRON base58 address (T…)`);
    }
  });
  const decodeOptions: DecodeOptions = { tokens: tokens.map((token) => token.body) };

  async function header(bytes: Uint8Array, what: string): Promise<TronBlockHeader | undefined> {
    if (isEmptyAnswer(bytes)) return undefined;
    try {
      return readBlockSummary(bytes, 0, bytes.length).header;
    } catch (error) {
      if (error instanceof RetryableError || (error as { code?: string }).code === 'tron_block_id_mismatch') throw error;
      throw new NonRetryableError('tron_response_malformed', `${what} ${rpc.url}: ${(error as Error).message}`, {}, { cause: error });
    }
  }

  async function verify(): Promise<void> {
    // Full parses of the head block, and of the solidified block and its infos: the node speaks
    // the shapes Settle relies on (a lite fullnode, or one with transaction history off, fails
    // here rather than later). The infos are the solidified block's, which every backend behind
    // a load balancer has stored by now.
    const head = standardizeBlock(await getNowBlock(rpc), `/wallet/getnowblock ${rpc.url}`);
    if (head === undefined) throw new NonRetryableError('tron_no_head', `chain ${chain}: ${rpc.url} has no head block`);
    const solid = standardizeBlock(await getSolidifiedNowBlock(rpc), `/walletsolidity/getnowblock ${rpc.url}`);
    if (solid !== undefined && solid.header.number > 0) {
      standardizeTransactionInfos(await getTransactionInfoByBlockNum(rpc, solid.header.number), solid, `/wallet/gettransactioninfobyblocknum ${rpc.url}`);
    }
    await verifyGenesis();
    for (const token of tokens) await verifyToken(token);
    logger.info({ head: head.header.number, tokens: tokens.map((t) => t.code) }, 'tron node verified');
  }

  /** The node runs the network the config names: its block 0 is that network's genesis. */
  async function verifyGenesis(): Promise<void> {
    const expected = config.genesisBlockId ?? GENESIS_BLOCK_IDS[config.network];
    if (expected === undefined) return;
    // Only the id is read: the genesis block's header is special (no witness signature).
    let genesisId: unknown;
    try {
      genesisId = (JSON.parse(Buffer.from(await getBlockByNum(rpc, 0)).toString('utf8')) as { blockID?: unknown }).blockID;
    } catch (error) {
      throw new NonRetryableError('tron_response_malformed', `/wallet/getblockbynum 0 ${rpc.url}: not JSON`, {}, { cause: error });
    }
    if (genesisId !== expected) {
      throw new NonRetryableError('wrong_chain', `chain ${chain} is configured as TRON ${config.network}, but the node at ${rpc.url} has genesis block ${String(genesisId ?? '(none)')}, not ${expected}`);
    }
  }

  async function verifyToken(token: (typeof tokens)[number]): Promise<void> {
    const address = `41${token.body}`;
    const what = `chain ${chain}: token ${token.code} (${token.contract})`;
    const info = parseNodeJson(await getContract(rpc, address), `/wallet/getcontract ${rpc.url}`);
    if (isEmptyObject(info)) throw new NonRetryableError('tron_token_missing', `${what} is not a contract on the chain of ${rpc.url}`);
    const contract = parseWith(ContractInfoSchema, info, `/wallet/getcontract ${rpc.url}`);
    if (contract.contract_address !== address) throw new NonRetryableError('tron_token_missing', `${what}: the node describes ${contract.contract_address} instead`);
    const call = parseWith(
      ConstantResultSchema,
      parseNodeJson(await triggerConstantContract(rpc, { ownerAddress: ZERO_ADDRESS, contractAddress: address, functionSelector: 'decimals()' }), `/wallet/triggerconstantcontract ${rpc.url}`),
      `/wallet/triggerconstantcontract ${rpc.url}`,
    );
    const word = call.constant_result?.[0];
    if (call.result.result !== true || word === undefined || word.length !== 64) {
      const reason = call.result.message === undefined ? call.result.code ?? 'no result' : Buffer.from(call.result.message, 'hex').toString('utf8');
      throw new NonRetryableError('tron_token_decimals', `${what}: decimals() failed: ${reason}`);
    }
    const decimals = BigInt(`0x${word}`);
    if (decimals !== BigInt(token.decimals)) {
      throw new NonRetryableError(
        'tron_token_decimals',
        `${what} has ${decimals} decimals on chain, the configuration says ${token.decimals}; amounts would be off by a factor of 10^${Math.abs(Number(decimals) - token.decimals)}`,
      );
    }
  }

  async function head(): Promise<ChainHead> {
    const h = await header(await getNowBlock(rpc), '/wallet/getnowblock');
    if (h === undefined) throw new RetryableError('tron_no_head', `chain ${chain}: ${rpc.url} answered no head block`);
    return { height: h.number, hash: h.blockId };
  }

  async function finalizedHeight(): Promise<number | undefined> {
    const h = await header(await getSolidifiedNowBlock(rpc), '/walletsolidity/getnowblock');
    return h?.number;
  }

  async function blockRef(height: number): Promise<BlockRef | undefined> {
    const h = await header(await getBlockByNum(rpc, height), `/wallet/getblockbynum ${height}`);
    if (h === undefined) return undefined;
    if (h.number !== height) throw new NonRetryableError('tron_block_height_mismatch', `/wallet/getblockbynum ${height} ${rpc.url}: the node sent block ${h.number}`);
    return blockRefOf(h);
  }

  /** One raw range per /wallet/getblockbylimitnext answer (at most 100 blocks) with the infos of
   * each of its blocks. The main thread only moves bytes: the worker reads the blocks in place and
   * checks them (decode.ts decodeRange: the heights asked for, linked, blockIDs, one info per
   * transaction); the scanner checks that ranges link to each other and to what it applied. */
  async function fetchBlocks(from: number, to: number): Promise<RawBlock[]> {
    assert(Number.isInteger(from) && Number.isInteger(to) && from >= 0 && from <= to, `fetchBlocks(${from}, ${to}) needs 0 <= from <= to`);
    assert(to - from + 1 <= FETCH_BLOCKS_MAX, `fetchBlocks asks for at most ${FETCH_BLOCKS_MAX} blocks, got ${to - from + 1}`);
    const heights = Array.from({ length: to - from + 1 }, (_, i) => from + i);
    // Blocks (by range) and infos (one request per block) travel at the same time.
    const infosPromise = mapInFlight(heights, INFO_REQUESTS_IN_FLIGHT_MAX, (h) => getTransactionInfoByBlockNum(rpc, h));
    infosPromise.catch(() => {}); // awaited below; a block error must not leave it unhandled
    const starts: number[] = [];
    for (let start = from; start <= to; start += BLOCK_RANGE_MAX) starts.push(start);
    const ranges = await Promise.all(starts.map((start) => getBlockByLimitNext(rpc, start, Math.min(to + 1, start + BLOCK_RANGE_MAX))));
    const infos = await infosPromise;
    return ranges.map((range, k) => {
      const start = starts[k] as number;
      const count = Math.min(to + 1, start + BLOCK_RANGE_MAX) - start;
      const parts = [range, ...infos.slice(start - from, start - from + count)];
      return { height: start, count, parts: parts.map(ownBuffer), lengths: parts.map((bytes) => bytes.byteLength) };
    });
  }

  return {
    chain,
    family: 'tron',
    rpc,
    verify,
    head,
    finalizedHeight,
    blockRef,
    fetchBlocks,
    decodeOptions: () => decodeOptions,
  };
}

/** The node's `{}` (no such block), whitespace aside. */
function isEmptyAnswer(bytes: Uint8Array): boolean {
  let text = '';
  if (bytes.length <= 16) text = Buffer.from(bytes).toString('latin1').replace(/\s+/g, '');
  return text === '{}';
}

/** The ArrayBuffer of `bytes`, which rpc.ts and range.ts allocate for them alone, from its start
 * (checked: a shared buffer moved to a worker would take other data with it). It may be larger
 * than the bytes (a recycled buffer): RawBlock.lengths says how much is used. */
function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  assert(bytes.byteOffset === 0 && bytes.buffer instanceof ArrayBuffer, 'raw block bytes own their ArrayBuffer');
  return bytes.buffer;
}

/** fn over items with at most `limit` calls in flight; results in item order. */
async function mapInFlight<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  async function lane(): Promise<void> {
    while (next < items.length) {
      const at = next;
      next += 1;
      out[at] = await fn(items[at] as T);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}
