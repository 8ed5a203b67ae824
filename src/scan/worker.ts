// A decode worker thread: receives a DecodeTask (raw blocks moved in, the index buffers shared),
// decodes each block with its family's decode.ts and returns only the results (header facts and
// matches). Parsed block object graphs never leave the thread.
//
// Families plug in by convention, without editing this file: src/chains/<family>/decode.ts exports
// `decodeBlock(raw, index, options)`. Modules are imported once per thread and cached.
//
// Errors come back as values (WorkerResult), because structured cloning drops an error's class
// and fields; pool.ts turns them back into the same error classes on the main thread.

import { move, transferableSymbol, valueSymbol } from 'piscina';
import { z } from 'zod';
import { IndexView } from './address-index.ts';
import type { DecodedBlock, DecodeOptions, DecodeTask, RawBlock } from './types.ts';

export interface FamilyDecoder {
  decodeBlock(raw: RawBlock, index: IndexView, options: DecodeOptions): DecodedBlock;
  /** A raw block with `count`: one answer holding that many consecutive blocks (types.ts). */
  decodeRange?(raw: RawBlock, index: IndexView, options: DecodeOptions): DecodedBlock[];
}

export interface SerializedError {
  name: string;
  code: string | undefined;
  message: string;
  details: Record<string, unknown>;
  stack: string | undefined;
}

/** The message pool.ts sends: the task, and whether to move the raw buffers back afterwards. */
export interface WorkerRequest {
  task: DecodeTask;
  recycle: boolean;
}

export type WorkerResult = ({ ok: true; blocks: DecodedBlock[] } | { ok: false; error: SerializedError }) & {
  /** The task's raw buffers, moved back for reuse when the request asked for it. */
  buffers?: ArrayBuffer[] | undefined;
};

/** Blocks one raw range may hold (TRON answers hold at most 100). */
const RANGE_BLOCKS_MAX = 1_000;

/** The worker message is a boundary: checked before use. */
const TaskSchema = z.object({
  family: z.enum(['utxo', 'evm', 'tron']),
  chain: z.string().min(1),
  blocks: z
    .array(
      z.object({
        height: z.number().int().min(0),
        count: z.number().int().min(1).max(RANGE_BLOCKS_MAX).optional(),
        expectedHash: z.string().optional(),
        parts: z.array(z.instanceof(ArrayBuffer)).min(1).max(RANGE_BLOCKS_MAX + 1),
        lengths: z.array(z.number().int().min(0)).max(RANGE_BLOCKS_MAX + 1).optional(),
      }),
    )
    .min(1)
    .max(100_000),
  index: z.object({ keys: z.instanceof(SharedArrayBuffer), outpoints: z.instanceof(SharedArrayBuffer).optional() }),
  options: z.looseObject({ coin: z.string().optional(), network: z.string().optional(), tokens: z.array(z.string()).optional() }),
});

const RequestSchema = z.object({ task: TaskSchema, recycle: z.boolean() });

const decoders = new Map<string, Promise<FamilyDecoder>>();

function decoderFor(family: 'utxo' | 'evm' | 'tron'): Promise<FamilyDecoder> {
  let decoder = decoders.get(family);
  if (decoder === undefined) {
    // The family name comes from the enum above, so the path stays inside src/chains.
    decoder = import(new URL(`../chains/${family}/decode.ts`, import.meta.url).href) as Promise<FamilyDecoder>;
    decoders.set(family, decoder);
  }
  return decoder;
}

export default async function decodeTask(message: unknown): Promise<WorkerResult> {
  let result: WorkerResult;
  let buffers: ArrayBuffer[] = [];
  try {
    const { task, recycle } = RequestSchema.parse(message);
    if (recycle) buffers = task.blocks.flatMap((block) => block.parts);
    const decoder = await decoderFor(task.family);
    const index = IndexView.from(task.index);
    const blocks: DecodedBlock[] = [];
    for (const raw of task.blocks) {
      if (raw.count === undefined) blocks.push(decoder.decodeBlock(raw, index, task.options));
      else if (decoder.decodeRange !== undefined) blocks.push(...decoder.decodeRange(raw, index, task.options));
      else throw new Error(`the ${task.family} decoder reads one block at a time; got a range of ${raw.count}`);
    }
    result = { ok: true, blocks };
  } catch (error) {
    result = { ok: false, error: serializeError(error) };
  }
  if (buffers.length === 0) return result;
  // Moved, not copied: the buffers leave this thread (nothing here refers to them any more).
  return move({ [transferableSymbol]: buffers, [valueSymbol]: { ...result, buffers } } as never) as unknown as WorkerResult;
}

function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', code: undefined, message: String(error), details: {}, stack: undefined };
  const { code, details } = error as { code?: unknown; details?: unknown };
  return {
    name: error.name,
    code: typeof code === 'string' ? code : undefined,
    message: error.message,
    // Details are small plain values (offsets, heights, hashes); JSON keeps them cloneable.
    details: details !== null && typeof details === 'object' ? (JSON.parse(JSON.stringify(details, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))) as Record<string, unknown>) : {},
    stack: error.stack,
  };
}
