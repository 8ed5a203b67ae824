// The follower's decisions, as small functions over the window of applied blocks (oldest first).
// For each new head there are four cases (after Ponder's realtime sync):
//   same   — the head is our tip: nothing to do;
//   next   — the head is one above our tip: fetch it (its parent must be our tip);
//   gap    — the head is further ahead: fetch the missing blocks (bounded batches);
//   reorg  — a fetched block's parent is not our tip, or the head fell below our tip: walk back,
//            at most reorgDepthMax blocks, to the newest block the node still has; past that
//            bound the chain halts: Settle never continues on a chain it cannot reconcile.

import { NonRetryableError } from '../errors.ts';
import type { BlockRef, ChainHead } from './types.ts';

export type HeadCase = 'start' | 'same' | 'next' | 'gap' | 'behind';

export function classifyHead(tip: BlockRef | undefined, head: ChainHead): HeadCase {
  if (tip === undefined) return 'start';
  if (head.height === tip.height && head.hash === tip.hash) return 'same';
  if (head.height <= tip.height) return 'behind'; // same height, other hash; or a shorter chain
  return head.height === tip.height + 1 ? 'next' : 'gap';
}

/** True when `block` extends the window (or the window is empty). */
export function extendsTip(tip: BlockRef | undefined, block: BlockRef): boolean {
  return tip === undefined || (block.height === tip.height + 1 && block.parentHash === tip.hash);
}

export class ReorgTooDeepError extends NonRetryableError {
  constructor(chain: string, depthMax: number, reason: string) {
    super('reorg_too_deep', `${chain}: unrecoverable reorg — ${reason}; the scanner halts (reorgDepthMax ${depthMax}). Check the node, then restart once it is on a chain Settle can reconcile.`, { chain, depthMax });
  }
}

/**
 * Walks back from the tip to the newest block of the window the node still has at its height.
 * Returns that common ancestor's height. `blockRef` asks the node for its canonical block at a
 * height. Bounded: at most `depthMax` blocks below the tip.
 */
export async function findCommonAncestor(
  chain: string,
  window: readonly BlockRef[],
  blockRef: (height: number) => Promise<BlockRef | undefined>,
  depthMax: number,
): Promise<number> {
  const tip = window[window.length - 1];
  if (tip === undefined) throw new ReorgTooDeepError(chain, depthMax, 'no applied blocks to walk back through');
  for (let depth = 0; depth <= depthMax; depth++) {
    const height = tip.height - depth;
    const ours = window[window.length - 1 - depth];
    if (ours === undefined || ours.height !== height) {
      throw new ReorgTooDeepError(chain, depthMax, `no common ancestor within the ${window.length} blocks Settle keeps (down to height ${tip.height - depth + 1})`);
    }
    const theirs = await blockRef(height);
    if (theirs !== undefined && theirs.hash === ours.hash) return height;
  }
  throw new ReorgTooDeepError(chain, depthMax, `the node's chain shares no block with ours within ${depthMax} blocks of our tip ${tip.height}`);
}
