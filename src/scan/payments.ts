// payments: one row per appearance of a credit on chain. Confirmations are never stored: they
// are computed from the scanner's tip (tip − height + 1) whenever they are needed.

import type { Queryable, TransactionSql } from '../db/client.ts';

export interface Payment {
  id: string;
  chain: string;
  txid: string;
  position: number;
  blockId: bigint;
  blockHash: string;
  height: number;
  ledger: number;
  assetCode: string;
  addressId: bigint | undefined;
  address: string;
  fromAddress: string | undefined;
  amount: bigint;
  creditAccountId: bigint;
  pendingTransferId: string;
  confirmationsRequired: number;
  owner: string | undefined;
  reference: string | undefined;
  confirmedAt: Date | undefined;
  orphanedAt: Date | undefined;
}

interface PaymentRow {
  id: string;
  chain: string;
  txid: string;
  position: number;
  block_id: bigint;
  block_hash: string;
  height: bigint;
  ledger: number;
  asset_code: string;
  address_id: bigint | null;
  address: string;
  from_address: string | null;
  amount: bigint;
  credit_account_id: bigint;
  pending_transfer_id: string;
  confirmations_required: number;
  owner: string | null;
  reference: string | null;
  confirmed_at: Date | null;
  orphaned_at: Date | null;
}

function fromRow(r: PaymentRow): Payment {
  return {
    id: r.id,
    chain: r.chain,
    txid: r.txid,
    position: r.position,
    blockId: r.block_id,
    blockHash: r.block_hash,
    height: Number(r.height),
    ledger: r.ledger,
    assetCode: r.asset_code,
    addressId: r.address_id ?? undefined,
    address: r.address,
    fromAddress: r.from_address ?? undefined,
    amount: r.amount,
    creditAccountId: r.credit_account_id,
    pendingTransferId: r.pending_transfer_id,
    confirmationsRequired: r.confirmations_required,
    owner: r.owner ?? undefined,
    reference: r.reference ?? undefined,
    confirmedAt: r.confirmed_at ?? undefined,
    orphanedAt: r.orphaned_at ?? undefined,
  };
}

const COLUMNS = 'id, chain, txid, position, block_id, block_hash, height, ledger, asset_code, address_id, address, from_address, amount, credit_account_id, pending_transfer_id, confirmations_required, owner, reference, confirmed_at, orphaned_at';

export async function insertPayments(tx: TransactionSql, payments: readonly Payment[]): Promise<void> {
  if (payments.length === 0) return;
  const col = <T>(f: (p: Payment) => T) => payments.map(f);
  await tx`
    insert into payments (id, chain, txid, position, block_id, block_hash, height, ledger, asset_code, address_id, address,
                          from_address, amount, credit_account_id, pending_transfer_id, confirmations_required, owner, reference)
    select * from unnest(
      ${col((p) => p.id)}::uuid[], ${col((p) => p.chain)}::text[], ${col((p) => p.txid)}::text[], ${col((p) => p.position)}::int[],
      ${col((p) => p.blockId.toString())}::int8[], ${col((p) => p.blockHash)}::text[], ${col((p) => p.height)}::int8[],
      ${col((p) => p.ledger)}::int[], ${col((p) => p.assetCode)}::text[], ${col((p) => p.addressId?.toString() ?? null)}::int8[],
      ${col((p) => p.address)}::text[], ${col((p) => p.fromAddress ?? null)}::text[], ${col((p) => p.amount.toString())}::numeric[],
      ${col((p) => p.creditAccountId.toString())}::int8[], ${col((p) => p.pendingTransferId)}::uuid[],
      ${col((p) => p.confirmationsRequired)}::int[], ${col((p) => p.owner ?? null)}::text[], ${col((p) => p.reference ?? null)}::text[])`;
}

/** Open payments of the chain that the tip (or finality) now confirms. */
export async function selectConfirmable(db: Queryable, chain: string, tipHeight: number, finalizedHeight: number | undefined): Promise<Payment[]> {
  const rows = await db.unsafe<PaymentRow[]>(
    `select ${COLUMNS} from payments
     where chain = $1 and confirmed_at is null and orphaned_at is null and height <= $2
       and ($2 - height + 1 >= confirmations_required or height <= $3)`,
    [chain, tipHeight, finalizedHeight ?? -1],
  );
  return rows.map(fromRow);
}

export async function markConfirmed(tx: TransactionSql, ids: string[]): Promise<void> {
  if (ids.length > 0) await tx`update payments set confirmed_at = now() where id = any(${ids}::uuid[])`;
}

/** Flags the live payments of these blocks as orphaned and returns them as they were. */
export async function orphanPaymentsOf(tx: TransactionSql, blockIds: bigint[]): Promise<Payment[]> {
  if (blockIds.length === 0) return [];
  const rows = await tx.unsafe<PaymentRow[]>(
    `update payments p set orphaned_at = now()
     where block_id = any($1::int8[]) and orphaned_at is null
     returning ${COLUMNS.split(', ').map((c) => `p.${c}`).join(', ')}`,
    [blockIds.map(String)],
  );
  // RETURNING shows the new orphaned_at; callers want the state before (was it confirmed?), which is unchanged.
  return rows.map(fromRow);
}

export async function selectPaymentsByIds(db: Queryable, ids: string[]): Promise<Payment[]> {
  if (ids.length === 0) return [];
  const rows = await db.unsafe<PaymentRow[]>(`select ${COLUMNS} from payments where id = any($1::uuid[])`, [ids]);
  return rows.map(fromRow);
}

/** Our live outputs (utxo) for the spend index: paid to us, block canonical, not seen spent. */
export async function selectLiveOutpoints(db: Queryable, chain: string): Promise<Array<{ txid: string; vout: number }>> {
  return db<{ txid: string; vout: number }[]>`
    select p.txid, p.position as vout from payments p
    where p.chain = ${chain} and p.orphaned_at is null and p.position >= 0
      and not exists (select 1 from chain_spends s where s.chain = p.chain and s.prev_txid = p.txid and s.prev_vout = p.position and s.orphaned_at is null)`;
}
