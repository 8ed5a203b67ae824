// Hashing and hex helpers of the UTXO decoder: sha256d, txids over the non-witness serialization,
// merkle roots, and hex in both byte orders. Used only where a hash is needed (matched outputs,
// reported spends, block hash, verification), never per output on the scan path.

import { hash as oneShotHash } from 'node:crypto';
import type { BlockLayout } from './block.ts';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lower-case hex of bytes[offset, offset+length), in stored order. */
export function toHex(bytes: Uint8Array, offset = 0, length = bytes.length - offset): string {
  let out = '';
  for (let i = offset; i < offset + length; i++) out += HEX[bytes[i] as number];
  return out;
}

/** Lower-case hex of bytes[offset, offset+length) read backwards: hashes in "display order". */
export function toHexReversed(bytes: Uint8Array, offset: number, length: number): string {
  let out = '';
  for (let i = offset + length - 1; i >= offset; i--) out += HEX[bytes[i] as number];
  return out;
}

export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new TypeError('not an even-length hex string');
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export function sha256(data: Uint8Array): Uint8Array {
  return oneShotHash('sha256', data, 'buffer') as unknown as Uint8Array;
}

/** RIPEMD-160 of SHA-256: public key and script hashes of addresses. */
export function hash160(data: Uint8Array): Uint8Array {
  return oneShotHash('ripemd160', sha256(data), 'buffer') as unknown as Uint8Array;
}

export function sha256d(data: Uint8Array): Uint8Array {
  return sha256(sha256(data));
}

/** Scratch space for assembling the non-witness serialization of segwit transactions; grows to
 * the largest transaction seen (bounded by the block size). */
let scratch = new Uint8Array(4096);

/** Txid of transaction `tx` in internal byte order (sha256d of version | vin | vout | locktime,
 * without marker, flag, witness or MWEB data). */
export function txidBytes(layout: BlockLayout, tx: number): Uint8Array {
  const { bytes } = layout;
  const start = layout.txStart[tx] as number;
  const bodyStart = layout.txBodyStart[tx] as number;
  const bodyEnd = layout.txBodyEnd[tx] as number;
  const end = layout.txEnd[tx] as number;
  if (bodyStart === start + 4 && bodyEnd === end - 4) return sha256d(bytes.subarray(start, end));
  const length = 4 + (bodyEnd - bodyStart) + 4;
  if (scratch.length < length) scratch = new Uint8Array(Math.max(length, scratch.length * 2));
  scratch.set(bytes.subarray(start, start + 4), 0);
  scratch.set(bytes.subarray(bodyStart, bodyEnd), 4);
  scratch.set(bytes.subarray(end - 4, end), length - 4);
  return sha256d(scratch.subarray(0, length));
}

/** Txid as explorers show it (reversed hex). */
export function txidHex(layout: BlockLayout, tx: number): string {
  return toHexReversed(txidBytes(layout, tx), 0, 32);
}

/** Merkle root (internal byte order) of the given txids, as in Bitcoin Core's ComputeMerkleRoot:
 * an odd last node is paired with itself. */
export function merkleRoot(txids: Uint8Array[]): Uint8Array {
  if (txids.length === 0) return new Uint8Array(32);
  let level = txids;
  const pair = new Uint8Array(64);
  // Each level halves the count: at most ~32 levels for any array that fits in memory.
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      pair.set(level[i] as Uint8Array, 0);
      pair.set((level[i + 1] ?? level[i]) as Uint8Array, 32);
      next.push(sha256d(pair));
    }
    level = next;
  }
  return level[0] as Uint8Array;
}

/** Txids of every transaction of the block (internal byte order). */
export function allTxids(layout: BlockLayout): Uint8Array[] {
  const txids: Uint8Array[] = [];
  for (let tx = 0; tx < layout.txCount; tx++) txids.push(txidBytes(layout, tx));
  return txids;
}

/** True when the header's merkle root equals the root of the transactions' txids. */
export function merkleMatches(layout: BlockLayout, txids: Uint8Array[] = allTxids(layout)): boolean {
  const root = merkleRoot(txids);
  const { bytes } = layout;
  for (let i = 0; i < 32; i++) if (root[i] !== bytes[36 + i]) return false;
  return true;
}

/** Block hash in display order: sha256d of the 80-byte header, reversed. */
export function blockHashHex(bytes: Uint8Array): string {
  return toHexReversed(sha256d(bytes.subarray(0, 80)), 0, 32);
}
