// The transaction-info half of the TRON decoder: the infos must be one per transaction of the
// block, in its order, of its height; TRC-20 Transfer logs of configured tokens touching a watched
// address become matches, unless the transaction failed. See decode.ts for the rules.

import { RetryableError } from '../../errors.ts';
import type { CreditMatch, DebitMatch } from '../../scan/types.ts';
import { bytesToHex, HEX_VALUE, tronAddressFromBody } from './address.ts';
import { BODY_DIGITS, PAIR, PAIR_FROM, PAIR_TO, sameDigits, tokenIndex, topicAddressInto, TOPIC_DIGITS, TX_ID_DIGITS, txidAt, viewOf, type BlockScan } from './decode-state.ts';
import { ascii, latin1, Literal, type JsonCursor } from './json-scan.ts';
import { fastPaths } from './fast-paths.ts';

const K_ID = ascii('id');
const K_BLOCK_NUMBER = ascii('blockNumber');
const K_RESULT = ascii('result');
const K_RECEIPT = ascii('receipt');
const K_LOG = ascii('log');
const K_ADDRESS = ascii('address');
const K_TOPICS = ascii('topics');
const K_DATA = ascii('data');
const V_SUCCESS = ascii('SUCCESS');
const V_SUCESS = ascii('SUCESS'); // TransactionInfo.code's success value, spelled so in Tron.proto
const V_DEFAULT = ascii('DEFAULT');
/** keccak256("Transfer(address,address,uint256)") */
const TRANSFER_TOPIC = viewOf(ascii('ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef'));

export function readInfos(s: BlockScan, c: JsonCursor): void {
  s.infosView = viewOf(c.bytes);
  const txCount = s.txIdStarts.length;
  let extra = false;
  // java-tron answers `{}` instead of `[]` for block 0 (its servlet only serves num > 0).
  if (c.peek() === 0x7b) {
    c.openObject();
    if (c.nextKey()) c.fail('expected an array of transaction infos');
  } else {
    c.openArray();
    while (c.nextItem()) {
      if (s.txFailedInInfo.length === txCount) {
        extra = true;
        break;
      }
      const start = c.pos;
      const tx = s.txFailedInInfo.length;
      const matchesBefore = s.tokenMatches.length;
      const logsBefore = s.logOrdinal;
      if (fastPaths.enabled && readInfoFast(s, c, tx)) {
        fastPaths.taken += 1;
        continue;
      }
      // Start over on this info with the general reader: nothing of the attempt is kept.
      c.pos = start;
      s.tokenMatches.length = matchesBefore;
      s.logOrdinal = logsBefore;
      readInfo(s, c, tx);
    }
  }
  const infos = s.txFailedInInfo.length;
  if (extra || infos !== txCount) {
    throw new RetryableError(
      'tron_infos_incomplete',
      `tron block ${s.header.number}: ${txCount} transactions but ${extra ? 'more' : infos} transaction infos ` +
        '(a node with storage.transHistory.switch off answers [], a load balancer may ask a node that has not stored the block yet)',
    );
  }
  c.finish();
}

function readInfo(s: BlockScan, c: JsonCursor, tx: number): void {
  let idStart = -1;
  let failed = false;
  const first = s.tokenMatches.length;
  c.openObject();
  while (c.nextKey()) {
    if (c.is(K_ID)) {
      c.readString();
      if (c.stop - c.start !== TX_ID_DIGITS) c.fail('transaction info id must be 64 hex digits');
      idStart = c.start;
    } else if (c.is(K_BLOCK_NUMBER)) {
      const number = c.readSafeInteger();
      if (number !== s.header.number) {
        throw new RetryableError('tron_infos_mismatch', `tron block ${s.header.number}: a transaction info says block ${number}`);
      }
    } else if (c.is(K_RESULT)) {
      c.readString();
      if (!c.is(V_SUCESS) && !c.is(V_SUCCESS)) failed = true;
    } else if (c.is(K_RECEIPT)) {
      if (readReceiptFailed(c)) failed = true;
    } else if (c.is(K_LOG)) {
      c.openArray();
      while (c.nextItem()) readLog(s, c);
    } else c.skipValue();
  }
  if (idStart < 0) c.fail('transaction info without id');
  finishInfo(s, c, tx, idStart, failed, first);
}

