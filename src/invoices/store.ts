// SQL of the invoices and invoice_events tables, in one place.

import type { Queryable, TransactionSql } from '../db/client.ts';
import type { InvoiceStatus } from './state.ts';

export interface Invoice {
  id: string;
  merchantId: string;
  chain: string;
  assetCode: string;
  ledger: number;
  amount: bigint;
  amountUsd: string | undefined;
  rateUsd: string | undefined;
  rateSource: string | undefined;
  addressId: bigint;
  address: string;
  status: InvoiceStatus;
  confirmationsRequired: number;
  expiresAt: Date;
  orderId: string | undefined;
  callbackUrl: string | undefined;
  metadata: unknown;
  dialect: string | undefined;
  receivedAmount: bigint;
  confirmedAmount: bigint;
  underpaid: boolean;
  overpaid: boolean;
  paidLate: boolean;
  lastTxid: string | undefined;
  createdAt: Date;
  updatedAt: Date;
  paidAt: Date | undefined;
  canceledAt: Date | undefined;
}

interface InvoiceRow {
  id: string; merchant_id: string; chain: string; asset_code: string; ledger: number; amount: bigint;
  amount_usd: string | null; rate_usd: string | null; rate_source: string | null; address_id: bigint; address: string;
  status: InvoiceStatus; confirmations_required: number; expires_at: Date; order_id: string | null; callback_url: string | null;
  metadata: unknown; dialect: string | null; received_amount: bigint; confirmed_amount: bigint; underpaid: boolean; overpaid: boolean;
  paid_late: boolean; last_txid: string | null; created_at: Date; updated_at: Date; paid_at: Date | null; canceled_at: Date | null;
}

export const INVOICE_COLUMNS = `id, merchant_id, chain, asset_code, ledger, amount, amount_usd, rate_usd, rate_source, address_id, address,
  status, confirmations_required, expires_at, order_id, callback_url, metadata, dialect, received_amount, confirmed_amount,
  underpaid, overpaid, paid_late, last_txid, created_at, updated_at, paid_at, canceled_at`;

export function invoiceFromRow(r: InvoiceRow): Invoice {
  return {
    id: r.id, merchantId: r.merchant_id, chain: r.chain, assetCode: r.asset_code, ledger: r.ledger, amount: r.amount,
    amountUsd: r.amount_usd ?? undefined, rateUsd: r.rate_usd ?? undefined, rateSource: r.rate_source ?? undefined,
    addressId: r.address_id, address: r.address, status: r.status, confirmationsRequired: r.confirmations_required,
    expiresAt: r.expires_at, orderId: r.order_id ?? undefined, callbackUrl: r.callback_url ?? undefined, metadata: r.metadata ?? undefined,
    dialect: r.dialect ?? undefined, receivedAmount: r.received_amount, confirmedAmount: r.confirmed_amount, underpaid: r.underpaid,
    overpaid: r.overpaid, paidLate: r.paid_late, lastTxid: r.last_txid ?? undefined, createdAt: r.created_at, updatedAt: r.updated_at,
    paidAt: r.paid_at ?? undefined, canceledAt: r.canceled_at ?? undefined,
  };
}

export async function insertInvoice(tx: TransactionSql, invoice: Invoice): Promise<void> {
  await tx`
    insert into invoices (id, merchant_id, chain, asset_code, ledger, amount, amount_usd, rate_usd, rate_source, address_id, address,
                          status, confirmations_required, expires_at, order_id, callback_url, metadata, dialect, created_at, updated_at)
    values (${invoice.id}, ${invoice.merchantId}, ${invoice.chain}, ${invoice.assetCode}, ${invoice.ledger}, ${invoice.amount.toString()},
            ${invoice.amountUsd ?? null}, ${invoice.rateUsd ?? null}, ${invoice.rateSource ?? null}, ${invoice.addressId.toString()},
            ${invoice.address}, ${invoice.status}, ${invoice.confirmationsRequired}, ${invoice.expiresAt}, ${invoice.orderId ?? null},
            ${invoice.callbackUrl ?? null}, ${invoice.metadata === undefined ? null : tx.json(invoice.metadata as never)}, ${invoice.dialect ?? null},
            ${invoice.createdAt}, ${invoice.createdAt})`;
}

/** Arbitrary constant: "settle order ids", the namespace of the per-order creation locks. */
const ORDER_LOCK_NAMESPACE = 0x5e77_0d1d;

/** Queues creators of invoices for the same (merchant, order_id) until the transaction ends. */
export async function lockOrder(tx: TransactionSql, merchantId: string, orderId: string): Promise<void> {
  await tx`select pg_advisory_xact_lock(${ORDER_LOCK_NAMESPACE}, hashtext(${`${merchantId}|${orderId}`}))`;
}

/** The newest invoice that holds the order: pending, confirming or paid (not expired or canceled). */
export async function selectOrderHolder(db: Queryable, merchantId: string, orderId: string): Promise<{ id: string; status: InvoiceStatus } | undefined> {
  const [row] = await db<{ id: string; status: InvoiceStatus }[]>`
    select id, status from invoices
    where merchant_id = ${merchantId} and order_id = ${orderId} and dialect is null and status in ('pending', 'confirming', 'paid')
    order by created_at desc limit 1`;
  return row;
}

