// The decode pool: piscina worker threads that turn raw blocks into matches (worker.ts).
//
// - Raw block buffers are moved into the worker (transferList), never copied: the ArrayBuffers in
//   task.blocks[].parts are detached when the task is handed to piscina (before decode() returns
//   when there is room, later when the caller had to wait) and must not be used after decode().
// - The AddressIndex buffers in task.index are SharedArrayBuffers: shared, not copied.
// - Backpressure, not errors: at most `threads` running plus `queueMax` queued tasks are handed to
//   piscina; further decode() calls wait (FIFO) until one finishes. A caller that keeps a bounded
//   number of decodes in flight (the scanner's prefetch window) is thus slowed, never failed.
// - One result per block, in the order of task.blocks (a raw range: one per block it holds).
// - Optionally (options.recycle) the raw buffers come back after decoding, for reuse.

import { Piscina } from 'piscina';
import { assert, BlockDecodeError, NonRetryableError, RetryableError } from '../errors.ts';
import { blocksIn, type DecodedBlock, type DecodeTask } from './types.ts';
import type { SerializedError, WorkerRequest, WorkerResult } from './worker.ts';

/** Callers waiting for a queue slot beyond this are a runaway producer: a programmer error. */
const WAITERS_MAX = 100_000;
/** Each worker holds its next task while decoding the current one, so it never sleeps between
 * tasks waiting for the main thread to hand it more. Measured with bench:utxo (2 threads, block
 * 702861): 1 → ~700 blocks/s with 1.8 cores busy, 2 → ~870 blocks/s with 1.95 cores busy. */
export const TASKS_PER_THREAD_DEFAULT = 2;
/** Idle workers are kept: decoding is the hot path and a thread start costs ~100 ms (tsx). */
const IDLE_TIMEOUT_MS = 2 ** 31 - 1;

export interface DecodePoolOptions {
  threads: number;
  queueMax: number;
  /** Tasks each worker holds at once (the next one waits in the worker, not on the main thread). */
  tasksPerThread?: number;
  /** When given, the raw buffers of each task are moved back from the worker after decoding and
   * handed to this function, so that the caller can read the next blocks into them. Without it
   * every block's buffer is a new allocation that the worker's GC must free (measured: external
   * memory pressure made the workers run a GC every ~30 blocks). */
  recycle?: ((buffers: ArrayBuffer[]) => void) | undefined;
}

export interface DecodePool {
  /** Decodes the task's blocks in a worker; resolves with one DecodedBlock per block (a raw range
   * gives one per block it holds), in order. */
  decode(task: DecodeTask): Promise<DecodedBlock[]>;
  /** Tasks waiting for a worker: piscina's queue plus callers waiting for room in it. */
  queueDepth(): number;
  /** Lets running and queued tasks finish, then stops the threads. */
  close(): Promise<void>;
}

export function createDecodePool(options: DecodePoolOptions): DecodePool {
  assert(Number.isInteger(options.threads) && options.threads >= 1, 'threads must be a positive integer');
  assert(Number.isInteger(options.queueMax) && options.queueMax >= 1, 'queueMax must be a positive integer');
  const piscina = new Piscina<WorkerRequest, WorkerResult>({
    filename: new URL('./worker-entry.mjs', import.meta.url).href,
    minThreads: options.threads,
    maxThreads: options.threads,
    maxQueue: options.queueMax,
    concurrentTasksPerWorker: options.tasksPerThread ?? TASKS_PER_THREAD_DEFAULT,
    idleTimeout: IDLE_TIMEOUT_MS,
  });
  const inFlightMax = options.threads * (options.tasksPerThread ?? TASKS_PER_THREAD_DEFAULT) + options.queueMax;
  let inFlight = 0;
  let closed = false;
  const waiting: Array<() => void> = [];

  /** Resolves when a slot is free; the slot is handed over by release() without inFlight changing. */
  function waitForSlot(): Promise<void> {
    assert(waiting.length < WAITERS_MAX, `more than ${WAITERS_MAX} decode calls waiting: the caller does not bound its work`);
    return new Promise<void>((resolve) => waiting.push(resolve));
  }

  function release(): void {
    const next = waiting.shift();
    if (next !== undefined) next();
    else inFlight -= 1;
  }

  async function run(task: DecodeTask): Promise<DecodedBlock[]> {
    let result: WorkerResult;
    try {
      const transferList = task.blocks.flatMap((block) => block.parts);
      result = await piscina.run({ task, recycle: options.recycle !== undefined }, { transferList });
    } finally {
      release();
    }
    if (result.buffers !== undefined) options.recycle?.(result.buffers);
    if (!result.ok) throw reviveError(result.error, task);
    const expected = task.blocks.reduce((sum, raw) => sum + blocksIn(raw), 0);
    assert(result.blocks.length === expected, `worker returned ${result.blocks.length} results for ${expected} blocks`);
    return result.blocks;
  }

  return {
    decode(task) {
      if (closed) return Promise.reject(new NonRetryableError('decode_pool_closed', 'the decode pool is closed'));
      // With room, the task (and its buffers) goes to piscina before decode() returns.
      if (inFlight < inFlightMax) {
        inFlight += 1;
        return run(task);
      }
      return waitForSlot().then(() => run(task));
    },
    queueDepth() {
      return piscina.queueSize + waiting.length;
    },
    async close() {
      closed = true;
      await piscina.close();
    },
  };
}

/** The worker's error as the class it had there (see worker.ts). */
function reviveError(error: SerializedError, task: DecodeTask): Error {
  const where = `${task.chain} blocks ${task.blocks[0]?.height}..${task.blocks.at(-1)?.height}`;
  const details = { ...error.details, chain: task.chain };
  if (error.name === 'BlockDecodeError' && typeof error.details.offset === 'number') {
    return new BlockDecodeError(error.message.replace(/ \(at byte offset \d+\)$/, ''), { ...details, offset: error.details.offset });
  }
  if (error.name === 'RetryableError') return new RetryableError(error.code ?? 'decode_failed', error.message, details);
  if (error.code !== undefined && error.name !== 'Error') return new NonRetryableError(error.code, error.message, details);
  // Anything else is a bug in a decoder: keep the worker's stack for the log.
  const bug = new Error(`decode worker failed on ${where}: ${error.name}: ${error.message}`);
  bug.stack = `${bug.message}\n--- worker stack ---\n${error.stack ?? '(none)'}`;
  return bug;
}