/** receipt.result is other than SUCCESS or DEFAULT (the transaction failed). */
function readReceiptFailed(c: JsonCursor): boolean {
  c.openObject();
  while (c.nextKey()) {
    if (!c.is(K_RESULT)) {
      c.skipValue();
      continue;
    }
    c.readString();
    const failed = !c.is(V_SUCCESS) && !c.is(V_DEFAULT);
    c.skipRestOfObject();
    return failed;
  }
  return false;
}

/** What an info says, once read: its id matches the block's transaction, its matches stand or go. */
function finishInfo(s: BlockScan, c: JsonCursor, tx: number, idStart: number, failed: boolean, first: number): void {
  if (!sameDigits(s.infosView, idStart, s.blockView, s.txIdStarts[tx] as number, TX_ID_DIGITS)) {
    throw new RetryableError(
      'tron_infos_mismatch',
      `tron block ${s.header.number}: transaction info ${tx} is for ${latin1(c.bytes, idStart, idStart + TX_ID_DIGITS)}, ` +
        `the block's transaction ${tx} is ${latin1(s.block.bytes, s.txIdStarts[tx] as number, (s.txIdStarts[tx] as number) + TX_ID_DIGITS)} (answers from two different blocks?)`,
    );
  }
  s.txFailedInInfo.push(failed);
  if (failed || s.txSucceeded[tx] !== true) {
    s.tokenMatches.length = first;
    return;
  }
  if (s.tokenMatches.length > first) {
    const txid = txidAt(c, idStart);
    for (let i = first; i < s.tokenMatches.length; i += 1) (s.tokenMatches[i] as CreditMatch | DebitMatch).txid = txid;
  }
}

// The shape java-tron prints a TransactionInfo in (compact, protobuf field order):
//   {"id":"…"[,"fee":…],"blockNumber":…,"blockTimeStamp":…[,"contractResult":["…"…]]
//   [,"contract_address":"…"][,"receipt":{…}][,"log":[{"address":"…","topics":[…],"data":"…"}…]]}
// (data before topics is taken too), matched piece by piece; the receipt object is read the
// general way. Anything else (result/resMessage of a failed transaction, internal transactions,
// another order, whitespace, escapes) returns false and the general reader starts over.
const L_INFO_ID = new Literal('{"id":');
const L_INFO_FEE = new Literal(',"fee":');
const L_INFO_BLOCK_NUMBER = new Literal(',"blockNumber":');
const L_INFO_BLOCK_TIME = new Literal(',"blockTimeStamp":');
const L_INFO_CONTRACT_RESULT = new Literal(',"contractResult":[');
const L_INFO_CONTRACT_ADDRESS = new Literal(',"contract_address":');
const L_INFO_RECEIPT = new Literal(',"receipt":');
const L_INFO_LOG = new Literal(',"log":[');
const L_LOG_ADDRESS = new Literal('{"address":');
const L_LOG_TOPICS = new Literal(',"topics":[');
const L_LOG_DATA = new Literal(',"data":');
const COMMA = 0x2c;
const RBRACKET = 0x5d;
const RBRACE = 0x7d;

