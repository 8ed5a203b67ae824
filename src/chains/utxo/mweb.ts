// Skips Litecoin MWEB structures byte-exactly without interpreting them (MWEB outputs are
// confidential; Settle watches canonical outputs only, including HogEx pegouts). Layouts from
// Litecoin Core (litecoin-project/litecoin, src/libmw/include/mw/models/...):
//
//   mw::Block       = Header | TxBody
//   Header          = VARINT height | output_root(32) | kernel_root(32) | leafset_root(32)
//                     | kernel_offset(32) | stealth_offset(32) | VARINT output_mmr_size | VARINT kernel_mmr_size
//   mw::Transaction = kernel_offset(32) | stealth_offset(32) | TxBody     (at least one kernel)
//   TxBody          = vector<Input> | vector<Output> | vector<Kernel>     (CompactSize counts)
//   Input           = features(1) | output_id(32) | commitment(33) | output_pubkey(33)
//                     | [input_pubkey(33) if features&1] | [extra_data (vector) if features&2] | signature(64)
//   Output          = commitment(33) | sender_pubkey(33) | receiver_pubkey(33)
//                     | message: features(1) | [key_exchange_pubkey(33) view_tag(1) masked_value(8)
//                       masked_nonce(16) if features&1] | [extra_data (vector) if features&2]
//                     | range_proof(675) | signature(64)
//   Kernel          = features(1) | [VARINT fee if &1] | [VARINT pegin if &2] | [vector<PegOutCoin> if &4]
//                     | [VARINT lock_height if &8] | [stealth_excess(33) if &0x10] | [extra_data if &0x20]
//                     | excess(33) | signature(64)
//   PegOutCoin      = VARINT amount | scriptPubKey (CompactSize length, non-empty)
// VARINT is Bitcoin Core's base-128 VARINT, not CompactSize.

import { compactSizeLength, fail, readCompactSize, readVarInt } from './reader.ts';

const HASH = 32;
const COMMITMENT = 33;
const PUBKEY = 33;
const SIGNATURE = 64;
const RANGE_PROOF = 675;
const INT32_MAX = 0x7fff_ffff;
const INT64_MAX = 2 ** 63 - 1;
const UINT64_MAX = 2 ** 64 - 1;

/** Smallest serialized sizes, to bound counts read from the data. */
const INPUT_BYTES_MIN = 1 + HASH + COMMITMENT + PUBKEY + SIGNATURE;
const OUTPUT_BYTES_MIN = COMMITMENT + 2 * PUBKEY + 1 + RANGE_PROOF + SIGNATURE;
const KERNEL_BYTES_MIN = 1 + COMMITMENT + SIGNATURE;
const PEGOUT_BYTES_MIN = 3;

const varIntLength = new Int32Array(1);

function need(p: number, end: number, length: number, what: string): void {
  if (length > end - p) fail(`truncated MWEB ${what}`, p);
}

function varInt(bytes: Uint8Array, p: number, end: number, max: number, what: string): [value: number, next: number] {
  const value = readVarInt(bytes, p, end, max, what, varIntLength);
  return [value, p + (varIntLength[0] as number)];
}

function count(bytes: Uint8Array, p: number, end: number, itemBytesMin: number, what: string): [value: number, next: number] {
  const value = readCompactSize(bytes, p, end, `${what} count`);
  const next = p + compactSizeLength(bytes[p] as number);
  if (value > (end - next) / itemBytesMin) fail(`MWEB ${what} count ${value} cannot fit in the bytes left`, p);
  return [value, next];
}

/** A CompactSize-prefixed byte vector (extra data, scripts). */
function skipByteVector(bytes: Uint8Array, p: number, end: number, what: string): number {
  const length = readCompactSize(bytes, p, end, `${what} length`);
  p += compactSizeLength(bytes[p] as number);
  need(p, end, length, what);
  return p + length;
}

/** Skips an mw::Block at `p`; returns the offset past it and writes the MWEB height to heightOut[0]. */
export function skipMwebBlock(bytes: Uint8Array, p: number, end: number, heightOut: Int32Array): number {
  const [height, afterHeight] = varInt(bytes, p, end, INT32_MAX, 'header height');
  heightOut[0] = height;
  p = afterHeight;
  need(p, end, 5 * HASH, 'header roots and offsets');
  p += 5 * HASH;
  p = varInt(bytes, p, end, UINT64_MAX, 'output MMR size')[1];
  p = varInt(bytes, p, end, UINT64_MAX, 'kernel MMR size')[1];
  return skipTxBody(bytes, p, end, false);
}

