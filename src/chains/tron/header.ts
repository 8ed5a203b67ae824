// TRON block headers: reading `block_header.raw_data` from node JSON bytes, its protobuf
// encoding, and the blockID recomputed from it the way java-tron does:
//   blockID = 8-byte big-endian number || sha256(BlockHeader.raw bytes)[8:32]
// Checking the blockID against the header is how Settle knows a block's bytes are the block the
// node names (TRON's counterpart of hashing a Bitcoin header). It costs one sha256 of ~110 bytes.
//
// Runs in decode workers and on the main thread: node:crypto and json-scan only.

import { createHash } from 'node:crypto';
import { NonRetryableError } from '../../errors.ts';
import { HEX_VALUE } from './address.ts';
import { ascii, JsonCursor } from './json-scan.ts';

export interface TronBlockHeader {
  /** blockID as the node printed it (checked against the recomputed one by verifyBlockId). */
  blockId: string;
  number: number;
  parentHash: string;
  timestampMs: number;
  txTrieRoot: string;
  witnessAddress: string;
  witnessId: number;
  version: number;
  accountStateRoot: string;
}

const K_BLOCK_ID = ascii('blockID');
const K_BLOCK_HEADER = ascii('block_header');
const K_RAW_DATA = ascii('raw_data');
const K_NUMBER = ascii('number');
const K_PARENT_HASH = ascii('parentHash');
const K_TIMESTAMP = ascii('timestamp');
const K_TX_TRIE_ROOT = ascii('txTrieRoot');
const K_WITNESS_ADDRESS = ascii('witness_address');
const K_WITNESS_ID = ascii('witness_id');
const K_VERSION = ascii('version');
const K_ACCOUNT_STATE_ROOT = ascii('accountStateRoot');

export { K_BLOCK_ID, K_BLOCK_HEADER };

export function emptyHeader(): TronBlockHeader {
  return { blockId: '', number: 0, parentHash: '', timestampMs: 0, txTrieRoot: '', witnessAddress: '', witnessId: 0, version: 0, accountStateRoot: '' };
}

/** Reads the value of a `blockID` key: 32 bytes of hex. */
export function readBlockId(c: JsonCursor): string {
  return readHex(c, 32, 'blockID');
}

/** Reads the value of a `block_header` key into `into` (fields absent from the JSON stay at their
 * protobuf defaults, which is also what they were on the wire). */
export function readBlockHeaderObject(c: JsonCursor, into: TronBlockHeader): void {
  c.openObject();
  while (c.nextKey()) {
    if (c.is(K_RAW_DATA)) readRawData(c, into);
    else c.skipValue();
  }
}

function readRawData(c: JsonCursor, h: TronBlockHeader): void {
  c.openObject();
  while (c.nextKey()) {
    if (c.is(K_NUMBER)) h.number = c.readSafeInteger();
    else if (c.is(K_PARENT_HASH)) h.parentHash = readHex(c, 32, 'parentHash');
    else if (c.is(K_TIMESTAMP)) h.timestampMs = c.readSafeInteger();
    else if (c.is(K_TX_TRIE_ROOT)) h.txTrieRoot = readHex(c, 32, 'txTrieRoot');
    else if (c.is(K_WITNESS_ADDRESS)) h.witnessAddress = readHex(c, 21, 'witness_address');
    else if (c.is(K_WITNESS_ID)) h.witnessId = c.readSafeInteger();
    else if (c.is(K_VERSION)) h.version = c.readSafeInteger();
    else if (c.is(K_ACCOUNT_STATE_ROOT)) h.accountStateRoot = readHex(c, 32, 'accountStateRoot');
    // A field we cannot encode would make every recomputed blockID wrong; say so plainly.
    else c.fail(`unknown field ${JSON.stringify(c.text())} in block_header.raw_data (cannot recompute the blockID)`);
  }
}

/** Reads a hex string of exactly `bytes` bytes (or empty, the protobuf default) as lower-case hex. */
export function readHex(c: JsonCursor, bytes: number, what: string): string {
  c.readString();
  const length = c.stop - c.start;
  if (length !== 0 && length !== bytes * 2) c.fail(`${what} must be ${bytes * 2} hex digits`);
  for (let i = c.start; i < c.stop; i += 1) if ((HEX_VALUE[c.bytes[i] as number] as number) < 0) c.fail(`${what} is not hex`);
  return c.text().toLowerCase();
}

/** BlockHeader.raw in protobuf, fields in field-number order as java-tron serializes them;
 * default values (0, empty) are omitted, as proto3 does. */
export function encodeBlockHeaderRaw(h: TronBlockHeader): Uint8Array {
  const out: number[] = [];
  varintField(out, 1, h.timestampMs);
  bytesField(out, 2, h.txTrieRoot);
  bytesField(out, 3, h.parentHash);
  varintField(out, 7, h.number);
  varintField(out, 8, h.witnessId);
  bytesField(out, 9, h.witnessAddress);
  varintField(out, 10, h.version);
  bytesField(out, 11, h.accountStateRoot);
  return Uint8Array.from(out);
}

/** The blockID of a header: number (8 bytes, big-endian) || sha256(raw)[8:32], lower-case hex. */
export function computeBlockId(h: TronBlockHeader): string {
  const digest = createHash('sha256').update(encodeBlockHeaderRaw(h)).digest();
  digest.writeUInt32BE(Math.floor(h.number / 2 ** 32), 0);
  digest.writeUInt32BE(h.number >>> 0, 4);
  return digest.toString('hex');
}

/** Throws unless the blockID the node printed is the one its header hashes to. */
export function verifyBlockId(h: TronBlockHeader): void {
  const computed = computeBlockId(h);
  if (computed !== h.blockId) {
    throw new NonRetryableError(
      'tron_block_id_mismatch',
      `block ${h.number}: blockID ${h.blockId} does not match its header (recomputed ${computed})`,
      { height: h.number, blockId: h.blockId, computed },
    );
  }
}

function varintField(out: number[], field: number, value: number): void {
  if (value === 0) return;
  pushVarint(out, field << 3);
  pushVarint(out, value);
}

function bytesField(out: number[], field: number, hex: string): void {
  if (hex.length === 0) return;
  pushVarint(out, (field << 3) | 2);
  pushVarint(out, hex.length / 2);
  for (let i = 0; i < hex.length; i += 2) out.push(((HEX_VALUE[hex.charCodeAt(i)] as number) << 4) | (HEX_VALUE[hex.charCodeAt(i + 1)] as number));
}

/** Unsigned varint of a non-negative safe integer (division, not bit ops: values exceed 2^32). */
export function pushVarint(out: number[], value: number): void {
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}