function readInfoFast(s: BlockScan, c: JsonCursor, tx: number): boolean {
  const first = s.tokenMatches.length;
  if (!c.lit(L_INFO_ID) || !c.str() || c.stop - c.start !== TX_ID_DIGITS) return false;
  const idStart = c.start;
  if (c.lit(L_INFO_FEE) && !c.digits()) return false;
  if (!c.lit(L_INFO_BLOCK_NUMBER) || !c.digits()) return false;
  const number = c.digitsValue();
  if (number < 0) return false;
  if (number !== s.header.number) throw new RetryableError('tron_infos_mismatch', `tron block ${s.header.number}: a transaction info says block ${number}`);
  if (!c.lit(L_INFO_BLOCK_TIME) || !c.digits()) return false;
  if (c.lit(L_INFO_CONTRACT_RESULT)) {
    if (!c.char(RBRACKET)) {
      if (!c.str()) return false;
      while (c.char(COMMA)) if (!c.str()) return false;
      if (!c.char(RBRACKET)) return false;
    }
  }
  if (c.lit(L_INFO_CONTRACT_ADDRESS) && !c.str()) return false;
  let failed = false;
  if (c.lit(L_INFO_RECEIPT)) {
    const receipt = readReceiptFast(c);
    if (receipt < 0) return false;
    failed = receipt === 1;
  }
  if (c.lit(L_INFO_LOG) && !c.char(RBRACKET)) {
    do if (!readLogFast(s, c)) return false;
    while (c.char(COMMA));
    if (!c.char(RBRACKET)) return false;
  }
  if (!c.char(RBRACE)) return false;
  finishInfo(s, c, tx, idStart, failed, first);
  return true;
}

// A ResourceReceipt: numbers in protobuf field order, result (a string) between net_fee and
// energy_penalty_total; every field optional.
const RECEIPT_NUMBERS_BEFORE = ['energy_usage', 'energy_fee', 'origin_energy_usage', 'energy_usage_total', 'net_usage', 'net_fee'].map((key) => [new Literal(`"${key}":`), new Literal(`,"${key}":`)] as const);
const RECEIPT_RESULT = [new Literal('"result":'), new Literal(',"result":')] as const;
const RECEIPT_PENALTY = [new Literal('"energy_penalty_total":'), new Literal(',"energy_penalty_total":')] as const;
const LBRACE = 0x7b;

/** readReceiptFailed() for receipts of exactly that shape: 1 failed, 0 not, -1 another shape. */
function readReceiptFast(c: JsonCursor): number {
  if (!c.char(LBRACE)) return -1;
  let first = true;
  for (const field of RECEIPT_NUMBERS_BEFORE) {
    if (!c.lit(field[first ? 0 : 1])) continue;
    if (!c.digits()) return -1;
    first = false;
  }
  let failed = 0;
  if (c.lit(RECEIPT_RESULT[first ? 0 : 1])) {
    if (!c.str()) return -1;
    failed = c.is(V_SUCCESS) || c.is(V_DEFAULT) ? 0 : 1;
    first = false;
  }
  if (c.lit(RECEIPT_PENALTY[first ? 0 : 1]) && !c.digits()) return -1;
  return c.char(RBRACE) ? failed : -1;
}

function readLogFast(s: BlockScan, c: JsonCursor): boolean {
  if (!c.lit(L_LOG_ADDRESS) || !c.str()) return false;
  const addressStart = c.stop - c.start === BODY_DIGITS ? c.start : -1;
  let dataStart = -1;
  let dataStop = -1;
  if (c.lit(L_LOG_DATA)) {
    if (!c.str()) return false;
    dataStart = c.start;
    dataStop = c.stop;
  }
  if (!c.lit(L_LOG_TOPICS)) return false;
  let topics = 0;
  let topic0 = -1;
  let topic1 = -1;
  let topic2 = -1;
  if (!c.char(RBRACKET)) {
    do {
      if (!c.str() || c.stop - c.start !== TOPIC_DIGITS) return false;
      if (topics === 0) topic0 = c.start;
      else if (topics === 1) topic1 = c.start;
      else if (topics === 2) topic2 = c.start;
      topics += 1;
    } while (c.char(COMMA));
    if (!c.char(RBRACKET)) return false;
  }
  if (dataStart < 0) {
    if (!c.lit(L_LOG_DATA) || !c.str()) return false;
    dataStart = c.start;
    dataStop = c.stop;
  }
  // An empty topics list is read the general way (the general reader skips such a log's rest
  // differently); so is anything after data.
  if (topics === 0 || !c.char(RBRACE)) return false;
  const position = s.logOrdinal;
  s.logOrdinal += 1;
  matchLog(s, c, position, addressStart, topics, topic0, topic1, topic2, dataStart, dataStop);
  return true;
}

