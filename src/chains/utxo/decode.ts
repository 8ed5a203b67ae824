// The worker-side entry of the UTXO family: raw block bytes → header facts and matches only.
// Runs in piscina workers (src/scan/worker.ts imports this file by family name). Pure: no I/O,
// no clock; the only state kept between calls is the reusable parse layout of this thread.
//
// Per block: parse the layout (block.ts), check the header hash against the one asked for, then
// for every transaction look up each spent outpoint (only when the index watches outpoints) and
// each output's script key straight from the block bytes. Txids, amounts (bigint) and addresses
// are computed only for what matched.

import { BlockDecodeError } from '../../errors.ts';
import type { IndexView } from '../../scan/address-index.ts';
import type { DecodedBlock, DecodeOptions, Match, RawBlock } from '../../scan/types.ts';
import { scriptToAddress } from './address.ts';
import { BlockLayout, HEADER_BYTES, headerTimestampS, parseBlock } from './block.ts';
import { allTxids, blockHashHex, merkleMatches, toHex, toHexReversed, txidHex } from './hash.ts';
import { addressParams, type AddressParams } from './networks.ts';
import { readU32, readU64 } from './reader.ts';
import { classifyScript, KEY_BODY_LENGTH, KEY_BODY_OFFSET, KEY_NONE } from './script.ts';

export interface UtxoDecodeOptions extends DecodeOptions {
  /** Recompute every txid and compare the merkle root with the header (~10 ms for a full block):
   * for sources that are not trusted to send the transactions the header commits to. */
  verifyMerkle?: boolean;
}

/** Reused between blocks of this thread: parsing allocates nothing once it has grown. */
const layout = new BlockLayout();

export function decodeBlock(raw: RawBlock, index: IndexView, options: UtxoDecodeOptions): DecodedBlock {
  const params = addressParams(options.coin, options.network);
  const part = raw.parts[0];
  if (raw.parts.length !== 1 || part === undefined) {
    throw new BlockDecodeError(`a utxo raw block has exactly one part, got ${raw.parts.length}`, { offset: 0, height: raw.height });
  }
  const bytes = new Uint8Array(part);
  if (bytes.length < HEADER_BYTES) throw new BlockDecodeError(`truncated: ${bytes.length} bytes cannot hold a block header`, { offset: bytes.length, height: raw.height });
  const hash = blockHashHex(bytes);
  if (raw.expectedHash !== undefined && raw.expectedHash.toLowerCase() !== hash) {
    throw new BlockDecodeError(`block at height ${raw.height} hashes to ${hash}, expected ${raw.expectedHash}`, { offset: 0, height: raw.height, hash });
  }
  try {
    parseBlock(bytes, { mweb: params.coin === 'ltc' }, layout);
  } catch (error) {
    if (error instanceof BlockDecodeError) {
      throw new BlockDecodeError(`${params.coin} block ${hash} (height ${raw.height}): ${error.message.replace(/ \(at byte offset \d+\)$/, '')}`, { offset: error.offset, height: raw.height, hash });
    }
    throw error;
  }
  if (options.verifyMerkle === true && !merkleMatches(layout, allTxids(layout))) {
    throw new BlockDecodeError(`block ${hash} (height ${raw.height}): transactions do not match the header's merkle root`, { offset: 36, height: raw.height, hash });
  }
  const matches: Match[] = [];
  const watchSpends = index.watchesOutpoints();
  for (let tx = 0; tx < layout.txCount; tx++) matchTransaction(layout, tx, index, params, watchSpends, matches);
  return {
    height: raw.height,
    hash,
    parentHash: toHexReversed(bytes, 4, 32),
    timestampS: headerTimestampS(bytes),
    txCount: layout.txCount,
    matches,
  };
}

/** Spends of watched outpoints, then outputs to watched scripts, of transaction `tx`. */
function matchTransaction(layout: BlockLayout, tx: number, index: IndexView, params: AddressParams, watchSpends: boolean, matches: Match[]): void {
  const { bytes } = layout;
  let txid: string | undefined;
  if (watchSpends) {
    const first = layout.txFirstInput[tx] as number;
    const last = layout.txFirstInput[tx + 1] as number;
    for (let i = first; i < last; i++) {
      const at = layout.inputPrevout[i] as number;
      const vout = readU32(bytes, at + 32);
      if (!index.hasOutpoint(bytes, at, vout)) continue;
      txid ??= txidHex(layout, tx);
      matches.push({ kind: 'spend', txid, inputIndex: i - first, prevTxid: toHexReversed(bytes, at, 32), prevVout: vout });
    }
  }
  const first = layout.txFirstOutput[tx] as number;
  const last = layout.txFirstOutput[tx + 1] as number;
  const scriptAt = layout.outputScriptAt;
  const scriptLength = layout.outputScriptLength;
  for (let o = first; o < last; o++) {
    const at = scriptAt[o] as number;
    const length = scriptLength[o] as number;
    const type = classifyScript(bytes, at, length);
    if (type === KEY_NONE) continue;
    const bodyAt = at + (KEY_BODY_OFFSET[type] as number);
    const bodyLength = KEY_BODY_LENGTH[type] as number;
    if (!index.hasTypedKey(type, bytes, bodyAt, bodyLength)) continue;
    txid ??= txidHex(layout, tx);
    matches.push({
      kind: 'credit',
      txid,
      position: o - first,
      asset: 'native',
      key: type.toString(16).padStart(2, '0') + toHex(bytes, bodyAt, bodyLength),
      address: scriptToAddress(bytes, at, length, params) as string,
      amount: readU64(bytes, layout.outputValueAt[o] as number),
    });
  }
}
