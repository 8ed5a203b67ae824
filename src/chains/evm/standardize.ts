// The boundary of the EVM family: zod shapes of what nodes return (block headers, full blocks,
// transactions, logs, receipts) and the cross-checks between them. Hex quantities become bigint
// here, once; addresses and hashes become lower-case. A response that fails is rejected with a
// NonRetryableError naming what was wrong, and nothing past this file sees it.
// (The worker's decoder reads block bytes directly for speed; it repeats the checks it relies on.)

import { z } from 'zod';
import { NonRetryableError } from '../../errors.ts';
import { ADDRESS_RE, HASH_RE, LOOSE_QUANTITY_RE } from './hex.ts';
import { asBuffer, hexValueAt, KeyPattern, splitFlatObjects } from './json-scan.ts';

const quantity = z.string().regex(LOOSE_QUANTITY_RE, 'must be a 0x hex quantity').transform((hex) => BigInt(hex));
/** Heights, indexes and timestamps: quantities that must fit a JS number exactly. */
const smallQuantity = quantity.refine((value) => value <= BigInt(Number.MAX_SAFE_INTEGER), 'is too large').transform(Number);
const hash = z.string().regex(HASH_RE, 'must be a 0x 32-byte hex hash').transform((hex) => hex.toLowerCase());
const address = z.string().regex(ADDRESS_RE, 'must be a 0x 20-byte hex address').transform((hex) => hex.toLowerCase());
const DATA_RE = /^0x([0-9a-fA-F]{2})*$/;
const data = z.string().regex(DATA_RE, 'must be 0x hex bytes');

export const BlockHeaderSchema = z.object({
  number: smallQuantity,
  hash,
  parentHash: hash,
  timestamp: smallQuantity,
  transactions: z.array(z.unknown()),
});
export type EvmBlockHeader = z.infer<typeof BlockHeaderSchema>;

export const TransactionSchema = z.object({
  hash,
  from: address,
  /** null (or absent, on some nodes) for a contract creation. */
  to: address.nullish().transform((value) => value ?? null),
  value: quantity,
  blockHash: hash.nullish(),
  blockNumber: smallQuantity.nullish(),
  transactionIndex: smallQuantity.nullish(),
  chainId: quantity.optional(),
});
export type EvmTransaction = z.infer<typeof TransactionSchema>;

export const BlockSchema = BlockHeaderSchema.extend({ transactions: z.array(TransactionSchema) });
export type EvmBlock = z.infer<typeof BlockSchema>;

export const LogSchema = z.object({
  address,
  topics: z.array(hash).max(4),
  data,
  blockNumber: smallQuantity,
  blockHash: hash,
  transactionHash: hash,
  transactionIndex: smallQuantity,
  logIndex: smallQuantity,
  removed: z.boolean().optional(),
});
export type EvmLog = z.infer<typeof LogSchema>;

export const ReceiptSchema = z.object({
  transactionHash: hash,
  transactionIndex: smallQuantity,
  blockHash: hash,
  blockNumber: smallQuantity,
  /** 1 success, 0 reverted; absent before Byzantium (receipts carried a state root instead). */
  status: smallQuantity.optional(),
  /** The created contract, for a contract creation. */
  contractAddress: address.nullish(),
  logs: z.array(LogSchema),
});
export type EvmReceipt = z.infer<typeof ReceiptSchema>;

/** Parses `value` with `schema`, or throws a NonRetryableError naming `what` and the first problems. */
export function standardize<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.slice(0, 3).map((issue) => `${issue.path.join('.') || '(root)'} ${issue.message}`);
  throw malformedResponse(`${what}: ${problems.join('; ')}`);
}

/** JSON bytes of one result → parsed JSON (a node's `null` stays null). */
export function parseJsonBytes(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (error) {
    throw malformedResponse(`${what}: not valid JSON (${(error as Error).message})`);
  }
}

export function parseBlockHeader(value: unknown, what: string): EvmBlockHeader {
  return standardize(BlockHeaderSchema, value, what);
}

/** A full block (eth_getBlockByNumber(n, true)), with its transactions checked against it. */
export function parseBlock(value: unknown, what: string): EvmBlock {
  const block = standardize(BlockSchema, value, what);
  for (const [position, tx] of block.transactions.entries()) {
    if (tx.blockHash != null && tx.blockHash !== block.hash) throw malformedResponse(`${what}: transaction ${tx.hash} has blockHash ${tx.blockHash}`);
    if (tx.blockNumber != null && tx.blockNumber !== block.number) throw malformedResponse(`${what}: transaction ${tx.hash} has blockNumber ${tx.blockNumber}`);
    if (tx.transactionIndex != null && tx.transactionIndex !== position) {
      throw malformedResponse(`${what}: transaction ${tx.hash} at position ${position} says transactionIndex ${tx.transactionIndex}`);
    }
  }
  return block;
}

