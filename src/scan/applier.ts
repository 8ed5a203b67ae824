// The applier: turns decoded blocks into durable state, strictly in chain order, one database
// transaction per batch: chain_blocks rows, payments and their pending ledger transfers, spends,
// settlement at the new tip (payments reaching their confirmations are posted) and the payment
// hooks (invoices, webhook jobs). A rollback (reorg) flags the orphaned blocks and payments and
// voids their pending transfers, or reverses the ones already posted — in one transaction too.
// Transfer ids derive from the payment, so a batch applied twice cannot count money twice.

import type { Logger } from 'pino';
import type { Sql, TransactionSql } from '../db/client.ts';
import { NonRetryableError, assert } from '../errors.ts';
import type { AccountCache } from '../ledger/chart.ts';
import { transferId } from '../ledger/ids.ts';
import type { LedgerWriter } from '../ledger/transfers.ts';
import type { CreateTransferResult, TransferInput } from '../ledger/types.ts';
import { insertBlocks, orphanBlocksAbove, type StoredBlock } from './blocks.ts';
import type { ScanMetrics } from './metrics.ts';
import { insertPayments, markConfirmed, orphanPaymentsOf, selectConfirmable, type Payment } from './payments.ts';
import type { CreditMatch, DecodedBlock, SpendMatch } from './types.ts';

/** An asset the chain's scanner credits: the native coin or a configured token. */
export interface ChainAsset {
  code: string;
  symbol: string;
  ledgerId: number;
  decimals: number;
  confirmations: number;
  /** The token contract as configured; undefined for the native coin. */
  contract: string | undefined;
  /** How matches name it: 'native', or the token contract as the decoder reports it. */
  matchKey: string;
}

/** Where a newly seen payment goes: a merchant's account (owner) or suspense (no owner). */
export interface Route {
  owner: string | undefined;
  reference: string | undefined;
}

export interface AddressRecord {
  id: bigint;
  address: string;
  owner: string | undefined;
  reference: string | undefined;
}

export interface PaymentCandidate {
  match: CreditMatch;
  asset: ChainAsset;
  block: DecodedBlock;
  address: AddressRecord | undefined;
}

/** The invoice layer plugs in here; every call runs inside the apply (or rollback) transaction. */
export interface PaymentHooks {
  route(tx: TransactionSql, candidates: readonly PaymentCandidate[]): Promise<Route[]>;
  onDetected?(tx: TransactionSql, payments: readonly Payment[], tipHeight: number): Promise<void>;
  onConfirmed?(tx: TransactionSql, payments: readonly Payment[], tipHeight: number): Promise<void>;
  onOrphaned?(tx: TransactionSql, payments: readonly Payment[]): Promise<void>;
}

/** Without an invoice layer: an address handed out to an owner credits that owner; any other, suspense. */
export const addressOwnerHooks: PaymentHooks = {
  async route(_tx, candidates) {
    return candidates.map((c) => ({ owner: c.address?.owner, reference: c.address?.reference }));
  },
};

export interface ApplierDeps {
  sql: Sql;
  chain: string;
  writer: LedgerWriter;
  accounts: AccountCache;
  assets: readonly ChainAsset[];
  /** Address rows for matched index keys (hex) of this chain. */
  lookupAddresses(tx: TransactionSql, keys: string[]): Promise<Map<string, AddressRecord>>;
  hooks: PaymentHooks;
  logger: Logger;
  metrics: ScanMetrics;
}

export interface AppliedBatch {
  blocks: StoredBlock[];
  payments: Payment[];
  spends: SpendMatch[];
  confirmed: Payment[];
}

export interface Applier {
  apply(blocks: readonly DecodedBlock[], finalizedHeight: number | undefined): Promise<AppliedBatch>;
  /** Orphans every block above `ancestorHeight`; returns what was orphaned. */
  rollback(ancestorHeight: number): Promise<{ blocks: StoredBlock[]; payments: Payment[] }>;
}

