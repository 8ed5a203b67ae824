// A structural cursor over JSON bytes: walks objects and arrays, reads the few keys a caller
// asks for and skips everything else without building objects. TRON blocks are ~300 KB of
// JSON of which a scanner needs a few hundred bytes; JSON.parse would build ~10,000 objects
// per block and round int64 amounts above 2^53. Here values stay as byte ranges, and only the
// few that matter become numbers (exact, via BigInt of the digits) or strings.
//
// It is order-independent (java-tron prints fastjson HashMap objects, whose key order is not a
// contract) and escape-aware. What it reads it checks strictly (a number is digits only, a
// container closes with its own bracket); what it skips it only brackets-matches, which is
// enough to find where a value ends. Nesting depth is bounded.
//
// Runs in decode workers: no imports beyond errors.ts.

import { NonRetryableError } from '../../errors.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/** Deepest nesting skipValue follows; TRON responses nest about 8 deep. */
export const JSON_DEPTH_MAX = 64;
/** Bytes of a key searched by a plain loop for its closing quote. */
const KEY_BYTES_SCANNED = 32;
/** Bytes searched by a plain loop before handing a string's end to memchr. */
const SHORT_STRING_BYTES = 16;
/** Digits of an integer read as a JS number: 15 digits are always below 2^53. */
const SAFE_DIGITS_MAX = 15;

export class JsonScanError extends NonRetryableError {
  constructor(message: string, position: number) {
    super('json_malformed', `${message} at byte ${position}`, { position });
  }
}

/** Bytes of an ASCII key or literal, for comparisons against ranges of the input. */
export function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** Exact bytes a fast path expects at the cursor (JsonCursor.lit), compared 4 at a time. */
export class Literal {
  readonly bytes: Uint8Array;
  /** The bytes as big-endian 32-bit words, the last zero-padded and compared under `mask`. */
  readonly words: Int32Array;
  readonly mask: number;

  constructor(text: string) {
    this.bytes = ascii(text);
    const padded = new Uint8Array(Math.ceil(this.bytes.length / 4) * 4);
    padded.set(this.bytes);
    const view = new DataView(padded.buffer);
    this.words = Int32Array.from({ length: padded.length / 4 }, (_, i) => view.getInt32(i * 4));
    const tail = this.bytes.length % 4;
    this.mask = tail === 0 ? -1 : (-1 << (8 * (4 - tail))) | 0;
  }
}