/** eth_getLogs results: the scanner's hot path (tens of logs per block), so each log is first
 * checked by hand against the same rules as LogSchema (~10× faster than zod here); any log the
 * hand check does not accept goes through zod, which accepts it or says what is wrong. */
export function parseLogs(value: unknown, what: string): EvmLog[] {
  if (!Array.isArray(value)) return standardize(z.array(LogSchema), value, what);
  const logs: EvmLog[] = new Array(value.length);
  for (let i = 0; i < value.length; i += 1) {
    const log = quickLog(value[i]) ?? standardize(LogSchema, value[i], `${what}: log ${i}`);
    logs[i] = log;
  }
  return logs;
}

function quickLog(value: unknown): EvmLog | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const { address, topics, data, blockNumber, blockHash, transactionHash, transactionIndex, logIndex, removed } = value as Record<string, unknown>;
  if (typeof address !== 'string' || !ADDRESS_RE.test(address)) return undefined;
  if (!Array.isArray(topics) || topics.length > 4 || !topics.every((topic) => typeof topic === 'string' && HASH_RE.test(topic))) return undefined;
  if (typeof data !== 'string' || !DATA_RE.test(data)) return undefined;
  if (typeof blockHash !== 'string' || !HASH_RE.test(blockHash) || typeof transactionHash !== 'string' || !HASH_RE.test(transactionHash)) return undefined;
  if (removed !== undefined && typeof removed !== 'boolean') return undefined;
  const numbers = [blockNumber, transactionIndex, logIndex].map(smallNumber);
  if (numbers.some((n) => n === undefined)) return undefined;
  const log: EvmLog = {
    address: address.toLowerCase(),
    topics: (topics as string[]).map((topic) => topic.toLowerCase()),
    data,
    blockNumber: numbers[0] as number,
    blockHash: blockHash.toLowerCase(),
    transactionHash: transactionHash.toLowerCase(),
    transactionIndex: numbers[1] as number,
    logIndex: numbers[2] as number,
  };
  if ('removed' in value) log.removed = removed as boolean | undefined; // as zod does: a present key stays
  return log;
}

function smallNumber(value: unknown): number | undefined {
  // 13 hex digits at most: below 2^53, so the number is exact.
  if (typeof value !== 'string' || !LOOSE_QUANTITY_RE.test(value) || value.length > 15) return undefined;
  return Number.parseInt(value.slice(2), 16);
}

/** A log as the scanner's main thread handles it: the facts it groups and cross-checks by, and
 * where the log's JSON is (source[start, end)), to be handed on to the decoder as bytes. */
export interface LogRecord {
  blockNumber: number;
  blockHash: string;
  transactionIndex: number;
  logIndex: number;
  source: Buffer;
  start: number;
  end: number;
}

const LOG_FACT_KEYS = [new KeyPattern('blockHash', 2), new KeyPattern('blockNumber', 2), new KeyPattern('transactionIndex', 3), new KeyPattern('logIndex', 2)] as const;

/** The logs of an eth_getLogs result (JSON bytes) with the place of each one's JSON, so the logs
 * of a block are handed on by copying bytes, not by writing JSON again.
 * Hot path (tens of logs per block, ~70% of the main thread's log work when parsed): the four
 * facts the main thread uses are read where they are in the text, and checked; the decoder checks
 * the rest of each log before using it. Text in any other shape is parsed and checked in full
 * with LogSchema (zod), which accepts it or says what is wrong. */
export function indexLogs(bytes: Uint8Array, what: string): LogRecord[] {
  const b = asBuffer(bytes);
  const objects = splitFlatObjects(b);
  const scanned = objects === undefined ? undefined : scanLogFacts(b, objects);
  if (scanned !== undefined) return scanned;
  const json = parseJsonBytes(bytes, what);
  const logs = parseLogs(json, what);
  return logs.map((log, i) => {
    const source = Buffer.from(JSON.stringify((json as unknown[])[i]));
    return { blockNumber: log.blockNumber, blockHash: log.blockHash, transactionIndex: log.transactionIndex, logIndex: log.logIndex, source, start: 0, end: source.length };
  });
}

