// Cutting a /wallet/getblockbylimitnext answer, `{"block":[B1,B2,…]}`, into one buffer per block
// (each movable to a worker on its own), reading each block's header and checking they link.
// Blocks are the bulk of what the scanner moves, so the cut is made straight from the socket's
// chunks, copying each block once, and without walking the transactions:
//
// java-tron prints `blockID` first, so each block opens with the 12 bytes `{"blockID":"`. Those
// bytes can only be an object opening with that key: a quote inside a string is escaped, and a
// string cannot be followed by a letter. Candidates are found through their `I` (memchr for a
// byte that appears about once per transaction, in "txID", is several times faster than searching
// the pattern). They must tile the array exactly — `},` between two, `]}` after the last — and
// each must read as a header; a nested object opening with "blockID" would break one of these.
// Otherwise the answer is joined and walked value by value (splitWalking), which needs no such
// assumption. The worker then reads each block as exactly one object, so a wrong cut cannot pass.

import { NonRetryableError } from '../../errors.ts';
import type { TronBlockHeader } from './header.ts';
import { rawBuffers } from '../../scan/buffers.ts';
import { copyChunks, releaseChunks, type Chunks } from './http.ts';
import { ascii, JsonCursor } from './json-scan.ts';
import { checkLinked, readBlockSummary } from './standardize.ts';

export interface BlockSegment {
  /** The block's JSON: the first bytes of an ArrayBuffer of its own (a recycled one, maybe larger). */
  bytes: Uint8Array;
  header: TronBlockHeader;
  /** The block lists transactions (so its infos cannot be `[]`). */
  hasTransactions: boolean;
}

const BLOCK_START = ascii('{"blockID":"');
const ENVELOPE = ascii('"block"');
const LETTER_I = 0x49;
/** Where the I of blockID is in BLOCK_START. */
const BLOCK_START_I = 7;

/** The blocks of the answer, each copied into a buffer of its own; the answer's chunks go back
 * to the recycler (they must not be used afterwards). */
export function splitBlockRange(body: Chunks, what: string): BlockSegment[] {
  let segments = splitFast(body);
  if (segments === undefined) {
    const joined = copyChunks(body);
    segments = splitWalking(joined, what);
    rawBuffers.give([joined.buffer as ArrayBuffer]);
  }
  releaseChunks(body);
  checkLinked(segments.map((s) => s.header), what);
  return segments;
}

/** Random access into the chunks, for the few bytes around block boundaries. */
class ChunkBytes {
  private readonly starts: number[] = [];
  constructor(readonly body: Chunks) {
    let offset = 0;
    for (const part of body.parts) {
      this.starts.push(offset);
      offset += part.length;
    }
  }

  /** The byte at `index`, -1 outside the answer. */
  at(index: number): number {
    if (index < 0 || index >= this.body.length) return -1;
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if ((this.starts[middle] as number) <= index) low = middle;
      else high = middle - 1;
    }
    return this.body.parts[low]?.[index - (this.starts[low] as number)] ?? -1;
  }

  matches(index: number, pattern: Uint8Array): boolean {
    for (let i = 0; i < pattern.length; i += 1) if (this.at(index + i) !== pattern[i]) return false;
    return true;
  }

  /** First non-space index at or after `index` (step 1) or at or before it (step -1). */
  skipSpace(index: number, step: 1 | -1): number {
    let i = index;
    while (isSpace(this.at(i))) i += step;
    return i;
  }

  /** Absolute positions of every `{"blockID":"`. */
  blockStarts(): number[] {
    const out: number[] = [];
    this.body.parts.forEach((part, k) => {
      const base = this.starts[k] as number;
      for (let i = part.indexOf(LETTER_I); i >= 0; i = part.indexOf(LETTER_I, i + 1)) {
        const start = base + i - BLOCK_START_I;
        if (this.matches(start, BLOCK_START)) out.push(start);
      }
    });
    return out;
  }
}

function splitFast(body: Chunks): BlockSegment[] | undefined {
  const b = new ChunkBytes(body);
  // `{` `"block"` `:` `[` then the first block (or `]` for none).
  let i = b.skipSpace(0, 1);
  if (b.at(i) !== 0x7b) return undefined;
  i = b.skipSpace(i + 1, 1);
  if (!b.matches(i, ENVELOPE)) return undefined;
  i = b.skipSpace(i + ENVELOPE.length, 1);
  if (b.at(i) !== 0x3a) return undefined;
  i = b.skipSpace(i + 1, 1);
  if (b.at(i) !== 0x5b) return undefined;
  const first = b.skipSpace(i + 1, 1);
  // The end: the block's `}`, the array's `]`, the envelope's `}`.
  let close = b.skipSpace(body.length - 1, -1);
  if (b.at(close) !== 0x7d) return undefined;
  close = b.skipSpace(close - 1, -1);
  if (b.at(close) !== 0x5d) return undefined;
  if (close === first) return [];
  const starts = b.blockStarts();
  if (starts[0] !== first) return undefined;
  const segments: BlockSegment[] = [];
  for (let k = 0; k < starts.length; k += 1) {
    const start = starts[k] as number;
    let end = b.skipSpace((k + 1 < starts.length ? (starts[k + 1] as number) : close) - 1, -1);
    if (k + 1 < starts.length) {
      if (b.at(end) !== 0x2c) return undefined;
      end = b.skipSpace(end - 1, -1);
    }
    if (b.at(end) !== 0x7d || end <= start) return undefined;
    const bytes = copyChunks(body, start, end + 1);
    try {
      segments.push({ bytes, ...readBlockSummary(bytes, 0, bytes.length) });
    } catch (error) {
      // A candidate that is no block means the fast cut was wrong; a real block with a wrong
      // blockID is the node's fault and is reported as such.
      if ((error as { code?: string }).code === 'tron_block_id_mismatch') throw error;
      return undefined;
    }
  }
  return segments;
}

/** The slow, assumption-free cut: walk the array's values with the JSON cursor. */
function splitWalking(bytes: Uint8Array, what: string): BlockSegment[] {
  const segments: BlockSegment[] = [];
  try {
    const c = new JsonCursor(bytes);
    c.openObject();
    while (c.nextKey()) {
      if (!c.is(ENVELOPE_KEY)) {
        c.skipValue();
        continue;
      }
      c.openArray();
      while (c.nextItem()) {
        c.peek();
        const start = c.pos;
        c.skipValue();
        const own = bytes.slice(start, c.pos);
        segments.push({ bytes: own, ...readBlockSummary(own, 0, own.length) });
      }
    }
    c.finish();
  } catch (error) {
    if ((error as { code?: string }).code === 'tron_block_id_mismatch') throw error;
    throw new NonRetryableError('tron_response_malformed', `${what}: ${(error as Error).message}`, {}, { cause: error });
  }
  return segments;
}

const ENVELOPE_KEY = ascii('block');

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}
