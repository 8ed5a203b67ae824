// The EVM decoder, run in worker threads: one block's raw bytes → the credits and debits of
// watched addresses. raw.parts = [eth_getBlockByNumber(n, true) result JSON, eth_getLogs result
// JSON of the configured tokens' Transfer events in that block].
//   native: a transaction to a watched address with value > 0 → credit (position −1); from a
//           watched address → debit. Both are listed in needsReceipt: the transaction may have
//           reverted, which only its receipt says (the adapter checks on the main thread).
//   tokens: a Transfer(address,address,uint256) log of a configured token (3 topics, 32-byte
//           data) to a watched address → credit (position = log index); from one → debit.
//           Logs exist only for successful executions, so token matches need no receipt.
// Pure and synchronous; imports nothing heavy (no logger, config or database): workers load it.
//
// Hot path: a block almost never pays a watched address, so the decoder reads it with a targeted
// scan of the text (json-scan.ts): every transaction's `from` and `to` are looked up in the index,
// and only a transaction with a watched one is parsed (its own JSON object). Text not in the
// expected shape is parsed in full instead; both ways build matches from parsed objects.

import { NonRetryableError } from '../../errors.ts';
import { partBytes } from '../../scan/buffers.ts';
import type { CreditMatch, DebitMatch, DecodedBlock, DecodeOptions, Match, RawBlock } from '../../scan/types.ts';
import { ADDRESS_RE, ADDRESS_TOPIC_RE, checksumAddress, HASH_RE, LOOSE_QUANTITY_RE, strip0x, TRANSFER_TOPIC } from './hex.ts';
import { asBuffer, hasNoEscapes, hexToBytesInto, hexValueAt, KeyPattern, scanBlockHeader, skipWhitespace, type BlockHeaderScan } from './json-scan.ts';

/** What the decoder needs of the address index (the worker's IndexView): keys are the 20 address bytes. */
export interface KeyIndex {
  hasKey(bytes: Uint8Array, offset: number, length: number): boolean;
}

const KEY_FROM = new KeyPattern('from', 2);
const KEY_TO = new KeyPattern('to', 1);
const KEY_BLOCK_HASH = new KeyPattern('blockHash', 2);
const KEY_TRANSACTIONS_LENGTH = '"transactions":'.length;
const QUOTE = 0x22;
/** Scratch for the 20 key bytes of the address being looked up (one decode at a time per thread). */
const scratch = new Uint8Array(20);

interface NativeScan {
  header: BlockHeaderScan;
  txCount: number;
  matches: Match[];
  needsReceipt: string[];
}

export function decodeBlock(raw: RawBlock, index: KeyIndex, options: DecodeOptions): DecodedBlock {
  if (raw.parts.length !== 2) throw malformed(raw.height, `expected 2 parts (block, logs), got ${raw.parts.length}`);
  const block = asBuffer(partBytes(raw.parts, raw.lengths, 0));
  const native = scanNativeFast(block, index, raw.height) ?? scanNativeFull(block, index, raw.height);
  const { header } = native;
  if (header.number !== raw.height) throw malformed(raw.height, `the node returned block ${header.number}`);
  if (raw.expectedHash !== undefined && strip0x(raw.expectedHash) !== strip0x(header.hash)) {
    throw malformed(raw.height, `hash ${header.hash} is not the expected ${raw.expectedHash}`);
  }
  const tokens = new Set((options.tokens ?? []).map((token) => token.toLowerCase()));
  const logs = asBuffer(partBytes(raw.parts, raw.lengths, 1));
  const tokenMatches = logsHaveNoCandidate(logs, header, index, native.txCount) ? [] : decodeTransferLogs(logs, header, index, tokens, native.txCount);
  return {
    height: header.number,
    hash: strip0x(header.hash),
    parentHash: strip0x(header.parentHash),
    timestampS: header.timestampS,
    txCount: native.txCount,
    matches: tokenMatches.length === 0 ? native.matches : [...native.matches, ...tokenMatches],
    needsReceipt: native.needsReceipt,
  };
}

/** The block's native matches from a targeted scan: every transaction's `from` and `to` is looked
 * up; only a transaction with a watched one is parsed (its own object, not the block). Undefined
 * when the text is not in the shape the scan relies on — one `"from":`, `"to":` and
 * `"blockHash":` per transaction, all after `"transactions":` — and the caller parses in full. */
