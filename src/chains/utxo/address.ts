// Address text for output scripts and back: base58check (P2PKH, P2SH) and bech32 / bech32m
// (BIP173 / BIP350) witness addresses. Only called for matches, inspection and derivation, never
// per output of a scanned block.

import { sha256d } from './hash.ts';
import { witnessProgram } from './script.ts';
import type { AddressParams } from './networks.ts';

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const BECH32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const BECH32_CONST = 1;
const BECH32M_CONST = 0x2bc830a3;
/** BIP173's limit on the whole address string. */
const BECH32_LENGTH_MAX = 90;

export function base58checkEncode(version: number, payload: Uint8Array): string {
  const data = new Uint8Array(1 + payload.length + 4);
  data[0] = version;
  data.set(payload, 1);
  data.set(sha256d(data.subarray(0, 1 + payload.length)).subarray(0, 4), 1 + payload.length);
  return base58Encode(data);
}

/** Base58 by repeated multiply-add over base-58 digits (no bigint: addresses of matches are
 * encoded in the workers, and bigint division was measured at ~6% of a worker's time). */
export function base58Encode(data: Uint8Array): string {
  let zeros = 0;
  while (zeros < data.length && data[zeros] === 0) zeros++;
  // log(256) / log(58) ≈ 1.366 digits per byte.
  const digits = new Uint8Array(Math.ceil((data.length - zeros) * 1.38) + 1);
  let used = 0;
  for (let i = zeros; i < data.length; i++) {
    let carry = data[i] as number;
    for (let k = 0; k < used; k++) {
      carry += (digits[k] as number) << 8;
      digits[k] = carry % 58;
      carry = (carry / 58) | 0;
    }
    while (carry > 0) {
      digits[used++] = carry % 58;
      carry = (carry / 58) | 0;
    }
  }
  let out = '1'.repeat(zeros);
  for (let k = used - 1; k >= 0; k--) out += BASE58[digits[k] as number];
  return out;
}

/** Decodes base58check; undefined when the text or its checksum is not valid. */
export function base58checkDecode(text: string): Uint8Array | undefined {
  if (text.length === 0 || text.length > 128) return undefined;
  let value = 0n;
  let zeros = 0;
  while (zeros < text.length && text[zeros] === '1') zeros++;
  for (const char of text) {
    const digit = BASE58.indexOf(char);
    if (digit < 0) return undefined;
    value = value * 58n + BigInt(digit);
  }
  const body: number[] = [];
  while (value > 0n) {
    body.unshift(Number(value & 0xffn));
    value >>= 8n;
  }
  const data = Uint8Array.from([...new Array<number>(zeros).fill(0), ...body]);
  if (data.length < 5) return undefined;
  const checksum = sha256d(data.subarray(0, data.length - 4));
  for (let i = 0; i < 4; i++) if (checksum[i] !== data[data.length - 4 + i]) return undefined;
  return data.subarray(0, data.length - 4);
}

function polymod(values: number[]): number {
  const generators = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  let chk = 1;
  for (const value of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ value;
    for (let i = 0; i < 5; i++) if (((top >>> i) & 1) !== 0) chk ^= generators[i] as number;
  }
  return chk >>> 0;
}

function hrpExpand(hrp: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) >> 5);
  out.push(0);
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) & 31);
  return out;
}

function convertBits(data: ArrayLike<number>, from: number, to: number, pad: boolean): number[] | undefined {
  let acc = 0;
  let bits = 0;
  const out: number[] = [];
  const maxValue = (1 << to) - 1;
  for (let i = 0; i < data.length; i++) {
    const value = data[i] as number;
    if (value >> from !== 0) return undefined;
    acc = (acc << from) | value;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >> bits) & maxValue);
    }
  }
  if (pad) {
    if (bits > 0) out.push((acc << (to - bits)) & maxValue);
  } else if (bits >= from || ((acc << (to - bits)) & maxValue) !== 0) {
    return undefined;
  }
  return out;
}

