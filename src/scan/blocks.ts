// chain_blocks: the blocks a chain's scanner applied. The canonical ones (orphaned_at is null)
// form the scanner's window; the top one is its cursor. Rows leaving the chain are flagged.

import type { Queryable, TransactionSql } from '../db/client.ts';
import type { BlockRef, DecodedBlock } from './types.ts';

export interface StoredBlock extends BlockRef {
  id: bigint;
}

/** The newest `count` canonical blocks, oldest first. */
export async function loadWindow(db: Queryable, chain: string, count: number): Promise<StoredBlock[]> {
  const rows = await db<{ id: bigint; height: bigint; hash: string; parent_hash: string }[]>`
    select id, height, hash, parent_hash from chain_blocks
    where chain = ${chain} and orphaned_at is null
    order by height desc limit ${count}`;
  return rows.reverse().map((r) => ({ id: r.id, height: Number(r.height), hash: r.hash, parentHash: r.parent_hash }));
}

/** Inserts the blocks as canonical; returns their row ids in order. */
export async function insertBlocks(tx: TransactionSql, chain: string, blocks: readonly DecodedBlock[]): Promise<bigint[]> {
  const rows = await tx<{ id: bigint; hash: string }[]>`
    insert into chain_blocks (chain, height, hash, parent_hash, timestamp_s, tx_count)
    select ${chain}, * from unnest(
      ${blocks.map((b) => b.height)}::int8[], ${blocks.map((b) => b.hash)}::text[], ${blocks.map((b) => b.parentHash)}::text[],
      ${blocks.map((b) => b.timestampS)}::int8[], ${blocks.map((b) => b.txCount)}::int[])
    returning id, hash`;
  const byHash = new Map(rows.map((r) => [r.hash, r.id]));
  return blocks.map((b) => byHash.get(b.hash) as bigint);
}

/** Flags every canonical block above `height` as orphaned; returns them. */
export async function orphanBlocksAbove(tx: TransactionSql, chain: string, height: number): Promise<StoredBlock[]> {
  const rows = await tx<{ id: bigint; height: bigint; hash: string; parent_hash: string }[]>`
    update chain_blocks set orphaned_at = now()
    where chain = ${chain} and orphaned_at is null and height > ${height}
    returning id, height, hash, parent_hash`;
  return rows.map((r) => ({ id: r.id, height: Number(r.height), hash: r.hash, parentHash: r.parent_hash })).sort((a, b) => a.height - b.height);
}

/**
 * Forgets canonical blocks below `height` that hold no payment and no spend: they are past any
 * reorg Settle follows and nothing refers to them. Bounded per call.
 */
export async function pruneBlocksBelow(db: Queryable, chain: string, height: number, limit = 10_000): Promise<number> {
  const rows = await db`
    delete from chain_blocks b
    where b.id in (
      select id from chain_blocks
      where chain = ${chain} and orphaned_at is null and height < ${height}
        and not exists (select 1 from payments p where p.block_id = chain_blocks.id)
        and not exists (select 1 from chain_spends s where s.block_id = chain_blocks.id)
      limit ${limit})`;
  return rows.count;
}
