// Zero-copy parser of consensus-serialized Bitcoin and Litecoin blocks. One pass over the bytes
// records where every transaction, input and output is (offsets into the buffer, in reusable
// typed arrays); nothing is copied, hashed or turned into objects here. The decoder (decode.ts),
// the inspector (inspect.ts) and verification (hash.ts) read the layout afterwards.
//
// Formats handled:
//   legacy tx:  version | vin | vout | locktime
//   segwit tx:  version | 00 | 01 | vin | vout | witnesses | locktime                (BIP144)
//   Litecoin:   version | 00 | flags | vin | vout | [witnesses if flags&1]
//               | [mweb_tx_present(1B) + mweb_tx if flags&8] | locktime           (HogEx: flags&8, present=0)
//   block:      header(80) | tx count | txs | [has_mweb(1B) + mweb block, Litecoin, when the last tx is HogEx]
// Every count read from the data is bounded by the bytes left, and every loop by such a count,
// so corrupted input ends in BlockDecodeError, never in a hang or an out-of-bounds read.
// This file must never allocate per transaction or per output.

import { compactSizeLength, fail, readCompactSize } from './reader.ts';
import { skipMwebBlock, skipMwebTransaction } from './mweb.ts';

export const HEADER_BYTES = 80;
/** Smallest possible serialized sizes, used to bound counts read from the data. */
const TX_BYTES_MIN = 10;
const INPUT_BYTES_MIN = 41;
const OUTPUT_BYTES_MIN = 9;

/** Transaction flags in BlockLayout.txFlags. */
export const TX_SEGWIT = 1;
export const TX_MWEB_DATA = 2;
export const TX_HOGEX = 4;

export interface ParseOptions {
  /** Litecoin: accept the MWEB flag (0x08), the HogEx and the extension block. */
  mweb: boolean;
}

/** Where everything is in one parsed block. Arrays are reused between blocks (they only grow),
 * so a layout is valid until the next parseBlock() into it. Per-tx arrays have txCount + 1
 * entries in use so that tx i's inputs are [txFirstInput[i], txFirstInput[i + 1]). */
export class BlockLayout {
  bytes: Uint8Array = new Uint8Array(0);
  txCount = 0;
  inputCount = 0;
  outputCount = 0;
  /** Offset of the version field. */
  txStart = new Int32Array(256);
  /** Offset of the vin count (after marker and flag for extended transactions). */
  txBodyStart = new Int32Array(256);
  /** Offset just past the last output (start of witnesses / MWEB data / locktime). */
  txBodyEnd = new Int32Array(256);
  /** Offset just past the locktime. */
  txEnd = new Int32Array(256);
  txFlags = new Uint8Array(256);
  txFirstInput = new Int32Array(257);
  txFirstOutput = new Int32Array(257);
  /** Offset of the 32-byte previous txid; the 4-byte previous vout follows it. */
  inputPrevout = new Int32Array(1024);
  /** Offset of the 8-byte little-endian value. */
  outputValueAt = new Int32Array(1024);
  outputScriptAt = new Int32Array(1024);
  outputScriptLength = new Int32Array(1024);
  /** Litecoin extension block: [mwebStart, mwebEnd) holds the mw::Block, -1 when absent. */
  mwebStart = -1;
  mwebEnd = -1;
  /** Height in the MWEB header, -1 when absent. */
  mwebHeight = -1;

  ensureTransactions(count: number): void {
    if (count + 1 <= this.txFirstInput.length) return;
    const capacity = grownCapacity(this.txFirstInput.length, count + 1);
    this.txStart = growInt32(this.txStart, capacity);
    this.txBodyStart = growInt32(this.txBodyStart, capacity);
    this.txBodyEnd = growInt32(this.txBodyEnd, capacity);
    this.txEnd = growInt32(this.txEnd, capacity);
    const flags = new Uint8Array(capacity);
    flags.set(this.txFlags);
    this.txFlags = flags;
    this.txFirstInput = growInt32(this.txFirstInput, capacity);
    this.txFirstOutput = growInt32(this.txFirstOutput, capacity);
  }

  ensureInputs(count: number): void {
    if (count <= this.inputPrevout.length) return;
    this.inputPrevout = growInt32(this.inputPrevout, grownCapacity(this.inputPrevout.length, count));
  }

