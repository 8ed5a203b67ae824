// Bounds-checked reads of Bitcoin's serialization primitives over a Uint8Array. Every read checks
// that the bytes it needs are there and throws BlockDecodeError naming the offset otherwise, so a
// truncated or corrupted block can never read past its end (a Uint8Array would silently return
// undefined) nor loop on a count the bytes cannot hold.

import { BlockDecodeError } from '../../errors.ts';

/** Bitcoin Core's MAX_SIZE: no CompactSize in a valid block is larger. */
export const COMPACT_SIZE_MAX = 0x0200_0000;

export function fail(message: string, offset: number): never {
  throw new BlockDecodeError(message, { offset });
}

/** Bytes taken by the CompactSize whose first byte is `first`. */
export function compactSizeLength(first: number): number {
  return first < 0xfd ? 1 : first === 0xfd ? 3 : first === 0xfe ? 5 : 9;
}

/** Reads the CompactSize at `offset` (any length); canonical encodings only, as Bitcoin Core
 * requires, and never above COMPACT_SIZE_MAX. */
export function readCompactSize(bytes: Uint8Array, offset: number, end: number, what: string): number {
  if (offset >= end) fail(`truncated: ${what} missing`, offset);
  const first = bytes[offset] as number;
  if (first < 0xfd) return first;
  const length = compactSizeLength(first);
  if (offset + length > end) fail(`truncated: ${what} needs ${length} bytes`, offset);
  let value: number;
  if (first === 0xfd) {
    value = (bytes[offset + 1] as number) | ((bytes[offset + 2] as number) << 8);
    if (value < 0xfd) fail(`non-canonical CompactSize for ${what}`, offset);
  } else if (first === 0xfe) {
    value = readU32(bytes, offset + 1);
    if (value <= 0xffff) fail(`non-canonical CompactSize for ${what}`, offset);
  } else {
    // 8-byte form: the high half must be zero for any value a block can carry.
    if (readU32(bytes, offset + 5) !== 0) fail(`CompactSize too large for ${what}`, offset);
    value = readU32(bytes, offset + 1);
    if (value <= 0xffff_ffff) fail(`non-canonical CompactSize for ${what}`, offset);
  }
  if (value > COMPACT_SIZE_MAX) fail(`CompactSize ${value} too large for ${what}`, offset);
  return value;
}

export function readU32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] as number) | ((bytes[offset + 1] as number) << 8) | ((bytes[offset + 2] as number) << 16) | ((bytes[offset + 3] as number) << 24)) >>> 0;
}

/** Little-endian unsigned 64-bit value at `offset` as bigint (amounts: only for matches). */
export function readU64(bytes: Uint8Array, offset: number): bigint {
  return BigInt(readU32(bytes, offset)) + (BigInt(readU32(bytes, offset + 4)) << 32n);
}

/** Bitcoin Core's VARINT (serialize.h: base-128, most significant group first, each continuation
 * adds one), used by the MWEB structures. Returns the value (exact below 2^53) and writes the
 * number of bytes read to `lengthOut[0]`. `max` is the largest value the field's type allows. */
export function readVarInt(bytes: Uint8Array, offset: number, end: number, max: number, what: string, lengthOut: Int32Array): number {
  let value = 0;
  // A 64-bit value needs at most 10 groups of 7 bits; the loop is bounded by that.
  for (let i = 0; i < 10; i++) {
    const at = offset + i;
    if (at >= end) fail(`truncated: VARINT ${what}`, at);
    const byte = bytes[at] as number;
    if (value > max / 128) fail(`VARINT ${what} too large`, at);
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      lengthOut[0] = i + 1;
      return value;
    }
    if (value >= max) fail(`VARINT ${what} too large`, at);
    value += 1;
  }
  return fail(`VARINT ${what} longer than 10 bytes`, offset);
}
