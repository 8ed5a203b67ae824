// EVM constants and hex helpers shared by the main thread and the decode workers. Light on
// purpose: workers import it, so it pulls in nothing but ethers' address module (EIP-55).

import { getAddress } from 'ethers/address';

/** keccak256("Transfer(address,address,uint256)"). */
export const TRANSFER_TOPIC = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef';
/** decimals() selector. */
export const DECIMALS_SELECTOR = '0x313ce567';

export const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;
export const HASH_RE = /^0x[0-9a-fA-F]{64}$/;
export const QUANTITY_RE = /^0x(0|[1-9a-fA-F][0-9a-fA-F]*)$/;
/** Some nodes pad quantities with leading zeros (e.g. "0x00"); accepted, as the value is unambiguous. */
export const LOOSE_QUANTITY_RE = /^0x[0-9a-fA-F]{1,64}$/;
/** A 32-byte topic holding an address: 12 zero bytes, then the 20 address bytes. */
export const ADDRESS_TOPIC_RE = /^0x0{24}[0-9a-fA-F]{40}$/;

/** Checksums remembered per thread. Addresses recur (deposit addresses paid again, exchanges and
 * hot wallets on the other side of many transfers) and one keccak costs ~10 µs; bounded, and
 * simply emptied when full. */
const CHECKSUMS_CACHED_MAX = 4096;
const checksums = new Map<string, string>();

/** EIP-55 mixed-case encoding; only for matches and user-facing output, never on the hot path. */
export function checksumAddress(address: string): string {
  const lower = address.toLowerCase();
  let encoded = checksums.get(lower);
  if (encoded === undefined) {
    encoded = getAddress(lower);
    if (checksums.size >= CHECKSUMS_CACHED_MAX) checksums.clear();
    checksums.set(lower, encoded);
  }
  return encoded;
}

/** "0xAbC…" → "abc…": the form hashes, txids and index keys take inside Settle. */
export function strip0x(hex: string): string {
  return (hex.startsWith('0x') || hex.startsWith('0X') ? hex.slice(2) : hex).toLowerCase();
}

/** A 0x-prefixed address as the 20 index-key bytes. */
export function addressToKey(address: string): Uint8Array {
  if (!ADDRESS_RE.test(address)) throw new TypeError(`not a 0x-prefixed 20-byte address: ${address}`);
  return Uint8Array.from(Buffer.from(address.slice(2), 'hex'));
}

export function toHexQuantity(value: number | bigint): string {
  return `0x${value.toString(16)}`;
}
