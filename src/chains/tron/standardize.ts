// What Settle accepts from a TRON node, as zod shapes, and the cross-checks between responses:
// a block's blockID recomputes from its header, heights and parent hashes link, every
// transaction info belongs to a transaction of its block. Anything else is a NonRetryableError
// that names the endpoint and what was wrong.
//
// The main thread parses with these shapes what it reads whole: the head block and its infos at
// verify(), contract metadata, constant calls. Bulk block bytes are not parsed here: fetchBlocks
// cuts a getblockbylimitnext answer into blocks (range.ts) and reads only each header
// (readBlockSummary: the same fields, as strictly); the decoder in the worker applies the same
// rules to the rest as it walks it (decode.ts), and test/tron/standardize.test.ts checks that
// the decoder and these shapes agree.
// JSON is read with parseJsonExact, so int64 amounts above 2^53 arrive as bigint, never rounded.

import { z } from 'zod';
import { NonRetryableError, RetryableError } from '../../errors.ts';
import type { BlockRef } from '../../scan/types.ts';
import { computeBlockId, emptyHeader, K_BLOCK_HEADER, K_BLOCK_ID, readBlockHeaderObject, readBlockId, type TronBlockHeader } from './header.ts';
import { ascii, JsonCursor, parseJsonExact } from './json-scan.ts';

const hexBytes = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`), `must be ${bytes * 2} hex digits`).transform((s) => s.toLowerCase());
const hex32 = hexBytes(32);
const address41 = z.string().regex(/^41[0-9a-fA-F]{40}$/, 'must be a 41-prefixed 21-byte hex address').transform((s) => s.toLowerCase());
const safeInt = z.number().int().nonnegative();
/** int64 as java-tron prints it: a bare number, bigint here when beyond 2^53. */
const int64 = z.union([z.number().int().nonnegative(), z.bigint().nonnegative()]).transform((v) => BigInt(v));

/** Every field is needed to recompute the blockID, so unknown ones are refused. */
export const BlockHeaderRawSchema = z.strictObject({
  number: safeInt.default(0),
  timestamp: safeInt.default(0),
  parentHash: hex32.default(''),
  txTrieRoot: hex32.default(''),
  witness_address: address41.default(''),
  witness_id: safeInt.default(0),
  version: safeInt.default(0),
  accountStateRoot: hex32.default(''),
});

export const TransferContractValueSchema = z.object({
  owner_address: address41,
  to_address: address41,
  amount: int64.default(0n),
});

export const ContractSchema = z.object({
  type: z.string().min(1),
  parameter: z.object({ type_url: z.string(), value: z.record(z.string(), z.unknown()) }),
});

export const TransactionSchema = z.object({
  txID: hex32,
  raw_data: z.object({ contract: z.array(ContractSchema).length(1, 'a TRON transaction has exactly one contract') }),
  ret: z.array(z.object({ contractRet: z.string().optional() })).default([]),
  raw_data_hex: z.string().regex(/^[0-9a-fA-F]*$/).optional(),
  signature: z.array(z.string()).optional(),
});

export const BlockSchema = z.object({
  blockID: hex32,
  block_header: z.object({ raw_data: BlockHeaderRawSchema, witness_signature: z.string().optional() }),
  transactions: z.array(TransactionSchema).default([]),
});

export const LogSchema = z.object({
  address: hexBytes(20),
  topics: z.array(hex32).default([]),
  data: z.string().regex(/^[0-9a-fA-F]*$/, 'must be hex').default(''),
});

export const TransactionInfoSchema = z.object({
  id: hex32,
  blockNumber: safeInt.optional(),
  blockTimeStamp: safeInt.optional(),
  fee: int64.optional(),
  contract_address: address41.optional(),
  log: z.array(LogSchema).default([]),
  receipt: z.object({ result: z.string().optional() }).optional(),
  /** TransactionInfo.code: SUCESS (sic, the default, usually omitted) or FAILED. */
  result: z.enum(['SUCESS', 'FAILED']).optional(),
});

export const ContractInfoSchema = z.object({ contract_address: address41, name: z.string().optional() });

export const ConstantResultSchema = z.object({
  result: z.object({ result: z.boolean().optional(), code: z.string().optional(), message: z.string().optional() }),
  constant_result: z.array(z.string().regex(/^[0-9a-fA-F]*$/)).optional(),
});

export type TronTransaction = z.infer<typeof TransactionSchema>;
export type TronTransactionInfo = z.infer<typeof TransactionInfoSchema>;

export interface TronBlock {
  header: TronBlockHeader;
  transactions: TronTransaction[];
}

/** The block in `bytes`, or undefined for the node's `{}` (no such block). */
export function standardizeBlock(bytes: Uint8Array, what: string): TronBlock | undefined {
  const json = parseNodeJson(bytes, what);
  if (isEmptyObject(json)) return undefined;
  const block = parseWith(BlockSchema, json, what);
  const raw = block.block_header.raw_data;
  const header: TronBlockHeader = {
    blockId: block.blockID,
    number: raw.number,
    parentHash: raw.parentHash,
    timestampMs: raw.timestamp,
    txTrieRoot: raw.txTrieRoot,
    witnessAddress: raw.witness_address,
    witnessId: raw.witness_id,
    version: raw.version,
    accountStateRoot: raw.accountStateRoot,
  };
  const computed = computeBlockId(header);
  if (computed !== header.blockId) {
    throw new NonRetryableError('tron_block_id_mismatch', `${what}: blockID ${header.blockId} of block ${header.number} does not match its header (recomputed ${computed})`);
  }
  return { header, transactions: block.transactions };
}

/** The transaction infos of `block`: exactly one per transaction, in block order, of this block. */
export function standardizeTransactionInfos(bytes: Uint8Array, block: TronBlock, what: string): TronTransactionInfo[] {
  const json = parseNodeJson(bytes, what);
  const infos = isEmptyObject(json) ? [] : parseWith(z.array(TransactionInfoSchema), json, what);
  const n = block.header.number;
  if (infos.length !== block.transactions.length) {
    throw new RetryableError('tron_infos_incomplete', `${what}: block ${n} has ${block.transactions.length} transactions but ${infos.length} transaction infos`);
  }
  infos.forEach((info, i) => {
    const txid = block.transactions[i]?.txID;
    if (info.id !== txid) throw new RetryableError('tron_infos_mismatch', `${what}: info ${i} is for ${info.id}, not for block ${n}'s transaction ${txid}`);
    if (info.blockNumber !== undefined && info.blockNumber !== n) {
      throw new RetryableError('tron_infos_mismatch', `${what}: info ${i} says block ${info.blockNumber}, not ${n}`);
    }
  });
  return infos;
}