  ensureOutputs(count: number): void {
    if (count <= this.outputValueAt.length) return;
    const capacity = grownCapacity(this.outputValueAt.length, count);
    this.outputValueAt = growInt32(this.outputValueAt, capacity);
    this.outputScriptAt = growInt32(this.outputScriptAt, capacity);
    this.outputScriptLength = growInt32(this.outputScriptLength, capacity);
  }
}

function grownCapacity(current: number, needed: number): number {
  let capacity = current;
  while (capacity < needed) capacity *= 2;
  return capacity;
}

function growInt32(array: Int32Array, capacity: number): Int32Array<ArrayBuffer> {
  const grown = new Int32Array(capacity);
  grown.set(array);
  return grown;
}

/** Parses the whole block into `layout` and checks that every byte was consumed. */
export function parseBlock(bytes: Uint8Array, options: ParseOptions, layout: BlockLayout = new BlockLayout()): BlockLayout {
  const end = bytes.length;
  if (end < HEADER_BYTES + 1) fail(`truncated: ${end} bytes cannot hold a block header and tx count`, end);
  layout.bytes = bytes;
  layout.inputCount = 0;
  layout.outputCount = 0;
  layout.mwebStart = -1;
  layout.mwebEnd = -1;
  layout.mwebHeight = -1;

  let p = HEADER_BYTES;
  const txCount = readCompactSize(bytes, p, end, 'transaction count');
  p += compactSizeLength(bytes[p] as number);
  if (txCount === 0) fail('block without transactions', HEADER_BYTES);
  if (txCount > (end - p) / TX_BYTES_MIN) fail(`transaction count ${txCount} cannot fit in ${end - p} bytes`, HEADER_BYTES);
  layout.ensureTransactions(txCount);
  layout.txCount = txCount;

  for (let tx = 0; tx < txCount; tx++) p = parseTransaction(bytes, p, end, layout, tx, options.mweb);
  layout.txFirstInput[txCount] = layout.inputCount;
  layout.txFirstOutput[txCount] = layout.outputCount;

  if (options.mweb && txCount >= 2 && ((layout.txFlags[txCount - 1] as number) & TX_HOGEX) !== 0) {
    // CBlock: `if (vtx.size() >= 2 && vtx.back()->IsHogEx()) READWRITE(mweb_block)`, an optional
    // pointer: one presence byte, then the mw::Block when it is 1.
    if (p >= end) fail('truncated: MWEB presence byte missing after the HogEx transaction', p);
    const present = bytes[p] as number;
    if (present > 1) fail(`invalid MWEB presence byte ${present}`, p);
    p += 1;
    if (present === 1) {
      layout.mwebStart = p;
      const heightOut = new Int32Array(1);
      p = skipMwebBlock(bytes, p, end, heightOut);
      layout.mwebEnd = p;
      layout.mwebHeight = heightOut[0] as number;
    }
  }
  if (p !== end) fail(`${end - p} unexpected bytes after the last transaction`, p);
  return layout;
}