/** blockHash, blockNumber, transactionIndex and logIndex of each flat log object: one of each per
 * object, inside it, well-formed; undefined otherwise. */
function scanLogFacts(b: Buffer, objects: readonly { start: number; end: number }[]): LogRecord[] | undefined {
  const records: LogRecord[] = objects.map(({ start, end }) => ({ blockNumber: -1, blockHash: '', transactionIndex: -1, logIndex: -1, source: b, start, end }));
  for (const [k, key] of LOG_FACT_KEYS.entries()) {
    let i = 0;
    for (let at = key.next(b, 0); at !== -1; at = key.next(b, at + key.full.length), i += 1) {
      const record = records[i];
      if (record === undefined || at < record.start || at >= record.end) return undefined;
      const value = hexValueAt(b, at, key.full.length, k === 0 ? 64 : 13);
      if (value === undefined) return undefined;
      if (k === 0) {
        if (value.length !== 66) return undefined;
        record.blockHash = value.toLowerCase();
      } else {
        const number = Number.parseInt(value.slice(2), 16);
        if (k === 1) record.blockNumber = number;
        else if (k === 2) record.transactionIndex = number;
        else record.logIndex = number;
      }
    }
    if (i !== records.length) return undefined;
  }
  return records;
}

/** The logs' JSON array for the decoder: the records' bytes joined, in a buffer of its own. */
export function joinLogs(records: readonly LogRecord[]): Uint8Array {
  let length = 2 + Math.max(0, records.length - 1);
  for (const record of records) length += record.end - record.start;
  const out = Buffer.allocUnsafeSlow(length);
  out[0] = 0x5b;
  let at = 1;
  for (const [i, record] of records.entries()) {
    if (i > 0) out[at++] = 0x2c;
    at += record.source.copy(out, at, record.start, record.end);
  }
  out[at] = 0x5d;
  return out;
}

/** The block a log must belong to, as far as the caller knows it. */
export interface LogBlockFacts {
  number: number;
  hash: string;
  /** When known, every log's transactionIndex must be below it. */
  txCount?: number | undefined;
}

/** Every log of `logs` is of `block`, no log index repeats, and its transaction exists. */
export function checkLogsOfBlock(logs: readonly Pick<EvmLog, 'blockNumber' | 'blockHash' | 'logIndex' | 'transactionIndex'>[], block: LogBlockFacts, what: string): void {
  const seen = new Set<number>();
  for (const log of logs) {
    if (log.blockHash !== block.hash || log.blockNumber !== block.number) {
      throw malformedResponse(`${what}: log ${log.logIndex} is of block ${log.blockNumber} ${log.blockHash}, not ${block.number} ${block.hash}`);
    }
    if (seen.has(log.logIndex)) throw malformedResponse(`${what}: duplicate log index ${log.logIndex} in block ${block.number}`);
    seen.add(log.logIndex);
    if (block.txCount !== undefined && log.transactionIndex >= block.txCount) {
      throw malformedResponse(`${what}: log ${log.logIndex} names transaction index ${log.transactionIndex}, the block has ${block.txCount}`);
    }
  }
}

/** A block's receipts (eth_getBlockReceipts order): one per transaction, in order, of this block. */
export function parseReceiptsOfBlock(value: unknown, block: EvmBlock, what: string): EvmReceipt[] {
  const receipts = standardize(z.array(ReceiptSchema), value, what);
  if (receipts.length !== block.transactions.length) {
    throw malformedResponse(`${what}: ${receipts.length} receipts for ${block.transactions.length} transactions`);
  }
  for (const [position, receipt] of receipts.entries()) {
    const tx = block.transactions[position] as EvmTransaction;
    if (receipt.transactionHash !== tx.hash || receipt.transactionIndex !== position) {
      throw malformedResponse(`${what}: receipt ${position} is of transaction ${receipt.transactionHash}, not ${tx.hash}`);
    }
    if (receipt.blockHash !== block.hash || receipt.blockNumber !== block.number) {
      throw malformedResponse(`${what}: receipt of ${receipt.transactionHash} is of block ${receipt.blockNumber} ${receipt.blockHash}`);
    }
  }
  checkLogsOfBlock(receipts.flatMap((receipt) => receipt.logs), { number: block.number, hash: block.hash, txCount: block.transactions.length }, what);
  return receipts;
}

export function malformedResponse(reason: string): NonRetryableError {
  return new NonRetryableError('evm_malformed_response', `malformed node response: ${reason}`);
}
