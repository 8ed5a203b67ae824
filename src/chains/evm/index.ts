// The EVM family adapter (Ethereum, BSC, Polygon and any chain speaking Ethereum JSON-RPC): the
// main-thread side of the scan pipeline. It talks to the node through rpc.ts, checks what comes
// back (standardize.ts), and hands raw block bytes to the workers (decode.ts), which return the
// matches; confirm() then drops native credits of reverted transactions using their receipts.
// It never decodes block bodies itself: that is the workers' job.

import type { Logger } from 'pino';
import type { Clock } from '../../common.ts';
import type { EvmChainConfig } from '../../config.ts';
import { assert, NonRetryableError, RetryableError } from '../../errors.ts';
import type { BlockRef, ChainAdapter, ChainHead, DecodedBlock, DecodeOptions, RawBlock } from '../../scan/types.ts';
import { DECIMALS_SELECTOR, strip0x, TRANSFER_TOPIC } from './hex.ts';
import { asBuffer, scanBlockHeader } from './json-scan.ts';
import { ethCall, ethChainId, ethGetBlockByNumber, ethGetLogs, ethGetTransactionReceipt, type BlockTag } from './rpc.ts';
import { checkLogsOfBlock, joinLogs, parseBlockHeader, parseJsonBytes, type LogRecord } from './standardize.ts';
import { createRpcTransport, type RpcTransport } from './transport.ts';

/** Blocks one fetchBlocks call may ask for: the follower's prefetch window is far smaller. */
export const FETCH_BLOCKS_MAX = 10_000;

export interface EvmAdapterDeps {
  logger: Logger;
  clock: Clock;
  signal: AbortSignal;
}

export interface EvmAdapter extends ChainAdapter {
  readonly rpc: RpcTransport;
}

interface HeaderFacts {
  number: number;
  hash: string;
  parentHash: string;
}

