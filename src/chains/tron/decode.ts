// TRON block decoder, run in worker threads: the bytes of /wallet/getblockbynum (one block) and
// /wallet/gettransactioninfobyblocknum (its transaction infos) in, the matches against the
// address index out. Nothing is built for transactions that do not touch a watched address:
// the JSON is walked in place (json-scan.ts), addresses are compared as 20 bytes, and strings,
// BigInts and base58 exist only for matches.
//
// What it finds:
//   - TRX: a TransferContract whose to_address is watched → credit (position −1), whose
//     owner_address is watched → debit. Amounts in sun, exact.
//   - TRC-20: a `Transfer(address,address,uint256)` log (3 topics) emitted by a configured token
//     contract, whose `to` topic is watched → credit, whose `from` topic is watched → debit.
//     Logs are read from the transaction infos, so transfers made by contracts (internal calls)
//     are seen too. position = the log's index within the block: the ordinal of the log over all
//     `log[]` entries of all transaction infos of the block, in the node's order (infos in block
//     transaction order, logs in emission order), counted from 0 and counting every log.
//   - A transaction is credited or debited only when it succeeded: ret[0].contractRet is SUCCESS
//     in the block, and its info has neither `result: FAILED` nor a receipt.result other than
//     SUCCESS/DEFAULT.
// Not seen (by design, as on EVM): TRX moved by internal transactions, TRC-10 assets.
//
// Addresses in block JSON are 21-byte hex with the 41 prefix; in logs and topics they are the
// 20-byte body. Index keys are the 20-byte body; the 41 is prepended only to encode `T…`.
//
// Cross-checks: the blockID recomputes from the header, the height is the one asked for, and the
// infos are exactly one per transaction, in block order, with the block's number.

import { NonRetryableError, RetryableError } from '../../errors.ts';
import { partBytes } from '../../scan/buffers.ts';
import type { DecodedBlock, DecodeOptions, Match, RawBlock } from '../../scan/types.ts';
import { bytesToHex, tronAddressFromBody } from './address.ts';
import { readBlockHeaderObject, readBlockId, verifyBlockId } from './header.ts';
import { ascii, JsonCursor, Literal } from './json-scan.ts';
import { BlockScan, BODY_DIGITS, hexInto, PAIR, PAIR_FROM, PAIR_TO, tokensOf, TX_ID_DIGITS, txidAt, type KeyLookup } from './decode-state.ts';
import { readInfos } from './decode-infos.ts';
import { fastPaths } from './fast-paths.ts';

export { fastPaths } from './fast-paths.ts';

export type { KeyLookup } from './decode-state.ts';

const K_BLOCK_ID = ascii('blockID');
const K_BLOCK_HEADER = ascii('block_header');
const K_TRANSACTIONS = ascii('transactions');
const K_TX_ID = ascii('txID');
const K_RET = ascii('ret');
const K_CONTRACT_RET = ascii('contractRet');
const K_RAW_DATA = ascii('raw_data');
const K_CONTRACT = ascii('contract');
const K_TYPE = ascii('type');
const K_PARAMETER = ascii('parameter');
const K_VALUE = ascii('value');
const K_OWNER_ADDRESS = ascii('owner_address');
const K_TO_ADDRESS = ascii('to_address');
const K_AMOUNT = ascii('amount');
const V_SUCCESS = ascii('SUCCESS');
const V_TRANSFER_CONTRACT = ascii('TransferContract');
/** Transactions per block the decoder accepts; mainnet blocks hold a few hundred to ~2,000. */
export const BLOCK_TRANSACTIONS_MAX = 100_000;

export function decodeBlock(raw: RawBlock, index: KeyLookup, options: DecodeOptions): DecodedBlock {
  if (raw.parts.length !== 2) {
    throw new NonRetryableError('tron_raw_block_invalid', `tron raw block ${raw.height} has ${raw.parts.length} parts, expected [block, transactionInfos]`);
  }
  const c = new JsonCursor(partBytes(raw.parts, raw.lengths, 0));
  const decoded = decodeAt(c, raw.height, raw.expectedHash, partBytes(raw.parts, raw.lengths, 1), index, options);
  c.finish();
  return decoded;
}

