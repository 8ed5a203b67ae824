// The state of one decodeBlock call and the byte helpers its readers share (decode.ts walks the
// block, decode-infos.ts the transaction infos). Worker code: errors.ts and local modules only.

import { NonRetryableError } from '../../errors.ts';
import type { CreditMatch, DebitMatch, DecodeOptions, Match } from '../../scan/types.ts';
import { bytesToHex, HEX_VALUE, tronAddressFromBody } from './address.ts';
import { emptyHeader, type TronBlockHeader } from './header.ts';
import { ascii, latin1, type JsonCursor } from './json-scan.ts';

/** The worker-side view of the AddressIndex (src/scan/address-index.ts IndexView fits it). */
export interface KeyLookup {
  hasKey(bytes: Uint8Array, offset: number, length: number): boolean;
}

export const TX_ID_DIGITS = 64;
export const TOPIC_DIGITS = 64;
/** Hex digits of a 20-byte address body. */
export const BODY_DIGITS = 40;

export interface Tokens {
  /** Lower-case hex digits of each token's 20-byte body, as ASCII. */
  hex: DataView[];
  addresses: string[];
}

/** The two addresses of a transfer, decoded for index lookups: `to` at 0, `from` at 20. One
 * buffer for the whole worker, so the index's per-buffer view of it is made once (decoding is
 * synchronous: no two calls share it at a time). */
export const PAIR = new Uint8Array(40);
export const PAIR_TO = 0;
export const PAIR_FROM = 20;

/** Per-call state; strings are created for matches only. */
export class BlockScan {
  readonly header: TronBlockHeader = emptyHeader();
  readonly txIdStarts: number[] = [];
  readonly txSucceeded: boolean[] = [];
  readonly txFailedInInfo: boolean[] = [];
  /** TRX matches, held until the infos say whether their transaction failed. */
  readonly native: Array<{ tx: number; match: CreditMatch | DebitMatch }> = [];
  readonly tokenMatches: Match[] = [];
  logOrdinal = 0;
  /** The block's and the infos' bytes as DataViews, for word-wise comparisons. */
  readonly blockView: DataView;
  infosView: DataView = EMPTY_VIEW;
  constructor(
    readonly block: JsonCursor,
    readonly index: KeyLookup,
    readonly tokens: Tokens,
  ) {
    this.blockView = viewOf(block.bytes);
  }
}

/** Which configured token a log's 40-digit address is, compared as hex text (no decoding:
 * most logs of a block are not ours); -1 for none. */
export function tokenIndex(s: BlockScan, view: DataView, start: number): number {
  const hex = s.tokens.hex;
  for (let t = 0; t < hex.length; t += 1) if (sameDigits(view, start, hex[t] as DataView, 0, BODY_DIGITS)) return t;
  return -1;
}

/** The address in a topic: 12 zero bytes, then the 20-byte body. */
export function topicAddressInto(bytes: Uint8Array, start: number, out: Uint8Array, outOffset: number): boolean {
  for (let i = 0; i < 24; i += 1) if (bytes[start + i] !== 0x30) return false;
  return hexInto(bytes, start + 24, BODY_DIGITS, out, outOffset);
}

/** Two hex digits (as the 16-bit big-endian pair of their bytes) → their byte; -1 when either is
 * not hex. 128 KB, built once per thread: one load per byte decoded instead of two. */
const HEX_PAIR = new Int16Array(65_536).fill(-1);
for (let high = 0; high < 256; high += 1) {
  const h = HEX_VALUE[high] as number;
  if (h < 0) continue;
  for (let low = 0; low < 256; low += 1) {
    const l = HEX_VALUE[low] as number;
    if (l >= 0) HEX_PAIR[(high << 8) | low] = (h << 4) | l;
  }
}

export function hexInto(bytes: Uint8Array, start: number, digits: number, out: Uint8Array, outOffset: number): boolean {
  for (let i = 0; i < digits; i += 2) {
    const byte = HEX_PAIR[((bytes[start + i] as number) << 8) | (bytes[start + i + 1] as number)] as number;
    if (byte < 0) return false;
    out[outOffset + (i >> 1)] = byte;
  }
  return true;
}

/** Hex digits equal regardless of case (0x20 folds A-F onto a-f and leaves 0-9 alone), compared
 * four at a time through DataViews of the two buffers. */
export function sameDigits(a: DataView, aStart: number, b: DataView, bStart: number, length: number): boolean {
  let i = 0;
  for (; i + 4 <= length; i += 4) if ((a.getInt32(aStart + i) | 0x20202020) !== (b.getInt32(bStart + i) | 0x20202020)) return false;
  for (; i < length; i += 1) if ((a.getUint8(aStart + i) | 0x20) !== (b.getUint8(bStart + i) | 0x20)) return false;
  return true;
}

const EMPTY_VIEW = new DataView(new ArrayBuffer(0));

/** The txid at `start` as a match carries it: checked to be hex (only matches pay for this). */
export function txidAt(c: JsonCursor, start: number): string {
  for (let i = start; i < start + TX_ID_DIGITS; i += 1) if ((HEX_VALUE[c.bytes[i] as number] as number) < 0) c.fail('a txID is not hex');
  return latin1(c.bytes, start, start + TX_ID_DIGITS).toLowerCase();
}

export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const tokenCache = new Map<string, Tokens>();

export function tokensOf(options: DecodeOptions): Tokens {
  const list = options.tokens ?? [];
  const cacheKey = list.join(',');
  let tokens = tokenCache.get(cacheKey);
  if (tokens === undefined) {
    const bodies = list.map((hex) => {
      const clean = hex.toLowerCase();
      if (!/^[0-9a-f]{40}$/.test(clean)) {
        throw new NonRetryableError('tron_token_invalid', `tron decode options: token ${JSON.stringify(hex)} must be the 20-byte body in hex (40 digits, no 41)`);
      }
      return Uint8Array.from(Buffer.from(clean, 'hex'));
    });
    tokens = { hex: bodies.map((body) => viewOf(ascii(bytesToHex(body)))), addresses: bodies.map(tronAddressFromBody) };
    // A worker serves a handful of chains; the bound only guards against a caller gone wrong.
    if (tokenCache.size >= 16) tokenCache.clear();
    tokenCache.set(cacheKey, tokens);
  }
  return tokens;
}
