// How invoices react to the chain. Plugged into the applier as its PaymentHooks, so every call
// runs inside the transaction that applies the block (or rolls it back): the payment, its ledger
// transfer, the invoice's new state, its event rows and the webhook jobs commit together.
//
// Routing: a payment to an invoice's address credits the merchant while the invoice takes
// payments (pending, confirming, paid: overpayment). Coins that arrive after expiry or
// cancellation, in another asset, or to an address nobody holds go to suspense — recorded,
// reported, never lost.
//
// Webhooks, one set whatever the path: every payment to the invoice's address sends
// invoice.payment_detected when seen, invoice.payment_confirmed when confirmed and
// invoice.payment_orphaned if its block leaves the chain (full, partial, over or late alike; a late
// one says credited: suspense); every change of status sends invoice.<new status> (confirming,
// paid, expired, canceled, or pending again after a reorg).

import type PgBoss from 'pg-boss';
import type { Clock } from '../common.ts';
import { assert } from '../errors.ts';
import type { TransactionSql } from '../db/client.ts';
import type { PaymentCandidate, PaymentHooks, Route } from '../scan/applier.ts';
import type { Payment } from '../scan/payments.ts';
import { enqueueWebhook, webhookEventId } from '../webhooks/outbox.ts';
import { nextState } from './state.ts';
import { insertEvent, lockInvoices, paymentTotals, type Invoice } from './store.ts';
import { webhookPayload, type ViewContext, type WebhookEventType } from './view.ts';

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
      // One webhook per payment and phase (seen, confirmed, left the chain), whether it completes
      // the invoice, is part of it, is too much, or came late; and one per change of status.
      for (const payment of mine) {
        await insertEvent(tx, invoice.id, `payment_${cause.phase}`, invoice.status, updated.status, paymentEventData(payment));
        await announce(tx, updated, paymentEventType(cause.phase), `${payment.id}:${cause.phase}`, payment, confirmationsOf(payment));
      }
      if (updated.status !== invoice.status) {
        await insertEvent(tx, invoice.id, 'status_changed', invoice.status, updated.status, { cause: cause.phase });
        deps.statusCounter?.inc({ status: updated.status });
        const trigger = mine[mine.length - 1];
        const causeKey = trigger === undefined ? cause.phase : `${trigger.id}:${cause.phase}`;
        await announce(tx, updated, `invoice.${updated.status}`, causeKey, trigger, trigger === undefined ? 0 : confirmationsOf(trigger));
      }
    }
  }

  async function announce(tx: TransactionSql, invoice: Invoice, type: WebhookEventType, causeKey: string, payment: Payment | undefined, confirmations: number): Promise<void> {
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
      payload: webhookPayload(id, type, invoice, deps.view(), { payment, confirmations, createdAt: new Date(deps.clock.nowMs()) }),
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

function paymentEventType(phase: RefreshCause['phase']): WebhookEventType {
  assert(phase === 'detected' || phase === 'confirmed' || phase === 'orphaned', `payments refreshed for ${phase}`);
  return `invoice.payment_${phase}`;
}

/** What an invoice event row keeps about a payment: base units, the bare txid (views format them). */
function paymentEventData(payment: Payment): Record<string, unknown> {
  return {
    payment_id: payment.id, txid: payment.txid, amount: payment.amount.toString(), height: payment.height,
    credited: payment.owner === undefined ? 'suspense' : 'merchant', asset: payment.assetCode,
  };
}

export interface RefreshCause {
  phase: 'detected' | 'confirmed' | 'orphaned' | 'expired' | 'canceled';
  payments: readonly Payment[];
  tipHeight: number | undefined;
}