function scanNativeFast(b: Buffer, index: KeyIndex, height: number): NativeScan | undefined {
  if (!hasNoEscapes(b)) return undefined;
  const header = scanBlockHeader(b, 0, b.length);
  if (header === undefined) return undefined;
  const open = skipWhitespace(b, header.transactionsAt + KEY_TRANSACTIONS_LENGTH);
  if (b[open] !== 0x5b) return undefined;
  const first = skipWhitespace(b, open + 1);
  if (b[first] === QUOTE) throw malformed(height, 'transactions are hashes; the block must be fetched with full transactions');

  const candidates = new Map<number, Record<string, unknown>>();
  const onHit = (keyAt: number, address: string): boolean => candidateTransaction(b, keyAt, address, header.transactionsAt, candidates);
  const froms = scanAddresses(b, KEY_FROM, header.transactionsAt, index, false, onHit);
  const tos = scanAddresses(b, KEY_TO, header.transactionsAt, index, true, onHit);
  const blockHashes = countBlockHashes(b, header);
  if (froms < 0 || froms !== tos || tos !== blockHashes) return undefined;
  if ((b[first] === 0x5d) !== (froms === 0)) return undefined;
  const matches: Match[] = [];
  const needsReceipt: string[] = [];
  for (const start of [...candidates.keys()].sort((x, y) => x - y)) {
    const found = nativeMatches(candidates.get(start) as Record<string, unknown>, header, index, `${height}/tx at byte ${start}`);
    if (found.length === 0) continue;
    matches.push(...found);
    needsReceipt.push((found[0] as Match).txid);
  }
  return { header, txCount: froms, matches, needsReceipt };
}

/** Parses the transaction object around the watched `from`/`to` key at `keyAt` into `candidates`
 * (keyed by its offset). False when the object found is not that transaction: parse in full. */
function candidateTransaction(b: Buffer, keyAt: number, address: string, after: number, candidates: Map<number, Record<string, unknown>>): boolean {
  const span = enclosingObject(b, keyAt, after);
  if (span === undefined) return false;
  if (candidates.has(span.start)) return true;
  let tx: unknown;
  try {
    tx = JSON.parse(b.toString('utf8', span.start, span.end));
  } catch {
    return false;
  }
  if (tx === null || typeof tx !== 'object' || Array.isArray(tx)) return false;
  const { hash, from, to } = tx as Record<string, unknown>;
  const sameAddress = (value: unknown): boolean => typeof value === 'string' && value.toLowerCase() === address;
  if (typeof hash !== 'string' || !(sameAddress(from) || sameAddress(to))) return false;
  candidates.set(span.start, tx as Record<string, unknown>);
  return true;
}

/** [start, end) of the innermost JSON object around `at`, in text without escapes (strings are
 * skipped from quote to quote); undefined when there is none after `after`. */
function enclosingObject(b: Buffer, at: number, after: number): { start: number; end: number } | undefined {
  let depth = 0;
  let start = -1;
  for (let i = at - 1; i > after; i -= 1) {
    const c = b[i];
    if (c === QUOTE) {
      i = b.lastIndexOf(QUOTE, i - 1);
      if (i <= after) return undefined;
    } else if (c === 0x7d || c === 0x5d) {
      depth += 1;
    } else if (c === 0x7b || c === 0x5b) {
      if (depth === 0) {
        start = c === 0x7b ? i : -1;
        break;
      }
      depth -= 1;
    }
  }
  if (start === -1) return undefined;
  depth = 0;
  for (let i = start; i < b.length; i += 1) {
    const c = b[i];
    if (c === QUOTE) {
      i = b.indexOf(QUOTE, i + 1);
      if (i === -1) return undefined;
    } else if (c === 0x7b || c === 0x5b) {
      depth += 1;
    } else if ((c === 0x7d || c === 0x5d) && --depth === 0) {
      return { start, end: i + 1 };
    }
  }
  return undefined;
}

/** Number of `"key":"0x<40 hex>"` values after `after`, calling `onHit` for a watched one;
 * −1 when one is malformed or `onHit` says no. */