const K_BLOCK = ascii('block');

/** A /wallet/getblockbylimitnext answer, `{"block":[B1,B2,…]}`, holding raw.count consecutive
 * blocks from raw.height, each read in place (the answer is never cut into copies), with
 * raw.parts[1 + i] the transaction infos of block i. The blocks must be exactly the heights asked
 * for, each linking to the one before; the node leaves out blocks it does not have, which is
 * retryable (the head moved back, or a load balancer asked a node that is behind). */
export function decodeRange(raw: RawBlock, index: KeyLookup, options: DecodeOptions): DecodedBlock[] {
  const count = raw.count ?? 1;
  if (raw.parts.length !== count + 1) {
    throw new NonRetryableError('tron_raw_block_invalid', `tron raw range ${raw.height}+${count} has ${raw.parts.length} parts, expected [range, ${count} transaction infos]`);
  }
  const what = `/wallet/getblockbylimitnext [${raw.height}, ${raw.height + count})`;
  const c = new JsonCursor(partBytes(raw.parts, raw.lengths, 0));
  const out: DecodedBlock[] = [];
  // java-tron answers `{}` when it has none of the blocks.
  c.openObject();
  while (c.nextKey()) {
    if (!c.is(K_BLOCK)) {
      c.skipValue();
      continue;
    }
    c.openArray();
    while (c.nextItem()) {
      if (out.length === count) c.fail(`${what}: more than the ${count} blocks asked for`);
      const block = decodeAt(c, raw.height + out.length, undefined, partBytes(raw.parts, raw.lengths, out.length + 1), index, options);
      const previous = out[out.length - 1];
      if (previous !== undefined && block.parentHash !== previous.hash) {
        // Read while the node switched branches: the next attempt reads one branch whole.
        throw new RetryableError('tron_blocks_unlinked', `${what}: block ${block.height} (parent ${block.parentHash}) does not follow block ${previous.height} (${previous.hash})`, { height: block.height });
      }
      out.push(block);
    }
  }
  c.finish();
  if (out.length !== count) {
    throw new RetryableError('tron_block_unavailable', `${what}: the node has ${out.length} of the ${count} blocks (beyond its head?)`, { height: raw.height + out.length });
  }
  return out;
}

/** The block object at the cursor, its infos and its matches; the cursor ends after the object. */
function decodeAt(c: JsonCursor, height: number, expectedHash: string | undefined, infoBytes: Uint8Array, index: KeyLookup, options: DecodeOptions): DecodedBlock {
  const scan = new BlockScan(c, index, tokensOf(options));
  readBlock(scan);
  const h = scan.header;
  if (h.number !== height) {
    throw new NonRetryableError('tron_block_height_mismatch', `asked for tron block ${height}, the node sent block ${h.number}`);
  }
  if (expectedHash !== undefined && expectedHash !== h.blockId) {
    throw new RetryableError('tron_block_hash_mismatch', `tron block ${height}: expected ${expectedHash}, got ${h.blockId}`);
  }
  readInfos(scan, new JsonCursor(infoBytes));

  const matches: Match[] = [];
  for (const { tx, match } of scan.native) if (scan.txFailedInInfo[tx] !== true) matches.push(match);
  for (const match of scan.tokenMatches) matches.push(match);
  return {
    height: h.number,
    hash: h.blockId,
    parentHash: h.parentHash,
    timestampS: Math.floor(h.timestampMs / 1000),
    txCount: scan.txIdStarts.length,
    matches,
  };
}

/** One block object; the cursor ends right after it. */
function readBlock(s: BlockScan): void {
  const c = s.block;
  let hasHeader = false;
  c.openObject();
  while (c.nextKey()) {
    if (c.is(K_BLOCK_ID)) s.header.blockId = readBlockId(c);
    else if (c.is(K_BLOCK_HEADER)) {
      readBlockHeaderObject(c, s.header);
      hasHeader = true;
    } else if (c.is(K_TRANSACTIONS)) readTransactions(s);
    else c.skipValue();
  }
  if (s.header.blockId === '' || !hasHeader) c.fail('block without blockID or block_header');
  verifyBlockId(s.header);
}