export function createApplier(deps: ApplierDeps): Applier {
  const { sql, chain, writer } = deps;
  const assetsByMatchKey = new Map(deps.assets.map((a) => [a.matchKey, a]));

  async function transfer(tx: TransactionSql, inputs: TransferInput[], what: string): Promise<CreateTransferResult[]> {
    const results = await writer.applyTransfers(tx, inputs);
    results.forEach((result, i) => {
      // `exists` is a replay of the same fact (idempotent); anything else means our own state is wrong.
      if (result !== 'created' && result !== 'exists') {
        throw new NonRetryableError('ledger_refused', `${chain}: the ledger refused the ${what} transfer ${inputs[i]?.id}: ${result}`, { result });
      }
    });
    return results;
  }

  async function apply(blocks: readonly DecodedBlock[], finalizedHeight: number | undefined): Promise<AppliedBatch> {
    assert(blocks.length > 0, 'apply() gets at least one block');
    for (let i = 1; i < blocks.length; i++) {
      assert(blocks[i]?.parentHash === blocks[i - 1]?.hash, 'blocks of a batch are linked (the follower checked)');
    }
    const started = performance.now();
    const outcome = await sql.begin(async (tx) => {
      const blockIds = await insertBlocks(tx, chain, blocks);
      const stored: StoredBlock[] = blocks.map((b, i) => ({ id: blockIds[i] as bigint, height: b.height, hash: b.hash, parentHash: b.parentHash }));
      const payments = await detect(tx, blocks, blockIds);
      const spends = await recordSpends(tx, blocks, blockIds);
      const tip = blocks[blocks.length - 1] as DecodedBlock;
      const confirmed = await settle(tx, tip.height, finalizedHeight);
      return { blocks: stored, payments, spends, confirmed };
    });
    deps.metrics.applySeconds.observe({ chain }, (performance.now() - started) / 1000);
    deps.metrics.applyBlocks.observe({ chain }, blocks.length);
    deps.metrics.blocks.inc({ chain }, blocks.length);
    deps.metrics.paymentsPosted.inc({ chain }, outcome.confirmed.length);
    return outcome;
  }

  async function detect(tx: TransactionSql, blocks: readonly DecodedBlock[], blockIds: bigint[]): Promise<Payment[]> {
    const candidates: PaymentCandidate[] = [];
    const candidateBlockIds: bigint[] = [];
    blocks.forEach((block, i) => {
      for (const match of block.matches) {
        if (match.kind !== 'credit') continue;
        const asset = assetsByMatchKey.get(match.asset);
        if (asset === undefined) continue; // a token the decoder saw but this chain does not credit
        candidates.push({ match, asset, block, address: undefined });
        candidateBlockIds.push(blockIds[i] as bigint);
      }
    });
    deps.metrics.matches.inc({ chain, kind: 'credit' }, candidates.length);
    if (candidates.length === 0) return [];

    const addresses = await deps.lookupAddresses(tx, [...new Set(candidates.map((c) => c.match.key))]);
    for (const candidate of candidates) candidate.address = addresses.get(candidate.match.key);
    const routes = await deps.hooks.route(tx, candidates);
    const accountIds = await deps.accounts.getMany(candidates.flatMap((c, i) => {
      const owner = routes[i]?.owner;
      return [
        { ledger: c.asset.ledgerId, code: 'world' as const },
        owner === undefined ? { ledger: c.asset.ledgerId, code: 'suspense' as const } : { ledger: c.asset.ledgerId, code: 'merchant' as const, owner },
      ];
    }));

    const payments: Payment[] = candidates.map((c, i) => {
      const blockId = candidateBlockIds[i] as bigint;
      const id = transferId(chain, c.match.txid, c.match.position, 'block', blockId, 'payment');
      return {
        id,
        chain,
        txid: c.match.txid,
        position: c.match.position,
        blockId,
        blockHash: c.block.hash,
        height: c.block.height,
        ledger: c.asset.ledgerId,
        assetCode: c.asset.code,
        addressId: c.address?.id,
        address: c.match.address,
        fromAddress: c.match.from,
        amount: c.match.amount,
        creditAccountId: accountIds[i * 2 + 1] as bigint,
        pendingTransferId: transferId(id, 'deposit'),
        confirmationsRequired: c.asset.confirmations,
        owner: routes[i]?.owner,
        reference: routes[i]?.reference,
        confirmedAt: undefined,
        orphanedAt: undefined,
      };
    });
    await insertPayments(tx, payments);
    await transfer(tx, payments.map((p, i) => ({
      id: p.pendingTransferId,
      debitAccountId: accountIds[i * 2] as bigint,
      creditAccountId: p.creditAccountId,
      amount: p.amount,
      ledger: p.ledger,
      code: 'deposit',
      flags: 'pending' as const,
      reference: `payment:${p.id}`,
    })), 'deposit');
    const tip = blocks[blocks.length - 1] as DecodedBlock;
    await deps.hooks.onDetected?.(tx, payments, tip.height);
    return payments;
  }

  async function recordSpends(tx: TransactionSql, blocks: readonly DecodedBlock[], blockIds: bigint[]): Promise<SpendMatch[]> {
    const rows: Array<{ id: string; blockId: bigint; match: SpendMatch }> = [];
    blocks.forEach((block, i) => {
      for (const match of block.matches) {
        if (match.kind !== 'spend') continue;
        const blockId = blockIds[i] as bigint;
        rows.push({ id: transferId(chain, match.txid, match.inputIndex, 'block', blockId, 'spend'), blockId, match });
      }
    });
    deps.metrics.matches.inc({ chain, kind: 'spend' }, rows.length);
    if (rows.length === 0) return [];
    await tx`
      insert into chain_spends (id, chain, block_id, txid, position, prev_txid, prev_vout)
      select id, ${chain}, block_id, txid, position, prev_txid, prev_vout from unnest(
        ${rows.map((r) => r.id)}::uuid[], ${rows.map((r) => r.blockId.toString())}::int8[], ${rows.map((r) => r.match.txid)}::text[],
        ${rows.map((r) => r.match.inputIndex)}::int[], ${rows.map((r) => r.match.prevTxid)}::text[], ${rows.map((r) => r.match.prevVout)}::int[])
        as s (id, block_id, txid, position, prev_txid, prev_vout)`;
    return rows.map((r) => r.match);
  }

  async function settle(tx: TransactionSql, tipHeight: number, finalizedHeight: number | undefined): Promise<Payment[]> {
    const due = await selectConfirmable(tx, chain, tipHeight, finalizedHeight);
    if (due.length === 0) return [];
    await transfer(tx, due.map((p) => ({
      id: transferId(p.id, 'confirm'),
      debitAccountId: 0n,
      creditAccountId: 0n,
      ledger: 0,
      code: 'deposit_confirm',
      flags: 'post_pending' as const,
      pendingId: p.pendingTransferId,
      reference: `payment:${p.id}`,
    })), 'confirmation');
    await markConfirmed(tx, due.map((p) => p.id));
    await deps.hooks.onConfirmed?.(tx, due, tipHeight);
    return due;
  }

  async function rollback(ancestorHeight: number): Promise<{ blocks: StoredBlock[]; payments: Payment[] }> {
    return sql.begin(async (tx) => {
      const blocks = await orphanBlocksAbove(tx, chain, ancestorHeight);
      const blockIds = blocks.map((b) => b.id);
      const payments = await orphanPaymentsOf(tx, blockIds);
      if (blockIds.length > 0) {
        await tx`update chain_spends set orphaned_at = now() where block_id = any(${blockIds.map(String)}::int8[]) and orphaned_at is null`;
      }
      await unwind(tx, payments);
      await deps.hooks.onOrphaned?.(tx, payments);
      deps.metrics.paymentsOrphaned.inc({ chain }, payments.length);
      return { blocks, payments };
    });
  }

  /** Voids the pending transfers of unconfirmed payments; reverses confirmed ones. */
  async function unwind(tx: TransactionSql, payments: readonly Payment[]): Promise<void> {
    const pending = payments.filter((p) => p.confirmedAt === undefined);
    if (pending.length > 0) {
      await transfer(tx, pending.map((p) => ({
        id: transferId(p.id, 'void'),
        debitAccountId: 0n,
        creditAccountId: 0n,
        ledger: 0,
        code: 'deposit_orphaned',
        flags: 'void_pending' as const,
        pendingId: p.pendingTransferId,
        reference: `payment:${p.id}`,
      })), 'void');
    }
    const posted = payments.filter((p) => p.confirmedAt !== undefined);
    if (posted.length === 0) return;
    // A confirmed payment whose block left the chain: the money never arrived. Take it back from
    // the account it credited; where that account has already spent it, the platform's
    // reorg_shortfall account carries the difference (loudly) instead.
    const worlds = await deps.accounts.getMany(posted.map((p) => ({ ledger: p.ledger, code: 'world' as const })));
    const reversal = (p: Payment, i: number, debit: bigint): TransferInput => ({
      id: transferId(p.id, 'reversal'),
      debitAccountId: debit,
      creditAccountId: worlds[i] as bigint,
      amount: p.amount,
      ledger: p.ledger,
      code: 'deposit_reversal',
      reference: `payment:${p.id}`,
    });
    const results = await writer.applyTransfers(tx, posted.map((p, i) => reversal(p, i, p.creditAccountId)));
    const short = posted.map((p, i) => ({ p, i })).filter(({ i }) => results[i] === 'exceeds_credits');
    const refused = results.find((r) => r !== 'created' && r !== 'exists' && r !== 'exceeds_credits');
    if (refused !== undefined) throw new NonRetryableError('ledger_refused', `${chain}: the ledger refused a reversal: ${refused}`);
    if (short.length === 0) return;
    const shortfall = await deps.accounts.getMany(short.map(({ p }) => ({ ledger: p.ledger, code: 'reorg_shortfall' as const })));
    deps.logger.error({ chain, payments: short.map(({ p }) => p.id) }, 'reversed payments exceed what their accounts hold; reorg_shortfall carries the difference');
    await transfer(tx, short.map(({ p, i }, j) => reversal(p, i, shortfall[j] as bigint)), 'reversal');
  }

  return { apply, rollback };
}
