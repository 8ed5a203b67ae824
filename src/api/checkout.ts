// The hosted checkout at an invoice's checkout_url (/pay/:id): amount, asset and network, the
// address with a QR code of its payment URI (BIP21 / EIP-681), a countdown to expiry, and the
// live status, polled from /pay/:id/status, that turns to paid without a reload. The page is
// self-contained (no external scripts, fonts or images). Invoice ids are unguessable uuids; the
// page shows only what a payer needs.

import type { FastifyInstance, FastifyReply } from 'fastify';
import QRCode from 'qrcode';
import type { Common } from '../common.ts';
import type { InvoiceService } from '../invoices/service.ts';
import { invoiceJson, type ViewContext } from '../invoices/view.ts';
import { errorBody } from './errors.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const POLL_INTERVAL_MS = 2_000;

/** The pages' policy: only their own inline style and script (by a nonce fresh for each reply, so
 * injected markup cannot run), fetches to this origin, never framed (no clickjacking of a payment). */
function pageHeaders(reply: FastifyReply, nonce: string): FastifyReply {
  return reply
    .header('cache-control', 'no-store')
    .header('x-frame-options', 'DENY')
    .header('content-security-policy', `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`)
    .type('text/html; charset=utf-8');
}

export interface CheckoutDeps {
  common: Common;
  invoices: InvoiceService;
  view: () => ViewContext;
}

