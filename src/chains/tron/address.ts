// TRON addresses: 0x41 || 20-byte body, base58check-encoded (`T…`). The 20-byte body is what
// logs, topics, TriggerSmartContract data and the AddressIndex carry; block JSON carries the
// 21-byte `41…` hex form. Every conversion here says which of the two it takes, because the
// classic mistake (tronweb's `fromHex` on a 20-byte log address) gives a wrong address silently.
//
// Runs in decode workers: only node:crypto, no tronweb.

import { createHash } from 'node:crypto';
import { NonRetryableError } from '../../errors.ts';

export const TRON_ADDRESS_PREFIX = 0x41;
export const ADDRESS_BODY_BYTES = 20;

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const ALPHABET_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i += 1) ALPHABET_VALUE[ALPHABET.charCodeAt(i)] = i;

/** Hex digit byte → value, -1 for anything else (both cases accepted). */
export const HEX_VALUE = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i += 1) HEX_VALUE[0x30 + i] = i;
for (let i = 0; i < 6; i += 1) {
  HEX_VALUE[0x61 + i] = 10 + i;
  HEX_VALUE[0x41 + i] = 10 + i;
}

function sha256(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest();
}

export function base58Encode(bytes: Uint8Array): string {
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros += 1;
  // Base-256 → base-58 by repeated division; inputs here are 25 bytes, so quadratic is fine.
  const digits: number[] = [];
  for (let i = zeros; i < bytes.length; i += 1) {
    let carry = bytes[i] as number;
    for (let j = 0; j < digits.length; j += 1) {
      carry += (digits[j] as number) << 8;
      digits[j] = carry % 58;
      carry = (carry / 58) | 0;
    }
    while (carry > 0) {
      digits.push(carry % 58);
      carry = (carry / 58) | 0;
    }
  }
  let out = '1'.repeat(zeros);
  for (let i = digits.length - 1; i >= 0; i -= 1) out += ALPHABET[digits[i] as number];
  return out;
}

/** Decodes base58; undefined when a character is outside the alphabet. */
export function base58Decode(text: string): Uint8Array | undefined {
  let zeros = 0;
  while (zeros < text.length && text[zeros] === '1') zeros += 1;
  const bytes: number[] = [];
  for (let i = zeros; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    const value = code < 128 ? (ALPHABET_VALUE[code] as number) : -1;
    if (value < 0) return undefined;
    let carry = value;
    for (let j = 0; j < bytes.length; j += 1) {
      carry += (bytes[j] as number) * 58;
      bytes[j] = carry & 0xff;
      carry >>= 8;
    }
    while (carry > 0) {
      bytes.push(carry & 0xff);
      carry >>= 8;
    }
  }
  const out = new Uint8Array(zeros + bytes.length);
  for (let i = 0; i < bytes.length; i += 1) out[out.length - 1 - i] = bytes[i] as number;
  return out;
}

export function base58CheckEncode(payload: Uint8Array): string {
  const checksum = sha256(sha256(payload)).subarray(0, 4);
  const full = new Uint8Array(payload.length + 4);
  full.set(payload, 0);
  full.set(checksum, payload.length);
  return base58Encode(full);
}

/** The payload, or undefined when the text is not base58 or the checksum does not match. */
export function base58CheckDecode(text: string): Uint8Array | undefined {
  const full = base58Decode(text);
  if (full === undefined || full.length < 5) return undefined;
  const payload = full.subarray(0, full.length - 4);
  const checksum = sha256(sha256(payload)).subarray(0, 4);
  for (let i = 0; i < 4; i += 1) if (checksum[i] !== full[payload.length + i]) return undefined;
  return payload;
}

/** `T…` from the 20-byte body (the form in logs, topics and index keys): 0x41 is prepended here. */
export function tronAddressFromBody(body: Uint8Array): string {
  if (body.length !== ADDRESS_BODY_BYTES) {
    throw new NonRetryableError('tron_address_invalid', `a TRON address body is ${ADDRESS_BODY_BYTES} bytes, got ${body.length}`);
  }
  const payload = new Uint8Array(ADDRESS_BODY_BYTES + 1);
  payload[0] = TRON_ADDRESS_PREFIX;
  payload.set(body, 1);
  return base58CheckEncode(payload);
}

/** `T…` from hex: 40 digits are a body (logs, topics) and get the 41 prefix; 42 digits must
 * already start with 41 (block JSON). Anything else is refused rather than encoded wrongly. */
export function tronAddressFromHex(hex: string): string {
  const clean = hex.startsWith('0x') ? hex.slice(2) : hex;
  if (clean.length === ADDRESS_BODY_BYTES * 2) return tronAddressFromBody(hexToBytes(clean));
  if (clean.length === ADDRESS_BODY_BYTES * 2 + 2 && clean.slice(0, 2) === '41') return tronAddressFromBody(hexToBytes(clean.slice(2)));
  throw new NonRetryableError('tron_address_invalid', `not a TRON address in hex (40 digits, or 42 starting with 41): ${JSON.stringify(hex)}`);
}

/** The 20-byte body of a `T…` address; undefined when it is not one (bad checksum, wrong prefix or length). */
export function tronAddressToBody(address: string): Uint8Array | undefined {
  const payload = base58CheckDecode(address);
  if (payload === undefined || payload.length !== ADDRESS_BODY_BYTES + 1 || payload[0] !== TRON_ADDRESS_PREFIX) return undefined;
  return payload.slice(1);
}

export function isTronAddress(address: string): boolean {
  return tronAddressToBody(address) !== undefined;
}

/** Lower-case hex of the body of a `T…` address; throws on an invalid address (config and callers' input). */
export function tronAddressToBodyHex(address: string): string {
  const body = tronAddressToBody(address);
  if (body === undefined) throw new NonRetryableError('tron_address_invalid', `not a TRON base58check address: ${JSON.stringify(address)}`);
  return bytesToHex(body);
}

export function hexToBytes(hex: string): Uint8Array {
  if (hex.length % 2 !== 0) throw new NonRetryableError('hex_invalid', `odd-length hex: ${hex.length} digits`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i += 1) {
    const high = HEX_VALUE[hex.charCodeAt(2 * i) & 0xff] as number;
    const low = HEX_VALUE[hex.charCodeAt(2 * i + 1) & 0xff] as number;
    if (high < 0 || low < 0 || hex.charCodeAt(2 * i) > 0xff || hex.charCodeAt(2 * i + 1) > 0xff) {
      throw new NonRetryableError('hex_invalid', `not hex at digit ${2 * i}`);
    }
    out[i] = (high << 4) | low;
  }
  return out;
}

export function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
