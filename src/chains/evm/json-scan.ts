// Targeted scans of the JSON text Ethereum nodes send, without building object graphs.
// Blocks are the bulk of what a scanner reads (100–500 KB each on Ethereum mainnet) and almost
// none of a block concerns us, so the hot path finds the few keys it needs with native
// Buffer.indexOf instead of JSON.parse (measured ~7× faster on the mainnet fixtures).
//
// Every function here returns `undefined` when the text is not in the shape the fast path
// relies on; the caller then falls back to JSON.parse, which is always correct. The shape relied
// on: node output where every string is hex or a key (no backslash escapes), each key written as
// `"key":` with the colon right after it. No function here may throw on odd input.

/** Lower-case/upper-case hex digit → value; -1 for anything else. */
const HEX_VALUE = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i += 1) HEX_VALUE[0x30 + i] = i;
for (let i = 0; i < 6; i += 1) {
  HEX_VALUE[0x61 + i] = 10 + i;
  HEX_VALUE[0x41 + i] = 10 + i;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

export function pattern(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

/** A `"key":` to look for. Buffer.indexOf runs at memchr speed on its first byte, so the search
 * starts at `anchorOffset`, the first character that is neither a quote nor a hex digit (those
 * fill node JSON); the bytes before the anchor are compared where it is found. Measured on the
 * mainnet fixtures: `"to":` 2.6 GB/s, `to":` 8 GB/s. */
export class KeyPattern {
  readonly full: Buffer;
  readonly anchor: Buffer;
  readonly anchorOffset: number;

  constructor(key: string, anchorOffset: number) {
    this.full = pattern(`"${key}":`);
    this.anchor = this.full.subarray(anchorOffset);
    this.anchorOffset = anchorOffset;
  }

  /** Offset of the next `"key":` at or after `from` (of its opening quote), or -1. */
  next(b: Buffer, from: number): number {
    let at = b.indexOf(this.anchor, from + this.anchorOffset);
    while (at !== -1) {
      const start = at - this.anchorOffset;
      if (start >= from && this.prefixMatches(b, start)) return start;
      at = b.indexOf(this.anchor, at + 1);
    }
    return -1;
  }

  private prefixMatches(b: Buffer, start: number): boolean {
    for (let i = 0; i < this.anchorOffset; i += 1) if (b[start + i] !== this.full[i]) return false;
    return true;
  }
}

export function asBuffer(bytes: ArrayBuffer | Uint8Array): Buffer {
  if (bytes instanceof Uint8Array) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Buffer.from(bytes);
}

export function isWhitespace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** Index of the first non-whitespace byte at or after `from` (b.length when none). */
export function skipWhitespace(b: Uint8Array, from: number): number {
  let at = from;
  while (at < b.length && isWhitespace(b[at])) at += 1;
  return at;
}

/** True when the text has no backslash, so every `"` opens or closes a string. */
export function hasNoEscapes(b: Buffer): boolean {
  return b.indexOf(BACKSLASH) === -1;
}

/** Decodes `length` hex digits at `at` into `out[outOffset…]`; false on a non-hex digit. */
export function hexToBytesInto(b: Uint8Array, at: number, length: number, out: Uint8Array, outOffset: number): boolean {
  if ((length & 1) !== 0 || at + length > b.length) return false;
  for (let i = 0; i < length; i += 2) {
    const high = HEX_VALUE[b[at + i] as number] as number;
    const low = HEX_VALUE[b[at + i + 1] as number] as number;
    if (high < 0 || low < 0) return false;
    out[outOffset + i / 2] = (high << 4) | low;
  }
  return true;
}

/** The string value of a `"key":` found at `keyAt` (pattern length `keyLength`): [start, end) of
 * the characters between the quotes, or undefined when the value is not a string. */
export function stringValueAt(b: Buffer, keyAt: number, keyLength: number): { start: number; end: number } | undefined {
  const open = skipWhitespace(b, keyAt + keyLength);
  if (b[open] !== QUOTE) return undefined;
  const close = b.indexOf(QUOTE, open + 1);
  if (close === -1) return undefined;
  return { start: open + 1, end: close };
}

/** A `0x…` hex string value at `keyAt` (quantity or data), as text including the 0x. */
export function hexValueAt(b: Buffer, keyAt: number, keyLength: number, digitsMax: number): string | undefined {
  const value = stringValueAt(b, keyAt, keyLength);
  if (value === undefined) return undefined;
  const digits = value.end - value.start - 2;
  if (digits < 1 || digits > digitsMax || b[value.start] !== 0x30 || b[value.start + 1] !== 0x78) return undefined;
  for (let at = value.start + 2; at < value.end; at += 1) if (HEX_VALUE[b[at] as number] === -1) return undefined;
  return b.toString('latin1', value.start, value.end);
}

export interface BlockHeaderScan {
  /** 0x-prefixed, as the node wrote it. */
  hash: string;
  parentHash: string;
  number: number;
  timestampS: number;
  /** Offset of the `"transactions":` key in the scanned buffer. */
  transactionsAt: number;
}

const KEY_TRANSACTIONS = pattern('"transactions":');
const KEY_HASH = pattern('"hash":');
const KEY_PARENT_HASH = pattern('"parentHash":');
const KEY_NUMBER = pattern('"number":');
const KEY_TIMESTAMP = pattern('"timestamp":');

/** Header fields of an eth_getBlockByNumber result held in b[start, end). They are read only from
 * the text before `"transactions":` — the order geth, erigon, reth and anvil write — because a
 * transaction has a `"hash"` of its own; any other order returns undefined (use JSON.parse). */
export function scanBlockHeader(b: Buffer, start: number, end: number): BlockHeaderScan | undefined {
  const view = b.subarray(start, end);
  const transactionsAt = view.indexOf(KEY_TRANSACTIONS);
  if (transactionsAt === -1) return undefined;
  const head = view.subarray(0, transactionsAt);
  const hash = hashAt(head, head.indexOf(KEY_HASH), KEY_HASH.length);
  const parentHash = hashAt(head, head.indexOf(KEY_PARENT_HASH), KEY_PARENT_HASH.length);
  const number = quantityAt(head, head.indexOf(KEY_NUMBER), KEY_NUMBER.length);
  const timestampS = quantityAt(head, head.indexOf(KEY_TIMESTAMP), KEY_TIMESTAMP.length);
  if (hash === undefined || parentHash === undefined || number === undefined || timestampS === undefined) return undefined;
  return { hash, parentHash, number, timestampS, transactionsAt: start + transactionsAt };
}

function hashAt(b: Buffer, keyAt: number, keyLength: number): string | undefined {
  if (keyAt === -1) return undefined;
  const value = hexValueAt(b, keyAt, keyLength, 64);
  return value !== undefined && value.length === 66 ? value.toLowerCase() : undefined;
}

/** A hex quantity that fits a JS number exactly (heights, timestamps, indexes). */
function quantityAt(b: Buffer, keyAt: number, keyLength: number): number | undefined {
  if (keyAt === -1) return undefined;
  const value = hexValueAt(b, keyAt, keyLength, 13);
  return value === undefined ? undefined : Number.parseInt(value.slice(2), 16);
}

export interface BatchSlice {
  id: number;
  /** [start, end) of the `result` value; `null` results are included as the 4 bytes `null`. */
  start: number;
  end: number;
}

const KEY_RESULT = new KeyPattern('result', 4);
const KEY_ID = pattern('"id":');
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/** Splits a JSON-RPC batch response `[{…,"result":{…}}, …]` into the byte ranges of its results,
 * without parsing them. Works when every element has a numeric id and a result that is an
 * object or null, and the envelope keys (jsonrpc, id) carry no braces — true of every node for
 * the batches we send. Returns undefined otherwise (errors, other shapes): parse the body. */
export function splitBatchResults(b: Buffer, count: number): BatchSlice[] | undefined {
  const first = skipWhitespace(b, 0);
  let last = b.length - 1;
  while (last > first && isWhitespace(b[last])) last -= 1;
  if (b[first] !== 0x5b || b[last] !== 0x5d) return undefined;

  const resultsAt: number[] = [];
  for (let at = KEY_RESULT.next(b, first); at !== -1; at = KEY_RESULT.next(b, at + KEY_RESULT.full.length)) {
    if (resultsAt.length === count) return undefined;
    resultsAt.push(at);
  }
  if (resultsAt.length !== count) return undefined;

  const slices: BatchSlice[] = [];
  let previousEnd = first;
  for (let i = 0; i < count; i += 1) {
    const resultAt = resultsAt[i] as number;
    const elementStart = b.lastIndexOf(OPEN_BRACE, resultAt);
    if (elementStart <= previousEnd || !onlySeparators(b, previousEnd + 1, elementStart)) return undefined;
    const nextResultAt = resultsAt[i + 1];
    const elementEnd = nextResultAt === undefined ? b.lastIndexOf(CLOSE_BRACE, last) : elementEndBefore(b, nextResultAt);
    if (elementEnd === undefined || elementEnd <= resultAt) return undefined;

    const valueStart = skipWhitespace(b, resultAt + KEY_RESULT.full.length);
    let valueEnd: number;
    if (b[valueStart] === OPEN_BRACE) {
      valueEnd = b.lastIndexOf(CLOSE_BRACE, elementEnd - 1) + 1;
      if (valueEnd <= valueStart) return undefined;
    } else if (b.toString('latin1', valueStart, valueStart + 4) === 'null') {
      valueEnd = valueStart + 4;
    } else {
      return undefined;
    }
    const id = idIn(b, elementStart, resultAt) ?? idIn(b, valueEnd, elementEnd);
    if (id === undefined) return undefined;
    slices.push({ id, start: valueStart, end: valueEnd });
    previousEnd = elementEnd;
  }
  if (!onlySeparators(b, previousEnd + 1, last)) return undefined;
  return slices;
}

/** The closing brace of the element before the one whose `"result":` is at `nextResultAt`. */
function elementEndBefore(b: Buffer, nextResultAt: number): number | undefined {
  const nextStart = b.lastIndexOf(OPEN_BRACE, nextResultAt);
  if (nextStart === -1) return undefined;
  let at = nextStart - 1;
  while (at > 0 && (isWhitespace(b[at]) || b[at] === 0x2c)) at -= 1;
  return b[at] === CLOSE_BRACE ? at : undefined;
}

function onlySeparators(b: Buffer, from: number, to: number): boolean {
  let commas = 0;
  for (let at = from; at < to; at += 1) {
    if (b[at] === 0x2c) commas += 1;
    else if (!isWhitespace(b[at])) return false;
  }
  return commas <= 1;
}

/** The numeric `"id":` in the envelope bytes [from, to), which hold no nested values. */
function idIn(b: Buffer, from: number, to: number): number | undefined {
  const at = b.subarray(from, to).indexOf(KEY_ID);
  if (at === -1) return undefined;
  let digit = skipWhitespace(b, from + at + KEY_ID.length);
  let id = 0;
  let digits = 0;
  while (digit < to && (b[digit] as number) >= 0x30 && (b[digit] as number) <= 0x39 && digits < 15) {
    id = id * 10 + ((b[digit] as number) - 0x30);
    digit += 1;
    digits += 1;
  }
  return digits === 0 ? undefined : id;
}

/** [start, end) of each object of a JSON array of flat objects (their values hold no objects; an
 * array of strings is fine), found without parsing: eth_getLogs results. Undefined when the text
 * has escapes or another shape. */
export function splitFlatObjects(b: Buffer): { start: number; end: number }[] | undefined {
  if (!hasNoEscapes(b)) return undefined;
  let at = skipWhitespace(b, 0);
  if (b[at] !== 0x5b) return undefined;
  at = skipWhitespace(b, at + 1);
  const objects: { start: number; end: number }[] = [];
  if (b[at] === 0x5d) return skipWhitespace(b, at + 1) === b.length ? objects : undefined;
  for (;;) {
    if (b[at] !== OPEN_BRACE) return undefined;
    const close = b.indexOf(CLOSE_BRACE, at + 1);
    const nested = b.indexOf(OPEN_BRACE, at + 1);
    if (close === -1 || (nested !== -1 && nested < close)) return undefined;
    objects.push({ start: at, end: close + 1 });
    at = skipWhitespace(b, close + 1);
    if (b[at] === 0x2c) {
      at = skipWhitespace(b, at + 1);
      continue;
    }
    if (b[at] !== 0x5d) return undefined;
    return skipWhitespace(b, at + 1) === b.length ? objects : undefined;
  }
}

/** Single-response counterpart of splitBatchResults: the [start, end) of `result` in
 * `{"jsonrpc":"2.0","id":…,"result":…}` when it is an object, an array or null. */
export function splitSingleResult(b: Buffer, id: number): { start: number; end: number } | undefined {
  const first = skipWhitespace(b, 0);
  let last = b.length - 1;
  while (last > first && isWhitespace(b[last])) last -= 1;
  if (b[first] !== OPEN_BRACE || b[last] !== CLOSE_BRACE) return undefined;
  const resultAt = KEY_RESULT.next(b, first);
  if (resultAt === -1 || KEY_RESULT.next(b, resultAt + 1) !== -1) return undefined;
  const valueStart = skipWhitespace(b, resultAt + KEY_RESULT.full.length);
  let valueEnd: number;
  if (b[valueStart] === OPEN_BRACE || b[valueStart] === 0x5b) {
    valueEnd = b.lastIndexOf(b[valueStart] === OPEN_BRACE ? CLOSE_BRACE : 0x5d, last - 1) + 1;
    if (valueEnd <= valueStart) return undefined;
  } else if (b.toString('latin1', valueStart, valueStart + 4) === 'null') {
    valueEnd = valueStart + 4;
  } else {
    return undefined;
  }
  const found = idIn(b, first, resultAt) ?? idIn(b, valueEnd, last);
  return found === id ? { start: valueStart, end: valueEnd } : undefined;
}
