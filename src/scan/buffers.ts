// Buffers for raw block bytes, reused instead of allocated per block. A scanner moves hundreds of
// megabytes a second from sockets into buffers that go to the decode workers. Allocated afresh,
// each buffer is new pages the kernel must fault in and zero (measured: copying 343 KB into a
// fresh buffer costs ~95 µs, into a reused one ~8 µs) and external memory that makes V8 collect
// more often on the main thread and in the workers. Here a buffer comes from a free list of its
// size class, goes to a worker with a block, comes back when the worker is done (the pool's
// `recycle` option) and serves the next block.
//
// Rules for callers, since a buffer given back may be handed out again at once:
// - give() only buffers nothing refers to any more (the bytes were copied out, or the worker
//   that read them moved them back).
// - Capacity is a size class, not the size asked for: the bytes used are recorded beside the
//   buffer (RawBlock.lengths), and partBytes() reads only those.
// - Taking and never giving back is fine: the buffer is then collected like any other.
//
// Runs on the main thread and in workers (partBytes): no imports.

/** Smallest class: below this, allocation is cheap (malloc reuses freed chunks by itself). */
const CLASS_BYTES_MIN = 64 * 1024;
/** Largest class kept: bigger buffers are allocated and freed as usual. */
const CLASS_BYTES_MAX = 256 * 1024 * 1024;
/** Bytes kept on the free lists at most, all classes together. */
const KEPT_BYTES_MAX = 512 * 1024 * 1024;

export class BufferRecycler {
  private readonly free = new Map<number, ArrayBuffer[]>();
  /** Every buffer on a free list, to refuse one given twice without searching the lists. */
  private readonly onLists = new Set<ArrayBuffer>();
  private keptBytes = 0;
  /** Buffers handed out from a free list, and allocated afresh (for tests and metrics). */
  reused = 0;
  allocated = 0;

  constructor(private readonly keptBytesMax = KEPT_BYTES_MAX) {}

  /** A buffer of at least `bytes` bytes (its content is whatever it held before). */
  take(bytes: number): ArrayBuffer {
    const size = classOf(bytes);
    if (size === undefined) {
      this.allocated += 1;
      return Buffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer;
    }
    const list = this.free.get(size);
    const found = list?.pop();
    if (found !== undefined) {
      this.onLists.delete(found);
      this.keptBytes -= size;
      this.reused += 1;
      return found;
    }
    this.allocated += 1;
    // allocUnsafeSlow: an ArrayBuffer of its own (never a slice of Node's shared pool, which must
    // not be moved to a worker), not zero-filled.
    return Buffer.allocUnsafeSlow(size).buffer as ArrayBuffer;
  }

  /** Buffers nothing refers to any more. Detached ones (moved to a worker) and odd sizes are dropped. */
  give(buffers: Iterable<ArrayBuffer>): void {
    for (const buffer of buffers) {
      const size = buffer.byteLength;
      if (classOf(size) !== size) continue;
      // A buffer given twice would be handed to two owners at once: refuse the programmer error.
      if (this.onLists.has(buffer)) throw new Error('a buffer was given back twice');
      if (this.keptBytes + size > this.keptBytesMax) continue;
      let list = this.free.get(size);
      if (list === undefined) this.free.set(size, (list = []));
      list.push(buffer);
      this.onLists.add(buffer);
      this.keptBytes += size;
    }
  }

  /** Bytes waiting on the free lists. */
  get kept(): number {
    return this.keptBytes;
  }
}

/** The size class for `bytes`: the next power of two from 64 KB; undefined beyond the largest. */
function classOf(bytes: number): number | undefined {
  if (bytes > CLASS_BYTES_MAX) return undefined;
  let size = CLASS_BYTES_MIN;
  while (size < bytes) size *= 2;
  return size;
}

/** The process's recycler for raw block bytes: adapters take from it, the decode pool gives back. */
export const rawBuffers = new BufferRecycler();

/** Part `i` of a raw block as bytes: its first `lengths[i]` bytes when lengths are given (a
 * recycled buffer is larger than its content), else the whole buffer. */
export function partBytes(parts: readonly ArrayBuffer[], lengths: readonly number[] | undefined, i: number): Uint8Array {
  const part = parts[i];
  if (part === undefined) throw new RangeError(`raw block part ${i} does not exist`);
  const length = lengths?.[i] ?? part.byteLength;
  if (!Number.isInteger(length) || length < 0 || length > part.byteLength) throw new RangeError(`raw block part ${i}: length ${length} outside its ${part.byteLength} bytes`);
  return new Uint8Array(part, 0, length);
}