export function createEvmAdapter(chain: string, config: EvmChainConfig, deps: EvmAdapterDeps): EvmAdapter {
  const logger = deps.logger.child({ chain });
  const rpc = createRpcTransport({
    url: config.rpc.url,
    timeoutMs: config.rpcTimeoutMs,
    attemptsMax: config.rpcAttemptsMax,
    batchMax: config.rpc.batchMax,
    signal: deps.signal,
    sleep: deps.clock.sleep,
    // The reason names the URL without credentials (transport.ts).
    onBatchRejected: (reason) => logger.warn(reason),
  });
  const tokens = config.tokens.map((token) => token.contract.toLowerCase());
  // Nodes without the `finalized` tag (pre-merge clients, some L2s) answer with an error; after
  // the first one, finality is counted in blocks for the rest of the process.
  let finalizedTagWorks = config.finalizedTag;

  async function header(tag: BlockTag): Promise<HeaderFacts | undefined> {
    const [bytes] = await ethGetBlockByNumber(rpc, [tag], false);
    const json = parseJsonBytes(bytes as Uint8Array, `eth_getBlockByNumber ${tag}`);
    if (json === null) return undefined;
    const parsed = parseBlockHeader(json, `eth_getBlockByNumber ${tag}`);
    if (typeof tag === 'number' && parsed.number !== tag) throw malformedBlock(tag, `the node returned block ${parsed.number}`);
    return { number: parsed.number, hash: parsed.hash, parentHash: parsed.parentHash };
  }

  async function verify(): Promise<void> {
    const chainId = await ethChainId(rpc);
    if (chainId !== BigInt(config.chainId)) {
      throw new NonRetryableError(
        'evm_wrong_chain',
        `chain ${chain}: the node at ${rpc.url} is chain id ${chainId}, the configuration says ${config.chainId}; refusing to scan the wrong chain`,
        { chain, chainId: chainId.toString(), expected: config.chainId },
      );
    }
    for (const token of config.tokens) {
      const decimals = await tokenDecimals(token.contract, token.code);
      if (decimals !== BigInt(token.decimals)) {
        throw new NonRetryableError(
          'evm_token_decimals',
          `chain ${chain}: token ${token.code} (${token.contract}) has ${decimals} decimals on chain, the configuration says ${token.decimals}; amounts would be off by 10^${Math.abs(Number(decimals) - token.decimals)}`,
          { chain, token: token.code, decimals: decimals.toString(), expected: token.decimals },
        );
      }
    }
    logger.info({ chainId: config.chainId, tokens: config.tokens.map((t) => t.code) }, 'evm node verified');
  }

  async function tokenDecimals(contract: string, code: string): Promise<bigint> {
    let data: string;
    try {
      data = await ethCall(rpc, { to: contract, data: DECIMALS_SELECTOR });
    } catch (error) {
      if (error instanceof RetryableError) throw error;
      throw new NonRetryableError('evm_token_decimals', `chain ${chain}: decimals() of token ${code} (${contract}) failed: ${(error as Error).message}`, { chain, token: code });
    }
    if (data.length !== 66) {
      throw new NonRetryableError('evm_token_decimals', `chain ${chain}: token ${code} (${contract}) answered decimals() with ${data === '0x' ? 'nothing (no contract at that address?)' : data}`, { chain, token: code });
    }
    return BigInt(data);
  }

  async function head(): Promise<ChainHead> {
    const latest = await header('latest');
    if (latest === undefined) throw new RetryableError('evm_no_head', `chain ${chain}: the node returned no latest block`);
    return { height: latest.number, hash: strip0x(latest.hash) };
  }

  async function finalizedHeight(): Promise<number | undefined> {
    if (finalizedTagWorks) {
      try {
        const finalized = await header('finalized');
        if (finalized !== undefined) return finalized.number;
      } catch (error) {
        if (!(error instanceof NonRetryableError)) throw error;
        finalizedTagWorks = false;
        logger.warn({ err: error.message }, `the node does not serve the finalized tag; counting ${config.finalityDepth} blocks instead`);
      }
    }
    const latest = await head();
    return Math.max(0, latest.height - config.finalityDepth);
  }

  async function blockRef(height: number): Promise<BlockRef | undefined> {
    const found = await header(height);
    return found === undefined ? undefined : { height: found.number, hash: strip0x(found.hash), parentHash: strip0x(found.parentHash) };
  }

  async function fetchBlocks(from: number, to: number): Promise<RawBlock[]> {
    assert(Number.isInteger(from) && Number.isInteger(to) && from >= 0 && from <= to, `fetchBlocks(${from}, ${to}): a non-empty range`);
    assert(to - from + 1 <= FETCH_BLOCKS_MAX, `fetchBlocks asks for at most ${FETCH_BLOCKS_MAX} blocks`);
    const heights = Array.from({ length: to - from + 1 }, (_, i) => from + i);
    const [blocks, logs] = await Promise.all([ethGetBlockByNumber(rpc, heights, true), transferLogs(from, to)]);
    const byBlock = groupByBlock(logs);
    const raws: RawBlock[] = [];
    let previous: HeaderFacts | undefined;
    for (const [i, bytes] of blocks.entries()) {
      const height = from + i;
      const facts = headerOfBytes(bytes, height);
      if (previous !== undefined && facts.parentHash !== previous.hash) {
        throw new RetryableError('evm_reorg_during_fetch', `chain ${chain}: block ${height} does not link to ${previous.hash}; the chain changed while fetching`, { height });
      }
      const group = byBlock.get(height) ?? [];
      checkLogsAgainst(group, facts);
      byBlock.delete(height);
      const logs = joinLogs(group);
      assert(bytes.byteOffset === 0 && logs.byteOffset === 0, 'raw block bytes start their own ArrayBuffer');
      raws.push({ height, expectedHash: strip0x(facts.hash), parts: [bytes.buffer as ArrayBuffer, logs.buffer as ArrayBuffer], lengths: [bytes.byteLength, logs.byteLength] });
      previous = facts;
    }
    assert(byBlock.size === 0, 'eth_getLogs returned only logs of the requested range');
    return raws;
  }

  async function transferLogs(from: number, to: number): Promise<LogRecord[]> {
    if (tokens.length === 0) return [];
    return ethGetLogs(rpc, { fromBlock: from, toBlock: to, address: tokens, topics: [TRANSFER_TOPIC] }, { blockRangeMax: config.rpc.logsBlockRangeMax });
  }

  function checkLogsAgainst(logs: readonly LogRecord[], facts: HeaderFacts): void {
    const stray = logs.find((log) => log.blockHash !== facts.hash);
    if (stray !== undefined) {
      // The block and the logs come from two calls; between them the node may have switched forks.
      throw new RetryableError('evm_logs_block_mismatch', `chain ${chain}: a log of block ${facts.number} names block hash ${stray.blockHash}, the block is ${facts.hash}`, { height: facts.number });
    }
    checkLogsOfBlock(logs, facts, `eth_getLogs of block ${facts.number}`);
  }

  async function confirm(block: DecodedBlock): Promise<DecodedBlock> {
    const txids = block.needsReceipt ?? [];
    if (txids.length === 0) return block;
    const receipts = await ethGetTransactionReceipt(rpc, txids.map((txid) => `0x${txid}`));
    const reverted = new Set<string>();
    for (const [i, receipt] of receipts.entries()) {
      const txid = txids[i] as string;
      if (receipt === null) throw new RetryableError('evm_receipt_missing', `chain ${chain}: no receipt yet for 0x${txid} of block ${block.height}`, { txid });
      if (strip0x(receipt.blockHash) !== block.hash) {
        throw new RetryableError('evm_receipt_other_block', `chain ${chain}: the receipt of 0x${txid} is of block ${receipt.blockHash}, not ${block.hash}; the chain changed`, { txid });
      }
      if (receipt.status === undefined) {
        throw new NonRetryableError('evm_receipt_no_status', `chain ${chain}: the receipt of 0x${txid} has no status (pre-Byzantium); cannot tell whether it reverted`, { txid });
      }
      if (receipt.status === 0) reverted.add(txid);
    }
    if (reverted.size > 0) logger.info({ height: block.height, reverted: [...reverted] }, 'native transfers of reverted transactions not credited');
    // Only native matches depend on the receipt: a reverted transaction leaves no logs.
    const matches = block.matches.filter((match) => match.kind === 'spend' || match.position !== -1 || !reverted.has(match.txid));
    return { ...block, matches, needsReceipt: [] };
  }

  return {
    chain,
    family: 'evm',
    rpc,
    verify,
    head,
    finalizedHeight,
    blockRef,
    fetchBlocks,
    confirm,
    decodeOptions: (): DecodeOptions => ({ tokens: [...tokens] }),
  };
}

