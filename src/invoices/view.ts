// How an invoice is shown: the native API's JSON, its event history and the webhook payload.
// Amounts are decimal strings in whole units of their asset (formatted from base units with the
// asset's decimals), everywhere, event data included. Transaction hashes are shown as wallets and
// explorers show them: EVM hashes with 0x (Settle keeps them bare inside), TRON and UTXO txids bare.

import { formatAmount } from '../amount.ts';
import type { ChainConfig } from '../config.ts';
import type { Payment } from '../scan/payments.ts';
import type { AssetRegistry } from './assets.ts';
import { paymentUri } from './assets.ts';
import type { InvoiceStatus } from './state.ts';
import type { Invoice, InvoiceEvent } from './store.ts';

/**
 * The webhook event types, the same whatever the path (full, partial, over- or late payment):
 * one per payment seen, confirmed or whose block left the chain, and one per change of status.
 */
export type WebhookEventType = `invoice.payment_${'detected' | 'confirmed' | 'orphaned'}` | `invoice.${InvoiceStatus}`;

export interface InvoiceJson {
  id: string;
  object: 'invoice';
  status: Invoice['status'];
  asset: string;
  symbol: string;
  chain: string;
  network: string;
  amount: string;
  amount_usd: string | null;
  rate_usd: string | null;
  rate_source: string | null;
  received_amount: string;
  confirmed_amount: string;
  address: string;
  payment_uri: string;
  checkout_url: string;
  confirmations: { received: number; required: number };
  underpaid: boolean;
  overpaid: boolean;
  paid_late: boolean;
  txid: string | null;
  order_id: string | null;
  metadata: unknown;
  callback_url: string | null;
  expires_at: string;
  created_at: string;
  paid_at: string | null;
  canceled_at: string | null;
  events?: Array<{ type: string; from_status: string | null; to_status: string; data: unknown; created_at: string }>;
}

export interface ViewContext {
  assets: AssetRegistry;
  checkoutBaseUrl: string;
}

export function decimalsOf(assets: AssetRegistry, code: string): number {
  return assets.get(code)?.decimals ?? 0;
}

/** A transaction hash as its chain's wallets show it: 0x-prefixed on EVM chains, bare hex elsewhere. */
export function displayTxid(family: ChainConfig['family'] | undefined, txid: string): string {
  return family === 'evm' ? `0x${txid}` : txid;
}

/**
 * An event row's data for the API. Rows keep base units and bare hashes; shown, an amount is in the
 * units of its asset (the payment's `asset`, else the invoice's) and a hash as its chain shows it.
 */
function eventDataJson(data: Record<string, unknown>, invoice: Invoice, context: ViewContext, family: ChainConfig['family'] | undefined): Record<string, unknown> {
  const shown = { ...data };
  const asset = typeof data.asset === 'string' ? data.asset : invoice.assetCode;
  if (typeof data.amount === 'string' && /^\d+$/.test(data.amount)) shown.amount = formatAmount(BigInt(data.amount), decimalsOf(context.assets, asset));
  if (typeof data.txid === 'string') shown.txid = displayTxid(family, data.txid);
  return shown;
}

export function invoiceJson(invoice: Invoice, context: ViewContext, confirmationsReceived: number, events?: InvoiceEvent[]): InvoiceJson {
  const asset = context.assets.get(invoice.assetCode);
  const decimals = asset?.decimals ?? 0;
  const family = asset?.family;
  return {
    id: invoice.id,
    object: 'invoice',
    status: invoice.status,
    asset: invoice.assetCode,
    symbol: asset?.symbol ?? invoice.assetCode,
    chain: invoice.chain,
    network: asset?.network ?? invoice.chain,
    amount: formatAmount(invoice.amount, decimals),
    amount_usd: invoice.amountUsd ?? null,
    rate_usd: invoice.rateUsd ?? null,
    rate_source: invoice.rateSource ?? null,
    received_amount: formatAmount(invoice.receivedAmount, decimals),
    confirmed_amount: formatAmount(invoice.confirmedAmount, decimals),
    address: invoice.address,
    payment_uri: asset === undefined ? invoice.address : paymentUri(asset, invoice.address, invoice.amount - invoice.receivedAmount > 0n ? invoice.amount - invoice.receivedAmount : invoice.amount),
    checkout_url: `${context.checkoutBaseUrl.replace(/\/$/, '')}/pay/${invoice.id}`,
    confirmations: { received: confirmationsReceived, required: invoice.confirmationsRequired },
    underpaid: invoice.underpaid,
    overpaid: invoice.overpaid,
    paid_late: invoice.paidLate,
    txid: invoice.lastTxid === undefined ? null : displayTxid(family, invoice.lastTxid),
    order_id: invoice.orderId ?? null,
    metadata: invoice.metadata ?? null,
    callback_url: invoice.callbackUrl ?? null,
    expires_at: invoice.expiresAt.toISOString(),
    created_at: invoice.createdAt.toISOString(),
    paid_at: invoice.paidAt?.toISOString() ?? null,
    canceled_at: invoice.canceledAt?.toISOString() ?? null,
    ...(events === undefined ? {} : {
      events: events.map((e) => ({ type: e.type, from_status: e.fromStatus ?? null, to_status: e.toStatus, data: eventDataJson(e.data, invoice, context, family), created_at: e.createdAt.toISOString() })),
    }),
  };
}

/** The webhook body: event type, the invoice, its status, amounts, the payment concerned (if any), time. */
export function webhookPayload(eventId: string, type: WebhookEventType, invoice: Invoice, context: ViewContext, detail: { payment?: Payment | undefined; confirmations: number; createdAt: Date }): Record<string, unknown> {
  const decimals = decimalsOf(context.assets, invoice.assetCode);
  const family = context.assets.get(invoice.assetCode)?.family;
  const { payment } = detail;
  const txid = payment?.txid ?? invoice.lastTxid;
  // A payment in another asset than the invoice's (it went to suspense) is shown in its own units.
  const paymentAmount = payment === undefined ? null : formatAmount(payment.amount, decimalsOf(context.assets, payment.assetCode));
  return {
    id: eventId,
    type,
    created_at: detail.createdAt.toISOString(),
    data: {
      invoice_id: invoice.id,
      status: invoice.status,
      asset: invoice.assetCode,
      chain: invoice.chain,
      address: invoice.address,
      amount: formatAmount(invoice.amount, decimals),
      received_amount: formatAmount(invoice.receivedAmount, decimals),
      confirmed_amount: formatAmount(invoice.confirmedAmount, decimals),
      payment_amount: paymentAmount,
      tx_hash: txid === undefined ? null : displayTxid(family, txid),
      confirmations: detail.confirmations,
      confirmations_required: invoice.confirmationsRequired,
      payment: payment === undefined ? null : {
        id: payment.id,
        tx_hash: displayTxid(family, payment.txid),
        amount: paymentAmount,
        asset: payment.assetCode,
        height: payment.height,
        confirmations: detail.confirmations,
        credited: payment.owner === undefined ? 'suspense' : 'merchant',
      },
      underpaid: invoice.underpaid,
      overpaid: invoice.overpaid,
      paid_late: invoice.paidLate,
      order_id: invoice.orderId ?? null,
      metadata: invoice.metadata ?? null,
    },
  };
}