export async function selectInvoice(db: Queryable, id: string, merchantId?: string): Promise<Invoice | undefined> {
  const rows = await db.unsafe<InvoiceRow[]>(
    `select ${INVOICE_COLUMNS} from invoices where id = $1 and ($2::text is null or merchant_id = $2)`,
    [id, merchantId ?? null],
  );
  return rows[0] === undefined ? undefined : invoiceFromRow(rows[0]);
}

/** Locks the invoices (in id order, so concurrent writers queue instead of deadlocking). */
export async function lockInvoices(tx: TransactionSql, ids: string[]): Promise<Invoice[]> {
  if (ids.length === 0) return [];
  const rows = await tx.unsafe<InvoiceRow[]>(`select ${INVOICE_COLUMNS} from invoices where id = any($1::uuid[]) order by id for update`, [ids]);
  return rows.map(invoiceFromRow);
}

export interface ListInvoicesFilter {
  merchantId: string;
  status?: InvoiceStatus | undefined;
  createdFrom?: Date | undefined;
  createdTo?: Date | undefined;
  /** Keyset cursor: the (created_at, id) of the last item of the previous page. */
  after?: { createdAt: Date; id: string } | undefined;
  limit: number;
}

export async function listInvoices(db: Queryable, filter: ListInvoicesFilter): Promise<Invoice[]> {
  const rows = await db.unsafe<InvoiceRow[]>(
    `select ${INVOICE_COLUMNS} from invoices
     where merchant_id = $1 and ($2::text is null or status = $2)
       and ($3::timestamptz is null or created_at >= $3) and ($4::timestamptz is null or created_at < $4)
       and ($5::timestamptz is null or (created_at, id) < ($5, $6::uuid))
     order by created_at desc, id desc limit $7`,
    [filter.merchantId, filter.status ?? null, filter.createdFrom ?? null, filter.createdTo ?? null,
      filter.after?.createdAt ?? null, filter.after?.id ?? null, filter.limit],
  );
  return rows.map(invoiceFromRow);
}

export interface InvoiceEvent {
  id: bigint;
  type: string;
  fromStatus: InvoiceStatus | undefined;
  toStatus: InvoiceStatus;
  data: Record<string, unknown>;
  createdAt: Date;
}

export async function insertEvent(tx: TransactionSql, invoiceId: string, type: string, from: InvoiceStatus | undefined, to: InvoiceStatus, data: Record<string, unknown>): Promise<void> {
  await tx`insert into invoice_events (invoice_id, type, from_status, to_status, data) values (${invoiceId}, ${type}, ${from ?? null}, ${to}, ${tx.json(data as never)})`;
}

export async function selectEvents(db: Queryable, invoiceId: string): Promise<InvoiceEvent[]> {
  const rows = await db<{ id: bigint; type: string; from_status: InvoiceStatus | null; to_status: InvoiceStatus; data: Record<string, unknown>; created_at: Date }[]>`
    select id, type, from_status, to_status, data, created_at from invoice_events where invoice_id = ${invoiceId} order by id`;
  return rows.map((r) => ({ id: r.id, type: r.type, fromStatus: r.from_status ?? undefined, toStatus: r.to_status, data: r.data, createdAt: r.created_at }));
}

export interface InvoicePaymentTotals {
  received: bigint;
  confirmed: bigint;
  /** Height of the newest live payment: the one with the fewest confirmations. */
  newestHeight: number | undefined;
  lastTxid: string | undefined;
}

/** Totals of the live payments routed to the invoice (credited to its merchant, in its asset). */
export async function paymentTotals(db: Queryable, invoice: Pick<Invoice, 'id' | 'chain' | 'assetCode'>): Promise<InvoicePaymentTotals> {
  const [row] = await db<{ received: bigint | null; confirmed: bigint | null; highest: bigint | null; last_txid: string | null }[]>`
    select sum(amount) as received,
           sum(amount) filter (where confirmed_at is not null) as confirmed,
           max(height) as highest,
           (array_agg(txid order by height desc, seen_at desc))[1] as last_txid
    from payments
    where reference = ${`invoice:${invoice.id}`} and chain = ${invoice.chain} and asset_code = ${invoice.assetCode}
      and owner is not null and orphaned_at is null`;
  return {
    received: row?.received ?? 0n,
    confirmed: row?.confirmed ?? 0n,
    newestHeight: row?.highest === null || row?.highest === undefined ? undefined : Number(row.highest),
    lastTxid: row?.last_txid ?? undefined,
  };
}

export async function chainTip(db: Queryable, chain: string): Promise<number | undefined> {
  const [row] = await db<{ height: bigint | null }[]>`select max(height) as height from chain_blocks where chain = ${chain} and orphaned_at is null`;
  return row?.height === null || row?.height === undefined ? undefined : Number(row.height);
}
