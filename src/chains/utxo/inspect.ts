// `settle inspect block --chain btc|ltc <file>`: everything about one raw block, for operators and
// for checking Settle's parser against a node. Not the scan path: it computes every txid, checks
// the merkle root and encodes every address.
//
// Output (one object):
//   { "hash", "height" (BIP34 height from the coinbase, null before BIP34), "tx_count", "merkle_ok",
//     "txids": [...], "outputs": [{ "txid", "vout", "value", "address" }, ...] }
// `value` is a decimal string of base units (satoshis / litoshis), `address` the mainnet encoding
// (or the network asked for), null for scripts without an address (OP_RETURN, bare multisig, ...).

import { readFileSync } from 'node:fs';
import { BlockDecodeError } from '../../errors.ts';
import { parseBlock } from './block.ts';
import { scriptToAddress } from './address.ts';
import { allTxids, blockHashHex, merkleMatches, toHexReversed } from './hash.ts';
import { addressParams, type UtxoCoin, type UtxoNetwork } from './networks.ts';
import { compactSizeLength, readU32, readU64 } from './reader.ts';
import { coinbaseHeight } from './script.ts';

export interface InspectedOutput {
  txid: string;
  vout: number;
  /** Base units as a decimal string. */
  value: string;
  address: string | null;
}

export interface InspectedBlock {
  hash: string;
  height: number | null;
  tx_count: number;
  merkle_ok: boolean;
  txids: string[];
  outputs: InspectedOutput[];
}

export interface InspectOptions {
  coin: UtxoCoin;
  network?: UtxoNetwork;
}

/** Bytes of a block given either raw or as hex text (whitespace allowed), detected from the content. */
export function blockBytesFromFile(content: Uint8Array): Uint8Array {
  let hexDigits = 0;
  for (const byte of content) {
    const isHex = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66) || (byte >= 0x41 && byte <= 0x46);
    const isSpace = byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
    if (!isHex && !isSpace) return content;
    if (isHex) hexDigits++;
  }
  // A raw block made only of hex-digit bytes would need a header of ASCII digits: not a real block.
  if (hexDigits % 2 !== 0) throw new BlockDecodeError('the file looks like hex but has an odd number of hex digits', { offset: content.length });
  return new Uint8Array(Buffer.from(Buffer.from(content).toString('latin1').replace(/\s+/g, ''), 'hex'));
}

export function inspectBlockFile(path: string, options: InspectOptions): InspectedBlock {
  return inspectBlock(blockBytesFromFile(new Uint8Array(readFileSync(path))), options);
}

export function inspectBlock(bytes: Uint8Array, options: InspectOptions): InspectedBlock {
  const params = addressParams(options.coin, options.network ?? 'mainnet');
  const layout = parseBlock(bytes, { mweb: options.coin === 'ltc' });
  const txidBytes = allTxids(layout);
  const txids = txidBytes.map((txid) => toHexReversed(txid, 0, 32));
  const outputs: InspectedOutput[] = [];
  for (let tx = 0; tx < layout.txCount; tx++) {
    const first = layout.txFirstOutput[tx] as number;
    const last = layout.txFirstOutput[tx + 1] as number;
    for (let o = first; o < last; o++) {
      const at = layout.outputScriptAt[o] as number;
      outputs.push({
        txid: txids[tx] as string,
        vout: o - first,
        value: readU64(bytes, layout.outputValueAt[o] as number).toString(),
        address: scriptToAddress(bytes, at, layout.outputScriptLength[o] as number, params),
      });
    }
  }
  return {
    hash: blockHashHex(bytes),
    height: bip34Height(bytes, layout.inputPrevout[0] as number),
    tx_count: layout.txCount,
    merkle_ok: merkleMatches(layout, txidBytes),
    txids,
    outputs,
  };
}

/** Height pushed first in the coinbase scriptSig (BIP34: block version 2 and later), else null. */
function bip34Height(bytes: Uint8Array, coinbasePrevoutAt: number): number | null {
  if (readU32(bytes, 0) < 2) return null;
  const lengthAt = coinbasePrevoutAt + 36;
  const scriptLength = bytes[lengthAt] as number;
  if (scriptLength >= 0xfd) return null;
  return coinbaseHeight(bytes, lengthAt + compactSizeLength(scriptLength), scriptLength);
}
