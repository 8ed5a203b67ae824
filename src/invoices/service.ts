// The invoice service: create (with its own deposit address from the pre-derived pool), read,
// list, cancel, and expire. Business outcomes are returned as values; the API layer maps them
// to replies.

import type { Common } from '../common.ts';
import type { Sql } from '../db/client.ts';
import { parseAmount, AmountError } from '../amount.ts';
import type { AddressPool } from '../addresses/pool.ts';
import type { RateSource } from '../prices/rates.ts';
import { usdToBaseUnits } from '../prices/rates.ts';
import type { AssetRegistry, InvoiceAsset } from './assets.ts';
import { canCancel, type InvoiceStatus } from './state.ts';
import { chainTip, insertEvent, insertInvoice, listInvoices, lockInvoices, lockOrder, paymentTotals, selectEvents, selectInvoice, selectOrderHolder, type Invoice, type InvoiceEvent, type ListInvoicesFilter } from './store.ts';
import type { createInvoiceReactions } from './reactions.ts';
import { invoiceCounter } from './metrics.ts';

export interface CreateInvoiceInput {
  asset: string;
  /** Exactly one of amount (decimal string, in the asset) and amountUsd. */
  amount?: string | undefined;
  amountUsd?: string | undefined;
  expiresInMinutes?: number | undefined;
  /** An exact expiry instead of expiresInMinutes. */
  expiresAt?: Date | undefined;
  confirmations?: number | undefined;
  orderId?: string | undefined;
  callbackUrl?: string | undefined;
  metadata?: unknown;
  dialect?: string | undefined;
}

export type CreateInvoiceOutcome =
  | { ok: true; invoice: Invoice }
  | { ok: false; code: 'order_id_in_use'; field: 'order_id'; message: string; invoiceId: string; status: InvoiceStatus }
  | { ok: false; code: 'unknown_asset' | 'no_rate' | 'invalid_amount' | 'amount_too_small' | 'confirmations_out_of_range' | 'expiry_out_of_range'; field: string; message: string };

export type CancelOutcome = { ok: true; invoice: Invoice } | { ok: false; code: 'not_found' | 'not_cancelable'; message: string };

export interface InvoiceService {
  create(merchantId: string, input: CreateInvoiceInput): Promise<CreateInvoiceOutcome>;
  get(merchantId: string | undefined, id: string): Promise<{ invoice: Invoice; events: InvoiceEvent[]; confirmations: number } | undefined>;
  list(filter: ListInvoicesFilter): Promise<Invoice[]>;
  cancel(merchantId: string, id: string): Promise<CancelOutcome>;
  /** Expires pending invoices past their expiry; returns how many. */
  expireDue(limit?: number): Promise<number>;
}

export interface InvoiceServiceDeps {
  common: Common;
  sql: Sql;
  assets: AssetRegistry;
  addressPool: AddressPool;
  rates: RateSource;
  reactions: ReturnType<typeof createInvoiceReactions>;
}