export class JsonCursor {
  readonly bytes: Uint8Array;
  readonly end: number;
  pos: number;
  /** Content range (without quotes) of the last key or string read. */
  start = 0;
  stop = 0;
  /** True right after `{` or `[`: the next member needs no comma. */
  private afterOpen = false;
  private readonly stack = new Uint8Array(JSON_DEPTH_MAX);
  /** The same bytes as a Buffer, for its native indexOf. */
  private readonly view: Buffer;
  /** And as a DataView, for comparing literals 4 bytes at a time. */
  private readonly data: DataView;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.bytes = bytes;
    this.view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.data = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
    this.end = end;
  }

  fail(message: string): never {
    throw new JsonScanError(message, this.pos);
  }

  /** Next non-space byte (not consumed); -1 at the end. */
  peek(): number {
    const p = this.skipSpace(this.pos);
    this.pos = p;
    return p < this.end ? (this.bytes[p] as number) : -1;
  }

  /** The first non-space index at or after `from` (end when there is none). */
  private skipSpace(from: number): number {
    const b = this.bytes;
    const end = this.end;
    let p = from;
    while (p < end) {
      const c = b[p] as number;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      p += 1;
    }
    return p;
  }

  private expect(byte: number, what: string): void {
    if (this.peek() !== byte) this.fail(`expected ${what}`);
    this.pos += 1;
  }

  openObject(): void {
    this.expect(LBRACE, '{');
    this.afterOpen = true;
  }

  openArray(): void {
    this.expect(LBRACKET, '[');
    this.afterOpen = true;
  }

  /** Moves to the next member of the object being read and reads its key into start/stop;
   * false (and the `}` consumed) when the object ends. The hottest function of a scan, so it
   * does its own byte work instead of calling peek/expect/readString. */
  nextKey(): boolean {
    const b = this.bytes;
    let p = this.skipSpace(this.pos);
    let c = p < this.end ? (b[p] as number) : -1;
    if (c === RBRACE) {
      this.pos = p + 1;
      this.afterOpen = false;
      return false;
    }
    if (this.afterOpen) {
      this.afterOpen = false;
    } else {
      if (c !== COMMA) this.failAt(p, 'expected , or }');
      p = this.skipSpace(p + 1);
      c = p < this.end ? (b[p] as number) : -1;
    }
    if (c !== QUOTE) this.failAt(p, 'expected a key');
    // Keys are short (the longest TRON key is 20 bytes): a plain loop finds their end, escapes aside.
    let stop = p + 1;
    const near = Math.min(p + 1 + KEY_BYTES_SCANNED, this.end);
    while (stop < near && b[stop] !== QUOTE) stop += 1;
    if (stop === near || b[stop - 1] === BACKSLASH) stop = this.stringEnd(p + 1);
    this.start = p + 1;
    this.stop = stop;
    p = this.skipSpace(stop + 1);
    if (p >= this.end || b[p] !== COLON) this.failAt(p, 'expected :');
    this.pos = p + 1;
    return true;
  }

  // ---- Fast-path primitives: they match compact JSON of an expected shape exactly, and on a
  // mismatch return false without moving, so that the caller can read the value the general way
  // (or start over with the general reader). They never accept what the general reader would
  // read differently: no whitespace is skipped, and a string holding an escape is refused.

  /** True (and past it) when the bytes at the cursor are exactly `literal`. */
  lit(literal: Literal): boolean {
    const p = this.pos;
    const words = literal.words;
    const last = words.length - 1;
    if (p + words.length * 4 > this.end) return this.litNearEnd(literal);
    const data = this.data;
    for (let i = 0; i < last; i += 1) if (data.getInt32(p + i * 4) !== words[i]) return false;
    if ((data.getInt32(p + last * 4) & literal.mask) !== words[last]) return false;
    this.pos = p + literal.bytes.length;
    return true;
  }

  private litNearEnd(literal: Literal): boolean {
    const pattern = literal.bytes;
    if (this.pos + pattern.length > this.end) return false;
    for (let i = 0; i < pattern.length; i += 1) if (this.bytes[this.pos + i] !== pattern[i]) return false;
    this.pos += pattern.length;
    return true;
  }

  /** True (and past it) when the byte at the cursor is `byte`: lit() for one character. */
  char(byte: number): boolean {
    if (this.bytes[this.pos] !== byte || this.pos >= this.end) return false;
    this.pos += 1;
    return true;
  }

  /** A string without escapes right at the cursor: its content in start/stop, the cursor after it. */
  str(): boolean {
    const p = this.pos;
    const b = this.bytes;
    if (b[p] !== QUOTE) return false;
    const quote = this.view.indexOf(QUOTE, p + 1);
    if (quote < 0 || quote >= this.end) return false;
    // A backslash anywhere would need the general reader; only one right before the quote can
    // change where the string ends, and any other escape is left as it is by both readers.
    if (b[quote - 1] === BACKSLASH) return false;
    this.start = p + 1;
    this.stop = quote;
    this.pos = quote + 1;
    return true;
  }

  /** Plain digits right at the cursor (an integer, not a fraction or exponent) into start/stop. */
  digits(): boolean {
    const b = this.bytes;
    const begin = this.pos;
    let p = begin;
    while (p < this.end && (b[p] as number) >= DIGIT_0 && (b[p] as number) <= DIGIT_9) p += 1;
    if (p === begin) return false;
    const next = p < this.end ? (b[p] as number) : -1;
    if (next === 0x2e || next === 0x65 || next === 0x45) return false;
    this.start = begin;
    this.stop = p;
    this.pos = p;
    return true;
  }

  /** The digits in start/stop as a number, when there are at most 15 (else -1). */
  digitsValue(): number {
    if (this.stop - this.start > SAFE_DIGITS_MAX) return -1;
    let value = 0;
    for (let i = this.start; i < this.stop; i += 1) value = value * 10 + ((this.bytes[i] as number) - DIGIT_0);
    return value;
  }

  /** Moves to the next element of the array being read; false (and the `]` consumed) at its end. */
  nextItem(): boolean {
    let p = this.skipSpace(this.pos);
    const c = p < this.end ? (this.bytes[p] as number) : -1;
    if (c === RBRACKET) {
      this.pos = p + 1;
      this.afterOpen = false;
      return false;
    }
    if (this.afterOpen) {
      this.afterOpen = false;
    } else {
      if (c !== COMMA) this.failAt(p, 'expected , or ]');
      p += 1;
    }
    this.pos = p;
    return true;
  }

  private failAt(position: number, message: string): never {
    this.pos = position;
    return this.fail(message);
  }

  /** True when the last key or string read is exactly `pattern`. */
  is(pattern: Uint8Array): boolean {
    const length = this.stop - this.start;
    if (length !== pattern.length) return false;
    const b = this.bytes;
    for (let i = 0; i < length; i += 1) if (b[this.start + i] !== pattern[i]) return false;
    return true;
  }

  /** Reads a string value; its content range (escapes left as they are) lands in start/stop. */
  readString(): void {
    const p = this.skipSpace(this.pos);
    if (p >= this.end || this.bytes[p] !== QUOTE) this.failAt(p, 'expected a string');
    const stop = this.stringEnd(p + 1, 0);
    this.start = p + 1;
    this.stop = stop;
    this.pos = stop + 1;
  }

  /** Index of the quote closing a string whose content starts at `from`. Most strings are keys
   * and short values, found fastest by a plain loop; long ones (raw_data_hex, signatures, call
   * data) are left to Buffer.indexOf, which is memchr. For a value, `plainBytes` 0 goes to memchr
   * at once: in node JSON nearly every string value is a hash, an address or call data. */
  private stringEnd(from: number, plainBytes = SHORT_STRING_BYTES): number {
    const b = this.bytes;
    const end = this.end;
    let at = from;
    for (;;) {
      let quote = -1;
      const near = Math.min(at + plainBytes, end);
      for (let p = at; p < near; p += 1) {
        if (b[p] === QUOTE) {
          quote = p;
          break;
        }
      }
      if (quote < 0 && near < end) quote = this.view.indexOf(QUOTE, near);
      if (quote < 0 || quote >= end) {
        this.pos = from;
        this.fail('unterminated string');
      }
      // An odd run of backslashes before the quote escapes it.
      let slashes = 0;
      while (quote - 1 - slashes >= from && b[quote - 1 - slashes] === BACKSLASH) slashes += 1;
      if ((slashes & 1) === 0) return quote;
      at = quote + 1;
    }
  }

  /** Reads a non-negative integer written as digits, or as a string of digits (the node's
   * int64_as_string form); its digits land in start/stop. Signs, fractions and exponents are
   * refused: they never appear in amounts, and accepting them would mean rounding. */
  readDigits(): void {
    if (this.peek() === QUOTE) {
      this.readString();
      if (this.stop === this.start) this.fail('expected digits');
      for (let i = this.start; i < this.stop; i += 1) {
        const c = this.bytes[i] as number;
        if (c < DIGIT_0 || c > DIGIT_9) this.fail('expected digits');
      }
      return;
    }
    const b = this.bytes;
    const begin = this.pos;
    let p = begin;
    while (p < this.end && (b[p] as number) >= DIGIT_0 && (b[p] as number) <= DIGIT_9) p += 1;
    if (p === begin) this.fail('expected a non-negative integer');
    const next = p < this.end ? (b[p] as number) : -1;
    if (next === 0x2e || next === 0x65 || next === 0x45) {
      this.pos = p;
      this.fail('expected an integer, got a fraction or exponent');
    }
    this.start = begin;
    this.stop = p;
    this.pos = p;
  }

  /** A non-negative integer below 10^15 (heights, timestamps, counts) as a number. */
  readSafeInteger(): number {
    this.readDigits();
    if (this.stop - this.start > SAFE_DIGITS_MAX) this.fail('integer too large for a height or time');
    let value = 0;
    for (let i = this.start; i < this.stop; i += 1) value = value * 10 + ((this.bytes[i] as number) - DIGIT_0);
    return value;
  }

  /** Any non-negative integer, exactly (amounts in sun or token units). */
  readBigInt(): bigint {
    this.readDigits();
    return this.digitsToBigInt(this.start, this.stop);
  }

  digitsToBigInt(start: number, stop: number): bigint {
    return BigInt(latin1(this.bytes, start, stop));
  }

  /** Text of the last key or string read (latin1; only for small values such as hashes). */
  text(): string {
    return latin1(this.bytes, this.start, this.stop);
  }

  /** Skips one value of any type. */
  skipValue(): void {
    const p = this.skipSpace(this.pos);
    this.pos = p;
    const byte = p < this.end ? (this.bytes[p] as number) : -1;
    if (byte === QUOTE) {
      this.pos = this.stringEnd(p + 1, 0) + 1;
    } else if (byte === LBRACE || byte === LBRACKET) {
      this.skipContainer();
    } else {
      this.skipScalar();
    }
  }

  private skipScalar(): void {
    const b = this.bytes;
    const begin = this.pos;
    let p = begin;
    while (p < this.end) {
      const c = b[p] as number;
      if (c === COMMA || c === RBRACE || c === RBRACKET || isSpace(c)) break;
      if (c === QUOTE || c === LBRACE || c === LBRACKET || c === COLON) break;
      p += 1;
    }
    if (p === begin) this.fail('expected a value');
    this.pos = p;
  }

  /** Skips the members of the object being read that are left, and its `}`: for callers that
   * have read every key they need (no per-key work for the rest). */
  skipRestOfObject(): void {
    this.stack[0] = RBRACE;
    this.skipContainer(1);
    this.afterOpen = false;
  }

  /** Skips an object or array (or, with depth 1, the rest of the one being read): strings are
   * jumped over, brackets must pair up. */
  private skipContainer(startDepth = 0): void {
    const b = this.bytes;
    const stack = this.stack;
    let depth = startDepth;
    let p = this.pos;
    while (p < this.end) {
      const c = b[p] as number;
      if (c === QUOTE) {
        // After `:` or `[` it is a value (usually long hex), else most likely a key.
        const before = b[p - 1];
        p = (before === COLON || before === LBRACKET ? this.stringEnd(p + 1, 0) : this.stringEnd(p + 1)) + 1;
        continue;
      }
      if (c === LBRACE || c === LBRACKET) {
        if (depth === JSON_DEPTH_MAX) {
          this.pos = p;
          this.fail(`nesting deeper than ${JSON_DEPTH_MAX}`);
        }
        stack[depth] = c === LBRACE ? RBRACE : RBRACKET;
        depth += 1;
      } else if (c === RBRACE || c === RBRACKET) {
        depth -= 1;
        if (stack[depth] !== c) {
          this.pos = p;
          this.fail('mismatched bracket');
        }
        if (depth === 0) {
          this.pos = p + 1;
          return;
        }
      }
      p += 1;
    }
    this.pos = p;
    this.fail('unterminated object or array');
  }

  /** Fails unless only whitespace is left. */
  finish(): void {
    if (this.peek() !== -1) this.fail('unexpected bytes after the value');
  }
}

