// How invoices react to the chain. Plugged into the applier as its PaymentHooks, so every call
// runs inside the transaction that applies the block (or rolls it back): the payment, its ledger
// transfer, the invoice's new state, its event rows and the webhook jobs commit together.
//
// Routing: a payment to an invoice's address credits the merchant while the invoice takes
// payments (pending, confirming, paid: overpayment). Coins that arrive after expiry or
// cancellation, in another asset, or to an address nobody holds go to suspense — recorded,
// reported, never lost.

import type PgBoss from 'pg-boss';
import type { Clock } from '../common.ts';
import type { TransactionSql } from '../db/client.ts';
import type { PaymentCandidate, PaymentHooks, Route } from '../scan/applier.ts';
import type { Payment } from '../scan/payments.ts';
import { enqueueWebhook, webhookEventId } from '../webhooks/outbox.ts';
import { nextState } from './state.ts';
import { insertEvent, lockInvoices, paymentTotals, type Invoice } from './store.ts';
import { webhookPayload, type ViewContext } from './view.ts';

export interface ReactionDeps {
  clock: Clock;
  /** settle_invoices_total{status}. */
  statusCounter?: { inc(labels: { status: string }): void };
  boss: PgBoss | undefined;
  view: () => ViewContext;
  /** The merchant's default callback URL, for invoices created without one. */
  merchantCallback(tx: TransactionSql, merchantId: string): Promise<string | undefined>;
}

const INVOICE_REFERENCE = /^invoice:([0-9a-f-]{36})$/;

export function invoiceIdOf(reference: string | undefined): string | undefined {
  return reference === undefined ? undefined : INVOICE_REFERENCE.exec(reference)?.[1];
}

function takesPayments(invoice: Invoice, nowMs: number): boolean {
  if (invoice.status === 'canceled' || invoice.status === 'expired') return false;
  return invoice.status !== 'pending' || nowMs < invoice.expiresAt.getTime();
}

