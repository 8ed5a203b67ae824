// `settle inspect block --chain eth|bsc|polygon <block.json> [<receipts.json>]`: every value
// transfer of one block as one JSON object, for operators checking what the scanner should have
// seen. Native transfers come from the block's transactions (value > 0; only successful ones
// when receipts are given); token transfers are the ERC-20 Transfer logs in the receipts,
// watched or not. Amounts are decimal strings of base units. Pure: the CLI reads the files.

import { readFileSync } from 'node:fs';
import { NonRetryableError } from '../../errors.ts';
import { ADDRESS_TOPIC_RE, checksumAddress, TRANSFER_TOPIC } from './hex.ts';
import { parseBlock, parseReceiptsOfBlock, type EvmReceipt } from './standardize.ts';

/** Chain ids of the chains the command knows, to refuse a block of another chain. */
export const INSPECT_CHAIN_IDS: Readonly<Record<string, bigint>> = { eth: 1n, bsc: 56n, polygon: 137n };

export interface InspectTransfer {
  tx: string;
  /** null for a native transfer. */
  log_index: number | null;
  /** The token contract (EIP-55); null for the chain's native coin. */
  token: string | null;
  from: string;
  /** null only for a contract creation whose address is unknown (no receipts given). */
  to: string | null;
  amount: string;
}

export interface InspectBlockResult {
  hash: string;
  number: number;
  tx_count: number;
  transfers: InspectTransfer[];
}

export interface InspectBlockInput {
  chain: string;
  /** eth_getBlockByNumber(n, true) result, or the whole JSON-RPC response holding it. */
  block: unknown;
  /** The block's receipts in order (eth_getBlockReceipts result, or its response). */
  receipts?: unknown;
}

export function inspectEvmBlock(input: InspectBlockInput): InspectBlockResult {
  const chainId = INSPECT_CHAIN_IDS[input.chain];
  if (chainId === undefined) {
    throw new NonRetryableError('evm_inspect_chain', `unknown chain ${JSON.stringify(input.chain)}; expected one of ${Object.keys(INSPECT_CHAIN_IDS).join(', ')}`);
  }
  const block = parseBlock(unwrap(input.block), 'block file');
  for (const tx of block.transactions) {
    if (tx.chainId !== undefined && tx.chainId !== chainId) {
      throw new NonRetryableError('evm_inspect_chain', `transaction ${tx.hash} is for chain id ${tx.chainId}; --chain ${input.chain} is chain id ${chainId}`);
    }
  }
  const receipts = input.receipts === undefined ? undefined : parseReceiptsOfBlock(unwrap(input.receipts), block, 'receipts file');
  const transfers: InspectTransfer[] = [];
  for (const [position, tx] of block.transactions.entries()) {
    const receipt: EvmReceipt | undefined = receipts?.[position];
    if (tx.value > 0n && receipt?.status !== 0) {
      const to = tx.to ?? receipt?.contractAddress ?? null;
      transfers.push({ tx: tx.hash, log_index: null, token: null, from: checksumAddress(tx.from), to: to === null ? null : checksumAddress(to), amount: tx.value.toString() });
    }
    for (const log of receipt?.logs ?? []) {
      const [topic0, fromTopic, toTopic] = log.topics;
      if (log.topics.length !== 3 || topic0 !== TRANSFER_TOPIC || log.data.length !== 66) continue;
      if (!ADDRESS_TOPIC_RE.test(fromTopic as string) || !ADDRESS_TOPIC_RE.test(toTopic as string)) continue;
      transfers.push({
        tx: tx.hash,
        log_index: log.logIndex,
        token: checksumAddress(log.address),
        from: checksumAddress(`0x${(fromTopic as string).slice(26)}`),
        to: checksumAddress(`0x${(toTopic as string).slice(26)}`),
        amount: BigInt(log.data).toString(),
      });
    }
  }
  return { hash: block.hash, number: block.number, tx_count: block.transactions.length, transfers };
}

/** The same, reading the two JSON files the command names. */
export function inspectEvmBlockFiles(chain: string, blockPath: string, receiptsPath?: string): InspectBlockResult {
  return inspectEvmBlock({ chain, block: readJson(blockPath), receipts: receiptsPath === undefined ? undefined : readJson(receiptsPath) });
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new NonRetryableError('evm_inspect_file', `cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new NonRetryableError('evm_inspect_file', `${path} is not valid JSON: ${(error as Error).message}`);
  }
}

/** Accepts a bare result or a JSON-RPC response `{"jsonrpc":"2.0","id":…,"result":…}`. */
function unwrap(value: unknown): unknown {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && 'jsonrpc' in value && 'result' in value) {
    return (value as { result: unknown }).result;
  }
  return value;
}