export function blockRefOf(header: TronBlockHeader): BlockRef {
  return { height: header.number, hash: header.blockId, parentHash: header.parentHash };
}

/** Throws unless `headers` are consecutive heights each naming the previous as parent (and the
 * first naming `parent`, when given). */
export function checkLinked(headers: readonly TronBlockHeader[], what: string, parent?: BlockRef): void {
  let previous = parent;
  for (const h of headers) {
    if (previous !== undefined && (h.number !== previous.height + 1 || h.parentHash !== previous.hash)) {
      throw new NonRetryableError(
        'tron_blocks_unlinked',
        `${what}: block ${h.number} (parent ${h.parentHash}) does not follow block ${previous.height} (${previous.hash})`,
        { height: h.number },
      );
    }
    previous = blockRefOf(h);
  }
}

const K_TRANSACTIONS = ascii('transactions');

/** blockID and header of the block object in [start, end); stops at `transactions` once both are
 * read (they come first in java-tron's output), so the transactions are not walked here. */
export function readBlockSummary(bytes: Uint8Array, start: number, end: number): { header: TronBlockHeader; hasTransactions: boolean } {
  const header = emptyHeader();
  let hasHeader = false;
  let hasTransactions = false;
  const c = new JsonCursor(bytes, start, end);
  c.openObject();
  while (c.nextKey()) {
    if (c.is(K_BLOCK_ID)) header.blockId = readBlockId(c);
    else if (c.is(K_BLOCK_HEADER)) {
      readBlockHeaderObject(c, header);
      hasHeader = true;
    } else if (c.is(K_TRANSACTIONS)) {
      hasTransactions = true;
      if (header.blockId !== '' && hasHeader) break;
      c.skipValue();
    } else c.skipValue();
  }
  if (header.blockId === '' || !hasHeader) c.fail('a block without blockID or block_header');
  const computed = computeBlockId(header);
  if (computed !== header.blockId) {
    throw new NonRetryableError('tron_block_id_mismatch', `block ${header.number}: blockID ${header.blockId} does not match its header (recomputed ${computed})`);
  }
  return { header, hasTransactions };
}

/** True when `bytes` is `[]` (whitespace aside). */
export function isEmptyArray(bytes: Uint8Array): boolean {
  let i = 0;
  while (i < bytes.length && isSpace(bytes[i] as number)) i += 1;
  if (bytes[i] !== 0x5b) return false;
  i += 1;
  while (i < bytes.length && isSpace(bytes[i] as number)) i += 1;
  if (bytes[i] !== 0x5d) return false;
  i += 1;
  while (i < bytes.length && isSpace(bytes[i] as number)) i += 1;
  return i === bytes.length;
}

export function parseNodeJson(bytes: Uint8Array, what: string): unknown {
  try {
    return parseJsonExact(bytes);
  } catch (error) {
    throw new NonRetryableError('tron_response_malformed', `${what}: ${(error as Error).message}`, {}, { cause: error });
  }
}

export function parseWith<T extends z.ZodType>(schema: T, json: unknown, what: string): z.output<T> {
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.slice(0, 3).map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`);
  throw new NonRetryableError('tron_response_malformed', `${what}: malformed response: ${issues.join('; ')}`, { issues });
}

export function isEmptyObject(json: unknown): boolean {
  return json !== null && typeof json === 'object' && !Array.isArray(json) && Object.keys(json).length === 0;
}

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}