export function latin1(bytes: Uint8Array, start: number, stop: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, stop - start).toString('latin1');
}

/** Parses JSON like JSON.parse, except that integers beyond 2^53 become bigint instead of being
 * rounded. For the small responses the main thread validates with zod (headers, contracts). */
export function parseJsonExact(bytes: Uint8Array): unknown {
  const cursor = new JsonCursor(bytes);
  const value = readValue(cursor, 0);
  cursor.finish();
  return value;
}

function readValue(c: JsonCursor, depth: number): unknown {
  if (depth > JSON_DEPTH_MAX) c.fail(`nesting deeper than ${JSON_DEPTH_MAX}`);
  const byte = c.peek();
  if (byte === LBRACE) {
    const out: Record<string, unknown> = {};
    c.openObject();
    while (c.nextKey()) {
      out[quotedText(c)] = readValue(c, depth + 1);
    }
    return out;
  }
  if (byte === LBRACKET) {
    const out: unknown[] = [];
    c.openArray();
    while (c.nextItem()) out.push(readValue(c, depth + 1));
    return out;
  }
  if (byte === QUOTE) {
    c.readString();
    return quotedText(c);
  }
  const begin = c.pos;
  c.skipValue();
  const token = latin1(c.bytes, begin, c.pos);
  if (/^-?\d+$/.test(token)) {
    const exact = BigInt(token);
    return exact <= BigInt(Number.MAX_SAFE_INTEGER) && exact >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(token) : exact;
  }
  try {
    return JSON.parse(token) as unknown;
  } catch {
    return c.fail(`not a JSON value: ${JSON.stringify(token.slice(0, 20))}`);
  }
}

/** The last key or string read, unescaped, as JSON.parse would give it. */
function quotedText(c: JsonCursor): string {
  const quoted = Buffer.from(c.bytes.buffer, c.bytes.byteOffset + c.start - 1, c.stop - c.start + 2).toString('utf8');
  try {
    return JSON.parse(quoted) as string;
  } catch {
    return c.fail('invalid string escape');
  }
}