export function createInvoiceReactions(deps: ReactionDeps): PaymentHooks & {
  refresh(tx: TransactionSql, invoices: Invoice[], cause: RefreshCause): Promise<void>;
} {
  async function route(tx: TransactionSql, candidates: readonly PaymentCandidate[]): Promise<Route[]> {
    const ids = [...new Set(candidates.map((c) => invoiceIdOf(c.address?.reference)).filter((id): id is string => id !== undefined))];
    const invoices = new Map((await lockInvoices(tx, ids)).map((i) => [i.id, i]));
    const nowMs = deps.clock.nowMs();
    return candidates.map((c) => {
      const invoiceId = invoiceIdOf(c.address?.reference);
      const invoice = invoiceId === undefined ? undefined : invoices.get(invoiceId);
      if (invoice === undefined) return { owner: c.address?.owner, reference: c.address?.reference };
      const ok = takesPayments(invoice, nowMs) && invoice.assetCode === c.asset.code;
      return { owner: ok ? invoice.merchantId : undefined, reference: `invoice:${invoice.id}` };
    });
  }

  async function byInvoice(tx: TransactionSql, payments: readonly Payment[], phase: RefreshCause['phase'], tipHeight: number | undefined): Promise<void> {
    const ids = [...new Set(payments.map((p) => invoiceIdOf(p.reference)).filter((id): id is string => id !== undefined))];
    if (ids.length === 0) return;
    const invoices = await lockInvoices(tx, ids);
    await refresh(tx, invoices, { phase, payments, tipHeight });
  }

  async function refresh(tx: TransactionSql, invoices: Invoice[], cause: RefreshCause): Promise<void> {
    const nowMs = deps.clock.nowMs();
    for (const invoice of invoices) {
      const mine = cause.payments.filter((p) => invoiceIdOf(p.reference) === invoice.id);
      const totals = await paymentTotals(tx, invoice);
      const next = nextState(invoice.status, invoice.amount, totals, nowMs >= invoice.expiresAt.getTime());
      const late = cause.phase === 'detected' && mine.some((p) => p.owner === undefined);
      const updated: Invoice = {
        ...invoice,
        status: cause.phase === 'canceled' ? 'canceled' : next.status,
        underpaid: next.underpaid,
        overpaid: next.overpaid,
        paidLate: invoice.paidLate || late,
        receivedAmount: totals.received,
        confirmedAmount: totals.confirmed,
        lastTxid: totals.lastTxid ?? mine[mine.length - 1]?.txid ?? invoice.lastTxid,
        paidAt: next.status === 'paid' ? invoice.paidAt ?? new Date(nowMs) : undefined,
        canceledAt: cause.phase === 'canceled' ? new Date(nowMs) : invoice.canceledAt,
      };
      await tx`
        update invoices set status = ${updated.status}, underpaid = ${updated.underpaid}, overpaid = ${updated.overpaid},
          paid_late = ${updated.paidLate}, received_amount = ${updated.receivedAmount.toString()},
          confirmed_amount = ${updated.confirmedAmount.toString()}, last_txid = ${updated.lastTxid ?? null},
          paid_at = ${updated.paidAt ?? null}, canceled_at = ${updated.canceledAt ?? null}, updated_at = now()
        where id = ${invoice.id}`;
      const tip = cause.tipHeight;
      const confirmationsOf = (p: Payment) => (tip === undefined ? 0 : Math.max(0, tip - p.height + 1));
      for (const payment of mine) {
        const data = { payment_id: payment.id, txid: payment.txid, amount: payment.amount.toString(), height: payment.height, credited: payment.owner === undefined ? 'suspense' : 'merchant', asset: payment.assetCode };
        await insertEvent(tx, invoice.id, `payment_${cause.phase}`, invoice.status, updated.status, data);
      }
      const changed = updated.status !== invoice.status;
      if (changed) {
        await insertEvent(tx, invoice.id, 'status_changed', invoice.status, updated.status, { cause: cause.phase });
        deps.statusCounter?.inc({ status: updated.status });
      }
      const trigger = mine[mine.length - 1];
      if (changed || trigger !== undefined) {
        const type = changed ? `invoice.${updated.status}` : late ? 'invoice.paid_late' : `invoice.payment_${cause.phase}`;
        const causeKey = trigger === undefined ? cause.phase : `${trigger.id}:${cause.phase}`;
        await announce(tx, updated, type, causeKey, trigger?.txid, trigger === undefined ? 0 : confirmationsOf(trigger), trigger?.amount);
      }
    }
  }

  async function announce(tx: TransactionSql, invoice: Invoice, type: string, causeKey: string, txid: string | undefined, confirmations: number, amount: bigint | undefined): Promise<void> {
    if (deps.boss === undefined) return;
    const url = invoice.callbackUrl ?? (await deps.merchantCallback(tx, invoice.merchantId));
    if (url === undefined) return;
    const id = webhookEventId(invoice.id, type, causeKey);
    await enqueueWebhook(tx, deps.boss, {
      id,
      merchantId: invoice.merchantId,
      invoiceId: invoice.id,
      type,
      url,
      payload: webhookPayload(id, type, invoice, deps.view(), { txid, confirmations, amount, createdAt: new Date(deps.clock.nowMs()) }),
    });
  }

  return {
    route,
    refresh,
    onDetected: (tx, payments, tipHeight) => byInvoice(tx, payments, 'detected', tipHeight),
    onConfirmed: (tx, payments, tipHeight) => byInvoice(tx, payments, 'confirmed', tipHeight),
    onOrphaned: (tx, payments) => byInvoice(tx, payments, 'orphaned', undefined),
  };
}

export interface RefreshCause {
  phase: 'detected' | 'confirmed' | 'orphaned' | 'expired' | 'canceled';
  payments: readonly Payment[];
  tipHeight: number | undefined;
}