export function createInvoiceService(deps: InvoiceServiceDeps): InvoiceService {
  const { common, sql, assets } = deps;
  const settings = common.config.invoices;

  async function amountOf(asset: InvoiceAsset, input: CreateInvoiceInput): Promise<CreateInvoiceOutcome | { amount: bigint; usd?: string; rate?: string; source?: string }> {
    try {
      if (input.amount !== undefined) return { amount: parseAmount(input.amount, asset.decimals) };
      const usd = input.amountUsd as string;
      parseAmount(usd, 18); // exact decimal text, positive
      const rate = await deps.rates.usdRate(asset.symbol);
      if (rate === undefined) return { ok: false, code: 'no_rate', field: 'amount_usd', message: `no USD rate for ${asset.symbol}; give the amount in ${asset.symbol}` };
      const amount = usdToBaseUnits(usd, rate.rate, asset.decimals);
      return { amount, usd, rate: rate.rate, source: rate.source };
    } catch (error) {
      if (!(error instanceof AmountError)) throw error;
      return { ok: false, code: 'invalid_amount', field: input.amount !== undefined ? 'amount' : 'amount_usd', message: error.message };
    }
  }

  async function create(merchantId: string, input: CreateInvoiceInput): Promise<CreateInvoiceOutcome> {
    const asset = assets.get(input.asset);
    if (asset === undefined) {
      return { ok: false, code: 'unknown_asset', field: 'asset', message: `unknown asset ${input.asset}; GET /v1/assets lists them` };
    }
    const priced = await amountOf(asset, input);
    if ('ok' in priced) return priced;
    if (priced.amount <= 0n) return { ok: false, code: 'amount_too_small', field: 'amount_usd', message: 'the amount is less than one base unit' };
    const confirmations = input.confirmations ?? asset.confirmations;
    if (confirmations < settings.confirmationsMin || confirmations > settings.confirmationsMax) {
      return { ok: false, code: 'confirmations_out_of_range', field: 'confirmations', message: `confirmations must be ${settings.confirmationsMin}..${settings.confirmationsMax}` };
    }
    const now = common.clock.nowMs();
    const expiresAtMs = input.expiresAt?.getTime() ?? now + (input.expiresInMinutes ?? settings.expiryDefaultMinutes) * 60_000;
    if (expiresAtMs <= now || expiresAtMs > now + settings.expiryMaxMinutes * 60_000) {
      const field = input.expiresAt === undefined ? 'expires_in_minutes' : 'expires_at';
      return { ok: false, code: 'expiry_out_of_range', field, message: `the expiry must be in the future and at most ${settings.expiryMaxMinutes} minutes away` };
    }
    const id = uuidV4(common.random.bytes(16));
    const outcome = await sql.begin(async (tx): Promise<CreateInvoiceOutcome> => {
      // An order_id names one order: while an invoice for it is pending, confirming or paid, another
      // is refused; once all expired or were canceled, the shop may issue a new one. Creators of the
      // same order queue on a lock, so two concurrent requests cannot both pass the check.
      if (input.orderId !== undefined && input.dialect === undefined) {
        await lockOrder(tx, merchantId, input.orderId);
        const holder = await selectOrderHolder(tx, merchantId, input.orderId);
        if (holder !== undefined) {
          return { ok: false, code: 'order_id_in_use', field: 'order_id', invoiceId: holder.id, status: holder.status,
            message: `order_id ${JSON.stringify(input.orderId)} is held by invoice ${holder.id} (${holder.status})${holder.status === 'paid' ? '' : '; a new invoice for it can be made once that one is canceled or expired'}` };
        }
      }
      const address = await deps.addressPool.assign(asset.keySpec, { chain: asset.chain, owner: merchantId, reference: `invoice:${id}` }, tx);
      const created: Invoice = {
        id, merchantId, chain: asset.chain, assetCode: asset.code, ledger: asset.ledgerId, amount: priced.amount,
        amountUsd: priced.usd, rateUsd: priced.rate, rateSource: priced.source, addressId: address.id, address: address.address,
        status: 'pending', confirmationsRequired: confirmations, expiresAt: new Date(expiresAtMs), orderId: input.orderId,
        callbackUrl: input.callbackUrl, metadata: input.metadata, dialect: input.dialect, receivedAmount: 0n, confirmedAmount: 0n,
        underpaid: false, overpaid: false, paidLate: false, lastTxid: undefined, createdAt: new Date(now), updatedAt: new Date(now),
        paidAt: undefined, canceledAt: undefined,
      };
      await insertInvoice(tx, created);
      await insertEvent(tx, id, 'created', undefined, 'pending', { amount: priced.amount.toString(), address: address.address });
      return { ok: true, invoice: created };
    });
    if (outcome.ok) invoiceCounter(common.metrics).inc({ status: 'pending' });
    return outcome;
  }

  async function get(merchantId: string | undefined, id: string) {
    const invoice = await selectInvoice(sql, id, merchantId);
    if (invoice === undefined) return undefined;
    const [events, totals, tip] = await Promise.all([selectEvents(sql, id), paymentTotals(sql, invoice), chainTip(sql, invoice.chain)]);
    const confirmations = totals.newestHeight === undefined || tip === undefined ? 0 : Math.max(0, tip - totals.newestHeight + 1);
    return { invoice, events, confirmations };
  }

  async function cancel(merchantId: string, id: string): Promise<CancelOutcome> {
    return sql.begin(async (tx) => {
      const [invoice] = (await lockInvoices(tx, [id])).filter((i) => i.merchantId === merchantId);
      if (invoice === undefined) return { ok: false, code: 'not_found', message: `no invoice ${id}` };
      const totals = await paymentTotals(tx, invoice);
      if (!canCancel(invoice.status, totals.received)) {
        return { ok: false, code: 'not_cancelable', message: `an invoice that is ${invoice.status}${totals.received > 0n ? ' with payments' : ''} cannot be canceled` };
      }
      await deps.reactions.refresh(tx, [invoice], { phase: 'canceled', payments: [], tipHeight: undefined });
      const [updated] = await lockInvoices(tx, [id]);
      return { ok: true, invoice: updated as Invoice };
    });
  }

  async function expireDue(limit = 500): Promise<number> {
    return sql.begin(async (tx) => {
      const due = await tx<{ id: string }[]>`
        select id from invoices where status = 'pending' and expires_at <= ${new Date(common.clock.nowMs())}
        order by id limit ${limit} for update skip locked`;
      if (due.length === 0) return 0;
      const invoices = await lockInvoices(tx, due.map((r) => r.id));
      await deps.reactions.refresh(tx, invoices, { phase: 'expired', payments: [], tipHeight: undefined });
      return invoices.length;
    });
  }

  return { create, get, list: (filter) => listInvoices(sql, filter), cancel, expireDue };
}

export function uuidV4(bytes: Buffer): string {
  const b = Buffer.from(bytes);
  b[6] = ((b[6] as number) & 0x0f) | 0x40;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export type { InvoiceStatus };