function readTransactions(s: BlockScan): void {
  const c = s.block;
  c.openArray();
  while (c.nextItem()) {
    if (s.txIdStarts.length === BLOCK_TRANSACTIONS_MAX) c.fail(`more than ${BLOCK_TRANSACTIONS_MAX} transactions in one block`);
    const start = c.pos;
    if (fastPaths.enabled && readTransactionFast(s)) {
      fastPaths.taken += 1;
      continue;
    }
    c.pos = start;
    readTransaction(s);
  }
}


// The shape java-tron prints a transaction in (compact, keys in this order):
//   {"ret":[{"contractRet":"…"}],"signature":["…"…],"txID":"…","raw_data":{"contract":[{"parameter":
//   {"value":{…},"type_url":"…"},"type":"…"}],"ref_block_bytes":"…","ref_block_hash":"…",
//   "expiration":…[,"fee_limit":…],"timestamp":…},"raw_data_hex":"…"}
// matched piece by piece (JsonCursor.lit/str/digits: 4 bytes per comparison, memchr for strings)
// instead of key by key; the contract's value object is read the general way. Anything else —
// another key order, whitespace, an escape, an extra key — makes it return false, and the
// general reader starts over on the same transaction. Nothing is recorded before the end.
const L_TX_HEAD = new Literal('{"ret":[{"contractRet":');
const L_TX_SIGNATURE = new Literal('}],"signature":[');
const L_TX_ID = new Literal('],"txID":');
const L_TX_VALUE = new Literal(',"raw_data":{"contract":[{"parameter":{"value":');
const L_TX_TYPE_URL = new Literal(',"type_url":');
const L_TX_TYPE = new Literal('},"type":');
const L_TX_CONTRACT_END = new Literal('}]');
const L_TX_REF_BYTES = new Literal(',"ref_block_bytes":');
const L_TX_REF_HASH = new Literal(',"ref_block_hash":');
const L_TX_EXPIRATION = new Literal(',"expiration":');
const L_TX_FEE_LIMIT = new Literal(',"fee_limit":');
const L_TX_TIMESTAMP = new Literal(',"timestamp":');
const COMMA = 0x2c;
const RBRACKET = 0x5d;
const RBRACE = 0x7d;
const L_TX_RAW_HEX = new Literal(',"raw_data_hex":');

function readTransactionFast(s: BlockScan): boolean {
  const c = s.block;
  if (!c.lit(L_TX_HEAD) || !c.str()) return false;
  const succeeded = c.is(V_SUCCESS);
  if (!c.lit(L_TX_SIGNATURE) || !c.str()) return false;
  while (c.char(COMMA)) if (!c.str()) return false;
  if (!c.lit(L_TX_ID) || !c.str() || c.stop - c.start !== TX_ID_DIGITS) return false;
  const txIdStart = c.start;
  if (!c.lit(L_TX_VALUE)) return false;
  if (!readContractValueFast(c)) readContractValue(c);
  if (!c.lit(L_TX_TYPE_URL) || !c.str() || !c.lit(L_TX_TYPE) || !c.str()) return false;
  const transfer = c.is(V_TRANSFER_CONTRACT);
  if (!c.lit(L_TX_CONTRACT_END)) return false;
  // The rest of raw_data is not needed: its usual keys are matched, anything else skipped.
  const fixed = c.lit(L_TX_REF_BYTES) && c.str() && c.lit(L_TX_REF_HASH) && c.str() && c.lit(L_TX_EXPIRATION) && c.digits() && (!c.lit(L_TX_FEE_LIMIT) || c.digits()) && c.lit(L_TX_TIMESTAMP) && c.digits() && c.char(RBRACE);
  if (!fixed) return false;
  if (!c.lit(L_TX_RAW_HEX) || !c.str() || !c.char(RBRACE)) return false;
  const tx = s.txIdStarts.length;
  s.txIdStarts.push(txIdStart);
  s.txSucceeded.push(succeeded);
  if (transfer && succeeded && value.amountStart >= 0) matchTransfer(s, tx, txIdStart, value.ownerStart, value.toStart, value.amountStart, value.amountStop);
  return true;
}