export function checkoutPlugin(deps: CheckoutDeps): (app: FastifyInstance) => void {
  async function publicStatus(id: string) {
    const found = await deps.invoices.get(undefined, id);
    if (found === undefined) return undefined;
    const json = invoiceJson(found.invoice, deps.view(), found.confirmations);
    return {
      id: json.id, status: json.status, asset: json.asset, symbol: json.symbol, network: json.network, amount: json.amount,
      received_amount: json.received_amount, address: json.address, payment_uri: json.payment_uri, expires_at: json.expires_at,
      confirmations: json.confirmations, underpaid: json.underpaid, overpaid: json.overpaid, paid_late: json.paid_late,
      txid: json.txid, server_time: new Date(deps.common.clock.nowMs()).toISOString(),
    };
  }

  return (app) => {
    app.get<{ Params: { id: string } }>('/pay/:id/status', async (request, reply) => {
      const status = UUID.test(request.params.id) ? await publicStatus(request.params.id) : undefined;
      if (status === undefined) return reply.code(404).send(errorBody('invoice_not_found', 'no such invoice'));
      return reply.header('cache-control', 'no-store').send(status);
    });
    app.get<{ Params: { id: string } }>('/pay/:id', async (request, reply) => {
      const status = UUID.test(request.params.id) ? await publicStatus(request.params.id) : undefined;
      const nonce = deps.common.random.bytes(16).toString('base64');
      if (status === undefined) return pageHeaders(reply.code(404), nonce).send(page('Invoice not found', '<p class="muted">This payment link is not valid.</p>', '', nonce));
      const qr = await QRCode.toString(status.payment_uri, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
      return pageHeaders(reply, nonce)
        .send(page(`Pay ${status.amount} ${status.symbol}`, body(status, qr), script(status.id, status.expires_at, status.server_time, nonce), nonce));
    });
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

function body(s: { id: string; status: string; amount: string; symbol: string; network: string; address: string; payment_uri: string; received_amount: string; confirmations: { received: number; required: number } }, qr: string): string {
  return `
  <main>
    <h1>Pay <span id="amount">${escapeHtml(s.amount)}</span> <span id="symbol">${escapeHtml(s.symbol)}</span></h1>
    <p class="muted">on <strong id="network">${escapeHtml(s.network)}</strong></p>
    <div class="qr" aria-label="QR code of the payment request">${qr}</div>
    <label>Send exactly this amount to</label>
    <code id="address">${escapeHtml(s.address)}</code>
    <p><a id="wallet-link" href="${escapeHtml(s.payment_uri)}">Open in wallet</a></p>
    <div class="status" id="status" data-status="${escapeHtml(s.status)}">${escapeHtml(statusText(s.status))}</div>
    <p class="muted" id="progress">Received ${escapeHtml(s.received_amount)} ${escapeHtml(s.symbol)} · confirmations ${s.confirmations.received}/${s.confirmations.required}</p>
    <p class="muted">Expires in <span id="countdown">--:--</span></p>
  </main>`;
}

function statusText(status: string): string {
  switch (status) {
    case 'pending': return 'Waiting for payment';
    case 'confirming': return 'Payment seen — waiting for confirmations';
    case 'paid': return 'Paid — thank you';
    case 'expired': return 'Expired';
    case 'canceled': return 'Canceled';
    default: return status;
  }
}

function script(id: string, expiresAt: string, serverTime: string, nonce: string): string {
  return `<script nonce="${nonce}">
(() => {
  const texts = ${JSON.stringify({ pending: statusText('pending'), confirming: statusText('confirming'), paid: statusText('paid'), expired: statusText('expired'), canceled: statusText('canceled') })};
  let expiresAt = Date.parse(${JSON.stringify(expiresAt)});
  // The countdown follows the server's clock, not the device's.
  let skewMs = Date.parse(${JSON.stringify(serverTime)}) - Date.now();
  let status = document.getElementById('status').dataset.status;
  const final = (s) => s === 'paid' || s === 'expired' || s === 'canceled';
  function tick() {
    const left = Math.max(0, expiresAt - (Date.now() + skewMs));
    const m = Math.floor(left / 60000), s = Math.floor((left % 60000) / 1000);
    document.getElementById('countdown').textContent = final(status) ? '—' : String(m).padStart(2, '0') + ':' + String(s).padStart(2, '0');
  }
  async function poll() {
    try {
      const r = await fetch('/pay/${id}/status', { cache: 'no-store' });
      if (r.ok) {
        const s = await r.json();
        skewMs = Date.parse(s.server_time) - Date.now();
        status = s.status;
        const el = document.getElementById('status');
        el.dataset.status = s.status;
        el.textContent = texts[s.status] || s.status;
        document.getElementById('progress').textContent = 'Received ' + s.received_amount + ' ' + s.symbol + ' · confirmations ' + s.confirmations.received + '/' + s.confirmations.required;
      }
    } catch (e) { /* offline for a moment: try again */ }
    if (!final(status)) setTimeout(poll, ${POLL_INTERVAL_MS});
    tick();
  }
  setInterval(tick, 1000);
  tick();
  setTimeout(poll, ${POLL_INTERVAL_MS});
})();
</script>`;
}

function page(title: string, content: string, scripts: string, nonce: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style nonce="${nonce}">
  body { font-family: system-ui, -apple-system, Segoe UI, Roboto, sans-serif; background: #f4f5f7; margin: 0; color: #1d2330; }
  main { max-width: 420px; margin: 32px auto; background: #fff; border-radius: 12px; padding: 24px; box-shadow: 0 2px 12px rgba(0,0,0,.08); text-align: center; }
  h1 { font-size: 1.5rem; margin: 0 0 4px; }
  .muted { color: #667085; font-size: .9rem; }
  .qr svg { width: 220px; height: 220px; margin: 12px auto; display: block; }
  label { display: block; font-size: .8rem; color: #667085; margin-top: 8px; }
  code { display: block; word-break: break-all; background: #f4f5f7; padding: 8px; border-radius: 6px; margin: 4px 0 8px; font-size: .85rem; }
  .status { margin: 16px 0 4px; padding: 10px; border-radius: 8px; font-weight: 600; background: #fff7e6; color: #8a5a00; }
  .status[data-status="confirming"] { background: #e8f1ff; color: #1a4fb5; }
  .status[data-status="paid"] { background: #e7f8ee; color: #12703a; }
  .status[data-status="expired"], .status[data-status="canceled"] { background: #fdecec; color: #a12626; }
</style></head>
<body>${content}${scripts}</body></html>`;
}