/** Number, hash and parent of a full block's JSON bytes, read without parsing the transactions
 * when the node writes the header first (it usually does), else by a full parse. */
function headerOfBytes(bytes: Uint8Array, height: number): HeaderFacts {
  const scanned = scanBlockHeader(asBuffer(bytes), 0, bytes.byteLength);
  let facts: HeaderFacts;
  if (scanned !== undefined) {
    facts = scanned;
  } else {
    const json = parseJsonBytes(bytes, `eth_getBlockByNumber ${height}`);
    if (json === null) throw new RetryableError('evm_block_missing', `the node has no block ${height} yet`, { height });
    facts = parseBlockHeader(json, `eth_getBlockByNumber ${height}`);
  }
  if (facts.number !== height) throw malformedBlock(height, `the node returned block ${facts.number}`);
  return facts;
}

function groupByBlock(logs: readonly LogRecord[]): Map<number, LogRecord[]> {
  const groups = new Map<number, LogRecord[]>();
  for (const log of logs) {
    const group = groups.get(log.blockNumber);
    if (group === undefined) groups.set(log.blockNumber, [log]);
    else group.push(log);
  }
  return groups;
}

function malformedBlock(height: number | string, reason: string): NonRetryableError {
  return new NonRetryableError('evm_malformed_response', `malformed node response: eth_getBlockByNumber ${height}: ${reason}`);
}