// The two value shapes of nearly every transaction: a TRC-20 call and a TRX transfer.
const L_VALUE_DATA = new Literal('{"data":');
const L_VALUE_OWNER = new Literal(',"owner_address":');
const L_VALUE_CONTRACT = new Literal(',"contract_address":');
const L_VALUE_AMOUNT = new Literal('{"amount":');
const L_VALUE_TO = new Literal(',"to_address":');

/** readContractValue() for {"data","owner_address","contract_address"} and
 * {"amount","owner_address","to_address"} exactly; false (not moved) for anything else. */
function readContractValueFast(c: JsonCursor): boolean {
  const start = c.pos;
  value.ownerStart = -1;
  value.toStart = -1;
  value.amountStart = -1;
  value.amountStop = -1;
  if (c.lit(L_VALUE_DATA)) {
    if (c.str() && c.lit(L_VALUE_OWNER) && fastAddress(c)) {
      const ownerStart = c.start + 2;
      if (c.lit(L_VALUE_CONTRACT) && c.str() && c.char(RBRACE)) {
        value.ownerStart = ownerStart;
        return true;
      }
    }
  } else if (c.lit(L_VALUE_AMOUNT) && c.digits()) {
    const amountStart = c.start;
    const amountStop = c.stop;
    if (c.lit(L_VALUE_OWNER) && fastAddress(c)) {
      const ownerStart = c.start + 2;
      if (c.lit(L_VALUE_TO) && fastAddress(c) && c.char(RBRACE)) {
        value.ownerStart = ownerStart;
        value.toStart = c.start + 2;
        value.amountStart = amountStart;
        value.amountStop = amountStop;
        return true;
      }
    }
  }
  c.pos = start;
  return false;
}

/** A string that readAddressString() accepts: 42 characters starting with 41 (its start in start). */
function fastAddress(c: JsonCursor): boolean {
  return c.str() && c.stop - c.start === BODY_DIGITS + 2 && c.bytes[c.start] === 0x34 && c.bytes[c.start + 1] === 0x31;
}

/** What readContractValue found: where owner_address, to_address and amount are (-1: absent). */
const value = { ownerStart: -1, toStart: -1, amountStart: -1, amountStop: -1 };

/** A contract's parameter.value object (TransferContract: owner_address, to_address, amount). */
function readContractValue(c: JsonCursor): void {
  value.ownerStart = -1;
  value.toStart = -1;
  value.amountStart = -1;
  value.amountStop = -1;
  c.openObject();
  while (c.nextKey()) {
    if (c.is(K_OWNER_ADDRESS)) value.ownerStart = readAddressString(c);
    else if (c.is(K_TO_ADDRESS)) value.toStart = readAddressString(c);
    else if (c.is(K_AMOUNT)) {
      c.readDigits();
      value.amountStart = c.start;
      value.amountStop = c.stop;
    } else c.skipValue();
  }
}

/** One transaction object. Keys come in any order, so what a contract says is held in locals
 * until the object ends and the txID and result are known. */
