// How an invoice is shown: the native API's JSON and the webhook payload. Amounts are decimal
// strings in whole units of the asset (formatted from base units with the asset's decimals).

import { formatAmount } from '../amount.ts';
import type { AssetRegistry } from './assets.ts';
import { paymentUri } from './assets.ts';
import type { Invoice, InvoiceEvent } from './store.ts';

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

export function invoiceJson(invoice: Invoice, context: ViewContext, confirmationsReceived: number, events?: InvoiceEvent[]): InvoiceJson {
  const asset = context.assets.get(invoice.assetCode);
  const decimals = asset?.decimals ?? 0;
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
    txid: invoice.lastTxid ?? null,
    order_id: invoice.orderId ?? null,
    metadata: invoice.metadata ?? null,
    callback_url: invoice.callbackUrl ?? null,
    expires_at: invoice.expiresAt.toISOString(),
    created_at: invoice.createdAt.toISOString(),
    paid_at: invoice.paidAt?.toISOString() ?? null,
    canceled_at: invoice.canceledAt?.toISOString() ?? null,
    ...(events === undefined ? {} : {
      events: events.map((e) => ({ type: e.type, from_status: e.fromStatus ?? null, to_status: e.toStatus, data: e.data, created_at: e.createdAt.toISOString() })),
    }),
  };
}

/** The webhook body: event type, the invoice, its status, amounts, tx hash, confirmations, time. */
export function webhookPayload(eventId: string, type: string, invoice: Invoice, context: ViewContext, detail: { txid?: string | undefined; confirmations: number; amount?: bigint | undefined; createdAt: Date }): Record<string, unknown> {
  const decimals = decimalsOf(context.assets, invoice.assetCode);
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
      payment_amount: detail.amount === undefined ? null : formatAmount(detail.amount, decimals),
      tx_hash: detail.txid ?? invoice.lastTxid ?? null,
      confirmations: detail.confirmations,
      confirmations_required: invoice.confirmationsRequired,
      underpaid: invoice.underpaid,
      overpaid: invoice.overpaid,
      paid_late: invoice.paidLate,
      order_id: invoice.orderId ?? null,
      metadata: invoice.metadata ?? null,
    },
  };
}