function scanAddresses(b: Buffer, key: KeyPattern, after: number, index: KeyIndex, nullable: boolean, onHit: (keyAt: number, address: string) => boolean): number {
  let count = 0;
  for (let at = key.next(b, 0); at !== -1; at = key.next(b, at + key.full.length)) {
    if (at < after) return -1;
    const value = skipWhitespace(b, at + key.full.length);
    if (b[value] === QUOTE) {
      if (b[value + 1] !== 0x30 || b[value + 2] !== 0x78 || b[value + 43] !== QUOTE) return -1;
      if (!hexToBytesInto(b, value + 3, 40, scratch, 0)) return -1;
      if (index.hasKey(scratch, 0, 20) && !onHit(at, b.toString('latin1', value + 1, value + 43).toLowerCase())) return -1;
    } else if (!(nullable && b.toString('latin1', value, value + 4) === 'null')) {
      return -1;
    }
    count += 1;
  }
  return count;
}

/** Number of transactions' `"blockHash"` values, −1 unless every one is the block's hash. */
function countBlockHashes(b: Buffer, header: BlockHeaderScan): number {
  const expected = Buffer.from(header.hash, 'latin1');
  let count = 0;
  for (let at = KEY_BLOCK_HASH.next(b, 0); at !== -1; at = KEY_BLOCK_HASH.next(b, at + KEY_BLOCK_HASH.full.length)) {
    const value = skipWhitespace(b, at + KEY_BLOCK_HASH.full.length) + 1;
    if (value + expected.length > b.length || b.compare(expected, 0, expected.length, value, value + expected.length) !== 0) return -1;
    count += 1;
  }
  return count;
}

const KEY_TOPICS = new KeyPattern('topics', 1);
const KEY_REMOVED = new KeyPattern('removed', 2);

/** True when no log of the part is from or to a watched address (topics 1 and 2 of every log,
 * whatever its topic0 or contract: a superset of the Transfer logs), every log is of this block
 * and none is removed. False means "parse in full", not "there is a match". */
function logsHaveNoCandidate(b: Buffer, header: BlockHeaderScan, index: KeyIndex, txCount: number): boolean {
  if (!hasNoEscapes(b) || !transactionIndexesBelow(b, txCount)) return false;
  for (let at = KEY_REMOVED.next(b, 0); at !== -1; at = KEY_REMOVED.next(b, at + KEY_REMOVED.full.length)) {
    if (b[skipWhitespace(b, at + KEY_REMOVED.full.length)] !== 0x66) return false; // not `false`
  }
  let count = 0;
  for (let at = KEY_TOPICS.next(b, 0); at !== -1; at = KEY_TOPICS.next(b, at + KEY_TOPICS.full.length)) {
    if (!topicsHaveNoCandidate(b, skipWhitespace(b, at + KEY_TOPICS.full.length), index)) return false;
    count += 1;
  }
  const first = skipWhitespace(b, 0);
  if (b[first] !== 0x5b) return false;
  const empty = b[skipWhitespace(b, first + 1)] === 0x5d;
  return countBlockHashes(b, header) === count && empty === (count === 0);
}

const KEY_TRANSACTION_INDEX = new KeyPattern('transactionIndex', 3);

/** Every log's transactionIndex names a transaction of the block (false: let the parse say which). */
function transactionIndexesBelow(b: Buffer, txCount: number): boolean {
  for (let at = KEY_TRANSACTION_INDEX.next(b, 0); at !== -1; at = KEY_TRANSACTION_INDEX.next(b, at + KEY_TRANSACTION_INDEX.full.length)) {
    const value = hexValueAt(b, at, KEY_TRANSACTION_INDEX.full.length, 13);
    if (value === undefined || Number.parseInt(value.slice(2), 16) >= txCount) return false;
  }
  return true;
}