/** One log: a Transfer of a configured token touching a watched address becomes a match (its txid
 * is filled in when the info ends, since `id` may come after `log`). */
function readLog(s: BlockScan, c: JsonCursor): void {
  const position = s.logOrdinal;
  s.logOrdinal += 1;
  let addressStart = -1;
  let topics = 0;
  let topic0 = -1;
  let topic1 = -1;
  let topic2 = -1;
  let dataStart = -1;
  let dataStop = -1;
  c.openObject();
  while (c.nextKey()) {
    if (c.is(K_ADDRESS)) {
      c.readString();
      if (c.stop - c.start === BODY_DIGITS) addressStart = c.start;
    } else if (c.is(K_TOPICS)) {
      c.openArray();
      while (c.nextItem()) {
        c.readString();
        if (c.stop - c.start !== TOPIC_DIGITS) c.fail('a log topic must be 64 hex digits');
        if (topics === 0) topic0 = c.start;
        else if (topics === 1) topic1 = c.start;
        else if (topics === 2) topic2 = c.start;
        topics += 1;
      }
    } else if (c.is(K_DATA)) {
      c.readString();
      dataStart = c.start;
      dataStop = c.stop;
    } else c.skipValue();
    if (addressStart >= 0 && topics > 0 && dataStart >= 0) {
      c.skipRestOfObject();
      break;
    }
  }
  matchLog(s, c, position, addressStart, topics, topic0, topic1, topic2, dataStart, dataStop);
}

/** A log read: the match it makes, if it is a configured token's Transfer touching a watched address. */
function matchLog(s: BlockScan, c: JsonCursor, position: number, addressStart: number, topics: number, topic0: number, topic1: number, topic2: number, dataStart: number, dataStop: number): void {
  // The token first: most logs of a block are someone else's, and that shows in the first bytes.
  if (addressStart < 0 || topics !== 3) return;
  const token = tokenIndex(s, s.infosView, addressStart);
  if (token < 0 || !sameDigits(s.infosView, topic0, TRANSFER_TOPIC, 0, TOPIC_DIGITS)) return;
  if (!topicAddressInto(c.bytes, topic1, PAIR, PAIR_FROM) || !topicAddressInto(c.bytes, topic2, PAIR, PAIR_TO)) c.fail('a Transfer topic is not a 20-byte address');
  const toWatched = s.index.hasKey(PAIR, PAIR_TO, 20);
  const fromWatched = s.index.hasKey(PAIR, PAIR_FROM, 20);
  if (!toWatched && !fromWatched) return;
  const to = PAIR.slice(PAIR_TO, PAIR_TO + 20);
  const from = PAIR.slice(PAIR_FROM, PAIR_FROM + 20);
  if (dataStop - dataStart !== 64) c.fail('Transfer data must be one 32-byte word');
  for (let i = dataStart; i < dataStop; i += 1) if ((HEX_VALUE[c.bytes[i] as number] as number) < 0) c.fail('Transfer data is not hex');
  const amount = BigInt(`0x${latin1(c.bytes, dataStart, dataStop)}`);
  if (amount === 0n) return;
  const asset = s.tokens.addresses[token] as string;
  const toAddress = tronAddressFromBody(to);
  const fromAddress = tronAddressFromBody(from);
  if (toWatched) {
    s.tokenMatches.push({ kind: 'credit', txid: '', position, asset, key: bytesToHex(to), address: toAddress, amount, from: fromAddress });
  }
  if (fromWatched) {
    s.tokenMatches.push({ kind: 'debit', txid: '', position, asset, key: bytesToHex(from), address: fromAddress, amount, to: toAddress });
  }
}