function readTransaction(s: BlockScan): void {
  const c = s.block;
  let txIdStart = -1;
  let succeeded = false;
  let contracts = 0;
  let transfer = false;
  let ownerStart = -1;
  let toStart = -1;
  let amountStart = -1;
  let amountStop = -1;
  c.openObject();
  while (c.nextKey()) {
    if (c.is(K_TX_ID)) {
      c.readString();
      if (c.stop - c.start !== TX_ID_DIGITS) c.fail('txID must be 64 hex digits');
      txIdStart = c.start;
    } else if (c.is(K_RET)) {
      succeeded = readRet(c);
    } else if (c.is(K_RAW_DATA)) {
      c.openObject();
      while (c.nextKey()) {
        if (!c.is(K_CONTRACT)) {
          c.skipValue();
          continue;
        }
        c.openArray();
        while (c.nextItem()) {
          contracts += 1;
          let seen = 0;
          c.openObject();
          while (c.nextKey()) {
            if (c.is(K_TYPE)) {
              c.readString();
              transfer = c.is(V_TRANSFER_CONTRACT);
              seen |= 1;
            } else if (c.is(K_PARAMETER)) {
              seen |= 2;
              c.openObject();
              while (c.nextKey()) {
                if (!c.is(K_VALUE)) {
                  c.skipValue();
                  continue;
                }
                readContractValue(c);
                ownerStart = value.ownerStart;
                toStart = value.toStart;
                amountStart = value.amountStart;
                amountStop = value.amountStop;
              }
            } else c.skipValue();
            if (seen === 3) {
              c.skipRestOfObject();
              break;
            }
          }
        }
        // The rest of raw_data (ref_block_*, expiration, fee_limit, timestamp…) is not needed.
        c.skipRestOfObject();
        break;
      }
    } else c.skipValue();
  }
  if (txIdStart < 0) c.fail('transaction without txID');
  // java-tron refuses transactions with other than one contract; a block holding one is not TRON.
  if (contracts !== 1) c.fail(`transaction with ${contracts} contracts (TRON allows exactly one)`);
  const tx = s.txIdStarts.length;
  s.txIdStarts.push(txIdStart);
  s.txSucceeded.push(succeeded);
  if (transfer && succeeded && amountStart >= 0) matchTransfer(s, tx, txIdStart, ownerStart, toStart, amountStart, amountStop);
}

/** ret[0].contractRet === SUCCESS; the other elements (never present in practice) are skipped. */
function readRet(c: JsonCursor): boolean {
  let succeeded = false;
  let first = true;
  c.openArray();
  while (c.nextItem()) {
    if (!first) {
      c.skipValue();
      continue;
    }
    first = false;
    c.openObject();
    while (c.nextKey()) {
      if (c.is(K_CONTRACT_RET)) {
        c.readString();
        succeeded = c.is(V_SUCCESS);
      } else c.skipValue();
    }
  }
  return succeeded;
}

/** A 21-byte `41…` hex address from block JSON; returns where its 20-byte body starts. */
function readAddressString(c: JsonCursor): number {
  c.readString();
  if (c.stop - c.start !== BODY_DIGITS + 2 || c.bytes[c.start] !== 0x34 || c.bytes[c.start + 1] !== 0x31) {
    c.fail('an address in block JSON must be 42 hex digits starting with 41');
  }
  return c.start + 2;
}

function matchTransfer(s: BlockScan, tx: number, txIdStart: number, ownerStart: number, toStart: number, amountStart: number, amountStop: number): void {
  const c = s.block;
  if (ownerStart < 0 || toStart < 0) c.fail('TransferContract without owner_address or to_address');
  if (!hexInto(c.bytes, toStart, BODY_DIGITS, PAIR, PAIR_TO) || !hexInto(c.bytes, ownerStart, BODY_DIGITS, PAIR, PAIR_FROM)) c.fail('address is not hex');
  const toWatched = s.index.hasKey(PAIR, PAIR_TO, 20);
  const ownerWatched = s.index.hasKey(PAIR, PAIR_FROM, 20);
  if (!toWatched && !ownerWatched) return;
  const to = PAIR.slice(PAIR_TO, PAIR_TO + 20);
  const owner = PAIR.slice(PAIR_FROM, PAIR_FROM + 20);
  const amount = c.digitsToBigInt(amountStart, amountStop);
  if (amount === 0n) return;
  const txid = txidAt(c, txIdStart);
  const toAddress = tronAddressFromBody(to);
  const ownerAddress = tronAddressFromBody(owner);
  if (toWatched) {
    s.native.push({ tx, match: { kind: 'credit', txid, position: -1, asset: 'native', key: bytesToHex(to), address: toAddress, amount, from: ownerAddress } });
  }
  if (ownerWatched) {
    s.native.push({ tx, match: { kind: 'debit', txid, position: -1, asset: 'native', key: bytesToHex(owner), address: ownerAddress, amount, to: toAddress } });
  }
}