/** Reads `["0x<topic0>","0x<topic1>","0x<topic2>"…` at `at`; false on a watched or odd topic. */
function topicsHaveNoCandidate(b: Buffer, at: number, index: KeyIndex): boolean {
  if (b[at] !== 0x5b) return false;
  let next = skipWhitespace(b, at + 1);
  for (let topic = 0; topic < 3 && b[next] !== 0x5d; topic += 1) {
    if (b[next] !== QUOTE || b[next + 1] !== 0x30 || b[next + 2] !== 0x78 || b[next + 67] !== QUOTE) return false;
    // Topics 1 and 2 of a Transfer are addresses left-padded to 32 bytes: the key is the last 20.
    if (topic > 0 && (!hexToBytesInto(b, next + 27, 40, scratch, 0) || index.hasKey(scratch, 0, 20))) return false;
    next = skipWhitespace(b, next + 68);
    if (b[next] === 0x2c) next = skipWhitespace(b, next + 1);
  }
  return true;
}

/** The block parsed in full: used when the fast scan found a candidate or could not decide. */
function scanNativeFull(b: Buffer, index: KeyIndex, height: number): NativeScan {
  const block = parseJson(b, height, 'block') as Record<string, unknown> | null;
  if (block === null || typeof block !== 'object' || Array.isArray(block)) throw malformed(height, 'the block is not a JSON object');
  const header = headerOf(block, height);
  const transactions = block['transactions'];
  if (!Array.isArray(transactions)) throw malformed(height, 'transactions is not an array');
  const matches: Match[] = [];
  const needsReceipt = new Set<string>();
  for (const [position, tx] of transactions.entries()) {
    if (tx === null || typeof tx !== 'object') throw malformed(height, 'transactions are hashes; the block must be fetched with full transactions');
    const found = nativeMatches(tx as Record<string, unknown>, header, index, `${height}/tx ${position}`);
    if (found.length === 0) continue;
    matches.push(...found);
    needsReceipt.add((found[0] as Match).txid);
  }
  return { header, txCount: transactions.length, matches, needsReceipt: [...needsReceipt] };
}

function headerOf(block: Record<string, unknown>, height: number): BlockHeaderScan {
  const { hash, parentHash, number, timestamp } = block;
  if (!isHash(hash) || !isHash(parentHash)) throw malformed(height, 'hash or parentHash is not a 32-byte hex string');
  if (!isQuantity(number) || !isQuantity(timestamp)) throw malformed(height, 'number or timestamp is not a hex quantity');
  return { hash: hash.toLowerCase(), parentHash: parentHash.toLowerCase(), number: Number(BigInt(number)), timestampS: Number(BigInt(timestamp)), transactionsAt: -1 };
}

function nativeMatches(tx: Record<string, unknown>, header: BlockHeaderScan, index: KeyIndex, where: string): Match[] {
  const { hash, from, to, value, blockHash, blockNumber } = tx;
  if (!isHash(hash) || typeof from !== 'string' || !ADDRESS_RE.test(from) || !isQuantity(value)) {
    throw malformed(header.number, `${where}: hash, from or value is malformed`);
  }
  if (to !== null && to !== undefined && (typeof to !== 'string' || !ADDRESS_RE.test(to))) throw malformed(header.number, `${where}: to is malformed`);
  if (blockHash !== undefined && (typeof blockHash !== 'string' || blockHash.toLowerCase() !== header.hash)) {
    throw malformed(header.number, `${where}: blockHash ${String(blockHash)} is not the block's ${header.hash}`);
  }
  if (blockNumber !== undefined && (!isQuantity(blockNumber) || Number(BigInt(blockNumber)) !== header.number)) {
    throw malformed(header.number, `${where}: blockNumber ${String(blockNumber)} is not the block's`);
  }
  const amount = BigInt(value);
  if (amount === 0n) return [];
  const txid = strip0x(hash);
  const matches: Match[] = [];
  if (typeof to === 'string' && isWatched(index, to)) {
    matches.push(credit(txid, -1, 'native', to, amount, from));
  }
  if (isWatched(index, from)) {
    // A contract creation has no recipient; the new contract's address is in the receipt only.
    matches.push(debit(txid, -1, 'native', from, amount, typeof to === 'string' ? checksumAddress(to) : ''));
  }
  return matches;
}