/** Segwit address of a witness program: bech32 for version 0, bech32m for 1..16 (BIP350). */
export function encodeSegwitAddress(hrp: string, version: number, program: Uint8Array): string {
  const data = [version, ...(convertBits(program, 8, 5, true) as number[])];
  const constant = version === 0 ? BECH32_CONST : BECH32M_CONST;
  const mod = polymod([...hrpExpand(hrp), ...data, 0, 0, 0, 0, 0, 0]) ^ constant;
  let out = `${hrp}1`;
  for (const value of data) out += BECH32[value];
  for (let i = 0; i < 6; i++) out += BECH32[(mod >>> (5 * (5 - i))) & 31];
  return out;
}

/** Decodes a segwit address for `hrp`; undefined when it is not one (wrong hrp, checksum,
 * variant for its version, or program length). */
export function decodeSegwitAddress(hrp: string, address: string): { version: number; program: Uint8Array } | undefined {
  if (address.length > BECH32_LENGTH_MAX) return undefined;
  const lower = address.toLowerCase();
  if (address !== lower && address !== address.toUpperCase()) return undefined;
  const separator = lower.lastIndexOf('1');
  if (separator < 1 || lower.slice(0, separator) !== hrp || lower.length - separator - 1 < 7) return undefined;
  const data: number[] = [];
  for (const char of lower.slice(separator + 1)) {
    const value = BECH32.indexOf(char);
    if (value < 0) return undefined;
    data.push(value);
  }
  const version = data[0] as number;
  if (version > 16) return undefined;
  const constant = polymod([...hrpExpand(hrp), ...data]);
  if (constant !== (version === 0 ? BECH32_CONST : BECH32M_CONST)) return undefined;
  const program = convertBits(data.slice(1, -6), 5, 8, false);
  if (program === undefined || program.length < 2 || program.length > 40) return undefined;
  if (version === 0 && program.length !== 20 && program.length !== 32) return undefined;
  return { version, program: Uint8Array.from(program) };
}

/** Address of the output script bytes[at, at+length) on the given network; null for scripts
 * without an address (OP_RETURN, bare multisig, P2PK, Litecoin's MWEB HogAddr, ...). */
export function scriptToAddress(bytes: Uint8Array, at: number, length: number, params: AddressParams): string | null {
  if (length === 25 && bytes[at] === 0x76 && bytes[at + 1] === 0xa9 && bytes[at + 2] === 0x14 && bytes[at + 23] === 0x88 && bytes[at + 24] === 0xac) {
    return base58checkEncode(params.pubKeyHash, bytes.subarray(at + 3, at + 23));
  }
  if (length === 23 && bytes[at] === 0xa9 && bytes[at + 1] === 0x14 && bytes[at + 22] === 0x87) {
    return base58checkEncode(params.scriptHash, bytes.subarray(at + 2, at + 22));
  }
  const witness = witnessProgram(bytes, at, length);
  if (witness === undefined) return null;
  if (witness.version === 0 && witness.programLength !== 20 && witness.programLength !== 32) return null;
  // Litecoin witness versions 8 and 9 are MWEB HogAddr / peg-in markers, not payable addresses.
  if (params.coin === 'ltc' && witness.version >= 8) return null;
  return encodeSegwitAddress(params.bech32, witness.version, bytes.subarray(witness.programAt, witness.programAt + witness.programLength));
}

/** Output script of an address on the given network; undefined when the address is not valid there. */
export function addressToScript(address: string, params: AddressParams): Uint8Array | undefined {
  const segwit = decodeSegwitAddress(params.bech32, address);
  if (segwit !== undefined) {
    const op = segwit.version === 0 ? 0x00 : 0x50 + segwit.version;
    return Uint8Array.from([op, segwit.program.length, ...segwit.program]);
  }
  const decoded = base58checkDecode(address);
  if (decoded === undefined || decoded.length !== 21) return undefined;
  const version = decoded[0] as number;
  const hash = decoded.subarray(1);
  if (version === params.pubKeyHash) return Uint8Array.from([0x76, 0xa9, 0x14, ...hash, 0x88, 0xac]);
  if (version === params.scriptHash || version === params.scriptHashLegacy) return Uint8Array.from([0xa9, 0x14, ...hash, 0x87]);
  return undefined;
}