/** Records one transaction starting at `p`; returns the offset just past it. */
function parseTransaction(bytes: Uint8Array, p: number, end: number, layout: BlockLayout, tx: number, mweb: boolean): number {
  const start = p;
  if (end - p < TX_BYTES_MIN) fail('truncated transaction', p);
  p += 4; // version
  let flags = 0;
  let bodyStart = p;
  let vinCount = readCompactSize(bytes, p, end, 'input count');
  p += compactSizeLength(bytes[p] as number);
  if (vinCount === 0) {
    // An empty vin is the extended-format marker; the flags byte follows.
    if (p >= end) fail('truncated: transaction flags missing', p);
    flags = bytes[p] as number;
    if (flags === 0 || (mweb ? (flags & ~0x09) !== 0 : flags !== 1)) fail(`unknown transaction flags 0x${flags.toString(16)}`, p);
    p += 1;
    bodyStart = p;
    vinCount = readCompactSize(bytes, p, end, 'input count');
    p += compactSizeLength(bytes[p] as number);
  }
  if (vinCount > (end - p) / INPUT_BYTES_MIN) fail(`input count ${vinCount} cannot fit in the bytes left`, p);

  const firstInput = layout.inputCount;
  layout.ensureInputs(firstInput + vinCount);
  const inputPrevout = layout.inputPrevout;
  for (let i = 0; i < vinCount; i++) {
    if (end - p < INPUT_BYTES_MIN) fail('truncated input', p);
    inputPrevout[firstInput + i] = p;
    p += 36;
    let scriptLength = bytes[p] as number;
    if (scriptLength < 0xfd) p += 1;
    else {
      scriptLength = readCompactSize(bytes, p, end, 'scriptSig length');
      p += compactSizeLength(bytes[p] as number);
    }
    if (scriptLength > end - p - 4) fail('truncated scriptSig', p);
    p += scriptLength + 4; // script, sequence
  }
  layout.inputCount = firstInput + vinCount;

  const voutCount = readCompactSize(bytes, p, end, 'output count');
  p += compactSizeLength(bytes[p] as number);
  if (voutCount > (end - p) / OUTPUT_BYTES_MIN) fail(`output count ${voutCount} cannot fit in the bytes left`, p);
  const firstOutput = layout.outputCount;
  layout.ensureOutputs(firstOutput + voutCount);
  const valueAt = layout.outputValueAt;
  const scriptAt = layout.outputScriptAt;
  const scriptLengths = layout.outputScriptLength;
  for (let o = 0; o < voutCount; o++) {
    if (end - p < OUTPUT_BYTES_MIN) fail('truncated output', p);
    valueAt[firstOutput + o] = p;
    p += 8;
    let scriptLength = bytes[p] as number;
    if (scriptLength < 0xfd) p += 1;
    else {
      scriptLength = readCompactSize(bytes, p, end, 'scriptPubKey length');
      p += compactSizeLength(bytes[p] as number);
    }
    if (scriptLength > end - p) fail('truncated scriptPubKey', p);
    scriptAt[firstOutput + o] = p;
    scriptLengths[firstOutput + o] = scriptLength;
    p += scriptLength;
  }
  layout.outputCount = firstOutput + voutCount;
  const bodyEnd = p;

  let txFlags = 0;
  if ((flags & 1) !== 0) {
    p = skipWitnesses(bytes, p, end, vinCount);
    txFlags |= TX_SEGWIT;
  }
  if ((flags & 8) !== 0) {
    if (p >= end) fail('truncated: MWEB transaction presence byte missing', p);
    const present = bytes[p] as number;
    if (present > 1) fail(`invalid MWEB transaction presence byte ${present}`, p);
    p += 1;
    if (present === 1) {
      p = skipMwebTransaction(bytes, p, end);
      txFlags |= TX_MWEB_DATA;
    } else {
      // Litecoin Core: the MWEB flag with no MWEB transaction marks the HogEx, which must pay out.
      if (voutCount === 0) fail('HogEx transaction without outputs', p - 1);
      txFlags |= TX_HOGEX;
    }
  }
  if (end - p < 4) fail('truncated: locktime missing', p);
  p += 4;

  layout.txStart[tx] = start;
  layout.txBodyStart[tx] = bodyStart;
  layout.txBodyEnd[tx] = bodyEnd;
  layout.txEnd[tx] = p;
  layout.txFlags[tx] = txFlags;
  layout.txFirstInput[tx] = firstInput;
  layout.txFirstOutput[tx] = firstOutput;
  return p;
}

/** Skips one witness stack per input; returns the offset past them. */
function skipWitnesses(bytes: Uint8Array, p: number, end: number, vinCount: number): number {
  let itemsTotal = 0;
  for (let i = 0; i < vinCount; i++) {
    if (p >= end) fail('truncated: witness item count missing', p);
    let items = bytes[p] as number;
    if (items < 0xfd) p += 1;
    else {
      items = readCompactSize(bytes, p, end, 'witness item count');
      p += compactSizeLength(bytes[p] as number);
    }
    if (items > end - p) fail(`witness item count ${items} cannot fit in the bytes left`, p);
    itemsTotal += items;
    for (let k = 0; k < items; k++) {
      if (p >= end) fail('truncated: witness item length missing', p);
      let length = bytes[p] as number;
      if (length < 0xfd) p += 1;
      else {
        length = readCompactSize(bytes, p, end, 'witness item length');
        p += compactSizeLength(bytes[p] as number);
      }
      if (length > end - p) fail('truncated witness item', p);
      p += length;
    }
  }
  // Bitcoin Core: "It's illegal to encode witnesses when all witness stacks are empty."
  if (itemsTotal === 0) fail('superfluous witness record', p);
  return p;
}

/** Header fields (little-endian) without hashing anything. */
export function headerTimestampS(bytes: Uint8Array): number {
  return ((bytes[68] as number) | ((bytes[69] as number) << 8) | ((bytes[70] as number) << 16) | ((bytes[71] as number) << 24)) >>> 0;
}