/** Token credits and debits from the block's Transfer logs, checked against the block. */
function decodeTransferLogs(b: Buffer, header: BlockHeaderScan, index: KeyIndex, tokens: ReadonlySet<string>, txCount: number): Match[] {
  const logs = parseJson(b, header.number, 'logs');
  if (!Array.isArray(logs)) throw malformed(header.number, 'logs are not a JSON array');
  const matches: Match[] = [];
  const seen = new Set<bigint>();
  for (const entry of logs) {
    if (entry === null || typeof entry !== 'object') throw malformed(header.number, 'a log is not an object');
    const log = entry as Record<string, unknown>;
    const { address, blockHash, blockNumber, logIndex, transactionHash, transactionIndex } = log;
    if (typeof address !== 'string' || !ADDRESS_RE.test(address) || !isQuantity(logIndex) || !isHash(transactionHash) || !isQuantity(transactionIndex)) {
      throw malformed(header.number, 'a log has a malformed address, logIndex, transactionHash or transactionIndex');
    }
    // Only subscriptions and filters report removed logs; one here describes another block.
    if (log['removed'] === true) continue;
    if (typeof blockHash !== 'string' || blockHash.toLowerCase() !== header.hash || !isQuantity(blockNumber) || Number(BigInt(blockNumber)) !== header.number) {
      throw malformed(header.number, `log ${logIndex} belongs to block ${String(blockNumber)} ${String(blockHash)}, not ${header.hash}`);
    }
    if (BigInt(transactionIndex) >= BigInt(txCount)) {
      throw malformed(header.number, `log ${logIndex} names transaction index ${transactionIndex}; the block has ${txCount} transactions`);
    }
    const position = BigInt(logIndex);
    if (seen.has(position)) throw malformed(header.number, `duplicate log index ${logIndex}`);
    seen.add(position);
    if (!tokens.has(address.toLowerCase())) continue;
    matches.push(...transferMatches(log, address.toLowerCase(), Number(position), strip0x(transactionHash), index));
  }
  return matches;
}

function transferMatches(log: Record<string, unknown>, token: string, position: number, txid: string, index: KeyIndex): Match[] {
  const { topics, data } = log;
  // ERC-721 Transfer has the same topic0 with 4 topics; anything but the ERC-20 shape is not a payment.
  if (!Array.isArray(topics) || topics.length !== 3 || typeof topics[0] !== 'string' || topics[0].toLowerCase() !== TRANSFER_TOPIC) return [];
  if (typeof data !== 'string' || data.length !== 66 || !LOOSE_QUANTITY_RE.test(data)) return [];
  const [, fromTopic, toTopic] = topics as unknown[];
  if (typeof fromTopic !== 'string' || typeof toTopic !== 'string' || !ADDRESS_TOPIC_RE.test(fromTopic) || !ADDRESS_TOPIC_RE.test(toTopic)) return [];
  const from = `0x${fromTopic.slice(26)}`;
  const to = `0x${toTopic.slice(26)}`;
  const amount = BigInt(data);
  const matches: Match[] = [];
  if (isWatched(index, to)) matches.push(credit(txid, position, token, to, amount, from));
  if (isWatched(index, from)) matches.push(debit(txid, position, token, from, amount, checksumAddress(to)));
  return matches;
}

function isWatched(index: KeyIndex, address: string): boolean {
  const text = Buffer.from(address, 'latin1');
  return hexToBytesInto(text, 2, 40, scratch, 0) && index.hasKey(scratch, 0, 20);
}

function credit(txid: string, position: number, asset: string, to: string, amount: bigint, from: string): CreditMatch {
  return { kind: 'credit', txid, position, asset, key: strip0x(to), address: checksumAddress(to), amount, from: checksumAddress(from) };
}

function debit(txid: string, position: number, asset: string, from: string, amount: bigint, to: string): DebitMatch {
  return { kind: 'debit', txid, position, asset, key: strip0x(from), address: checksumAddress(from), amount, to };
}

function parseJson(b: Buffer, height: number, what: string): unknown {
  try {
    return JSON.parse(b.toString('utf8'));
  } catch (error) {
    throw malformed(height, `${what} is not valid JSON (${(error as Error).message})`);
  }
}

function isHash(value: unknown): value is string {
  return typeof value === 'string' && HASH_RE.test(value);
}

function isQuantity(value: unknown): value is string {
  return typeof value === 'string' && LOOSE_QUANTITY_RE.test(value);
}

function malformed(height: number, reason: string): NonRetryableError {
  return new NonRetryableError('evm_malformed_block', `evm block ${height}: ${reason}`, { height });
}