/** Skips an mw::Transaction at `p` (after its presence byte); returns the offset past it. */
export function skipMwebTransaction(bytes: Uint8Array, p: number, end: number): number {
  need(p, end, 2 * HASH, 'transaction offsets');
  return skipTxBody(bytes, p + 2 * HASH, end, true);
}

function skipTxBody(bytes: Uint8Array, p: number, end: number, kernelRequired: boolean): number {
  const [inputs, afterInputs] = count(bytes, p, end, INPUT_BYTES_MIN, 'input');
  p = afterInputs;
  for (let i = 0; i < inputs; i++) p = skipInput(bytes, p, end);
  const [outputs, afterOutputs] = count(bytes, p, end, OUTPUT_BYTES_MIN, 'output');
  p = afterOutputs;
  for (let i = 0; i < outputs; i++) p = skipOutput(bytes, p, end);
  const [kernels, afterKernels] = count(bytes, p, end, KERNEL_BYTES_MIN, 'kernel');
  if (kernelRequired && kernels === 0) fail('MWEB transaction without kernels', p);
  p = afterKernels;
  for (let i = 0; i < kernels; i++) p = skipKernel(bytes, p, end);
  return p;
}

function skipInput(bytes: Uint8Array, p: number, end: number): number {
  need(p, end, INPUT_BYTES_MIN, 'input');
  const features = bytes[p] as number;
  p += 1 + HASH + COMMITMENT + PUBKEY;
  if ((features & 0x01) !== 0) {
    need(p, end, PUBKEY, 'input pubkey');
    p += PUBKEY;
  }
  if ((features & 0x02) !== 0) p = skipByteVector(bytes, p, end, 'input extra data');
  need(p, end, SIGNATURE, 'input signature');
  return p + SIGNATURE;
}

function skipOutput(bytes: Uint8Array, p: number, end: number): number {
  need(p, end, OUTPUT_BYTES_MIN, 'output');
  p += COMMITMENT + 2 * PUBKEY;
  const features = bytes[p] as number;
  p += 1;
  if ((features & 0x01) !== 0) {
    need(p, end, PUBKEY + 1 + 8 + 16, 'output standard fields');
    p += PUBKEY + 1 + 8 + 16;
  }
  if ((features & 0x02) !== 0) p = skipByteVector(bytes, p, end, 'output extra data');
  need(p, end, RANGE_PROOF + SIGNATURE, 'output range proof and signature');
  return p + RANGE_PROOF + SIGNATURE;
}

function skipKernel(bytes: Uint8Array, p: number, end: number): number {
  need(p, end, 1, 'kernel features');
  const features = bytes[p] as number;
  p += 1;
  if ((features & 0x01) !== 0) p = varInt(bytes, p, end, INT64_MAX, 'kernel fee')[1];
  if ((features & 0x02) !== 0) p = varInt(bytes, p, end, INT64_MAX, 'kernel pegin')[1];
  if ((features & 0x04) !== 0) {
    const [pegouts, afterCount] = count(bytes, p, end, PEGOUT_BYTES_MIN, 'pegout');
    p = afterCount;
    for (let i = 0; i < pegouts; i++) {
      p = varInt(bytes, p, end, INT64_MAX, 'pegout amount')[1];
      const scriptStart = p;
      p = skipByteVector(bytes, p, end, 'pegout script');
      if (p - scriptStart === 1) fail('MWEB pegout with an empty script', scriptStart);
    }
  }
  if ((features & 0x08) !== 0) p = varInt(bytes, p, end, INT32_MAX, 'kernel lock height')[1];
  if ((features & 0x10) !== 0) {
    need(p, end, PUBKEY, 'kernel stealth excess');
    p += PUBKEY;
  }
  if ((features & 0x20) !== 0) p = skipByteVector(bytes, p, end, 'kernel extra data');
  need(p, end, COMMITMENT + SIGNATURE, 'kernel excess and signature');
  return p + COMMITMENT + SIGNATURE;
}
