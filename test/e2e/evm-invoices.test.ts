// End to end over HTTP with a real EVM node (anvil): create an invoice, pay it on chain, watch it
// go pending → confirming → paid, receive signed webhooks, and see the merchant's balance — plus
// partial, over and late payments, cancel-then-pay, and a webhook receiver that fails and recovers.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { anvilSkipReason } from '../helpers/anvil.ts';
import { startEvmTestChain, type EvmTestChain } from '../helpers/evm-chain.ts';
import { startTestEngine, type TestEngine, type TestMerchant } from '../helpers/engine.ts';
import { waitFor } from '../helpers/wait.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';
import { verifySignature } from '../../src/webhooks/signature.ts';
import { checkInvariants, formatViolations } from '../../src/ledger/invariants.ts';

const skip = anvilSkipReason();
let chain: EvmTestChain;
let settle: TestEngine;
let receiver: WebhookReceiver;
let shop: TestMerchant;

after(async () => {
  await settle?.stop();
  await receiver?.close();
  await chain?.anvil.stop();
});

if (skip === undefined) {
  chain = await startEvmTestChain();
  receiver = await startWebhookReceiver();
  settle = await startTestEngine(import.meta.filename, { chains: chain.config() });
  shop = await settle.merchant('Shop', receiver.url);
}


async function api(method: string, path: string, body?: unknown, merchant: TestMerchant = shop) {
  const response = await fetch(`${settle.url}${path}`, {
    method,
    headers: { ...merchant.auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as any };
}

async function createInvoice(body: Record<string, unknown>, merchant: TestMerchant = shop) {
  const created = await api('POST', '/v1/invoices', { asset: 'USDT-ERC20', ...body }, merchant);
  assert.equal(created.status, 201, JSON.stringify(created.json));
  return created.json as { id: string; address: string; amount: string };
}

async function invoice(id: string) {
  return (await api('GET', `/v1/invoices/${id}`)).json;
}

function waitForStatus(id: string, status: string) {
  return waitFor(async () => {
    const current = await invoice(id);
    return current.status === status ? current : undefined;
  }, { what: `invoice ${id} to be ${status}` });
}

function webhooksFor(id: string) {
  return receiver.received.filter((w) => w.json.data?.invoice_id === id && w.answeredStatus === 200);
}

/** The documented webhook event types, the same for full, partial, over and late payments. */
const EVENT_TYPES = new Set(['invoice.payment_detected', 'invoice.payment_confirmed', 'invoice.payment_orphaned',
  'invoice.pending', 'invoice.confirming', 'invoice.paid', 'invoice.expired', 'invoice.canceled']);

/** Waits until the invoice's delivered webhooks include `expected` (type → count), then returns them. */
async function webhookTypes(id: string, expected: Record<string, number>) {
  const hooks = await waitFor(async () => {
    const got = webhooksFor(id);
    const unique = new Map(got.map((w) => [w.json.id, w]));
    const counts = countTypes([...unique.values()]);
    return Object.entries(expected).every(([type, n]) => (counts[type] ?? 0) >= n) ? [...unique.values()] : undefined;
  }, { what: `webhooks ${JSON.stringify(expected)} for ${id}` });
  for (const hook of hooks) assert.ok(EVENT_TYPES.has(hook.json.type), `${hook.json.type} is a documented event type`);
  return { hooks, counts: countTypes(hooks) };
}

function countTypes(hooks: Array<{ json: { type: string } }>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const hook of hooks) counts[hook.json.type] = (counts[hook.json.type] ?? 0) + 1;
  return counts;
}

async function balance(merchant: TestMerchant = shop, asset = 'USDT-ERC20'): Promise<{ pending: string; available: string }> {
  const reply = await api('GET', '/v1/balances', undefined, merchant);
  const found = (reply.json.data as Array<{ asset: string; pending: string; available: string }>).find((b) => b.asset === asset);
  assert.ok(found, `no ${asset} balance`);
  return found;
}

/** The shop's pending transfers not yet posted or voided (diagnostics for a failed assertion). */
async function merchantPending() {
  return settle.db.sql<{ id: string; amount: string; reference: string | null }[]>`
    select t.id, t.amount::text as amount, t.reference from transfers t join accounts a on a.id = t.credit_account_id
    where a.code = 'merchant' and a.owner = ${shop.id} and t.flags = 1
      and not exists (select 1 from transfers r where r.pending_id = t.id)`;
}

async function assertLedgerConsistent() {
  const violations = await checkInvariants(settle.db.sql);
  assert.equal(violations.length, 0, formatViolations(violations));
}

test('an invoice paid on chain goes pending → confirming → paid, with signed webhooks and an available balance', { skip }, async () => {
  const before = await balance();
  const created = await createInvoice({ amount: '25', order_id: 'ORDER-1' });
  assert.equal(created.amount, '25');
  const txid = await chain.payToken(created.address, 25_000_000n);

  const confirming = await waitForStatus(created.id, 'confirming');
  assert.equal(confirming.received_amount, '25');
  assert.match(txid, /^0x[0-9a-f]{64}$/);
  assert.equal(confirming.txid, txid, 'an EVM hash is shown with 0x, as the wallet showed it');
  assert.equal((await balance()).pending, '25');

  await chain.anvil.mine(2); // 3 confirmations in all
  const paid = await waitForStatus(created.id, 'paid');
  assert.equal(paid.confirmed_amount, '25');
  assert.equal(paid.confirmations.required, 3);
  assert.ok(paid.confirmations.received >= 3);
  assert.deepEqual(paid.events.map((e: { to_status: string }) => e.to_status).filter((s: string, i: number, all: string[]) => all.indexOf(s) === i), ['pending', 'confirming', 'paid']);

  assert.equal(paid.events.find((e: { type: string }) => e.type === 'created')?.data.amount, '25', 'the created event says "25", like the invoice');
  const detected = paid.events.find((e: { type: string }) => e.type === 'payment_detected');
  assert.equal(detected?.data.amount, '25', 'event amounts are in the invoice\'s units, not base units');
  assert.equal(detected?.data.txid, txid);

  // The posting and the status change commit in one transaction (the applier's), so once the
  // invoice reads paid the balance shows it: asserted at once, not waited for. Should it ever
  // fail, the message shows the whole picture.
  const after = await balance();
  if (Number(after.available) - Number(before.available) !== 25 || after.pending !== '0') {
    const picture = { before, after, events: (await invoice(created.id)).events, pendingTransfers: await merchantPending() };
    assert.fail(`once the invoice reads paid, its 25 are available and nothing is pending: ${JSON.stringify(picture)}`);
  }

  const hooks = await waitFor(async () => {
    const got = webhooksFor(created.id);
    return got.some((w) => w.json.type === 'invoice.paid') ? got : undefined;
  }, { what: 'the paid webhook' });
  for (const hook of hooks) {
    const signature = hook.headers['x-settle-signature'] as string;
    assert.ok(verifySignature(shop.webhookSecret, hook.body, signature, Math.floor(Date.now() / 1000)), 'signature verifies with the merchant secret');
    assert.ok(!verifySignature('whsec_other', hook.body, signature, Math.floor(Date.now() / 1000)));
    assert.equal(hook.headers['x-settle-event-id'], hook.json.id);
  }
  const paidHook = hooks.find((w) => w.json.type === 'invoice.paid');
  assert.equal(paidHook?.json.data.status, 'paid');
  assert.equal(paidHook?.json.data.amount, '25');
  assert.equal(paidHook?.json.data.tx_hash, txid);
  assert.equal(typeof paidHook?.json.data.confirmations, 'number');
  assert.equal(paidHook?.json.data.order_id, 'ORDER-1');
  assert.equal(new Set(hooks.map((w) => w.json.id)).size, hooks.length, 'no event delivered twice');
  const { counts, hooks: all } = await webhookTypes(created.id, { 'invoice.payment_detected': 1, 'invoice.confirming': 1, 'invoice.payment_confirmed': 1, 'invoice.paid': 1 });
  assert.deepEqual(counts, { 'invoice.payment_detected': 1, 'invoice.confirming': 1, 'invoice.payment_confirmed': 1, 'invoice.paid': 1 });
  const seen = all.find((w) => w.json.type === 'invoice.payment_detected')?.json.data as { payment: Record<string, unknown>; payment_amount: string };
  assert.deepEqual({ ...seen.payment, id: undefined, height: undefined, confirmations: undefined }, { id: undefined, tx_hash: txid, amount: '25', asset: 'USDT-ERC20', height: undefined, confirmations: undefined, credited: 'merchant' });
  assert.equal(seen.payment_amount, '25');
  await assertLedgerConsistent();
});

test('a partial payment leaves it pending and underpaid; a top-up completes it', { skip }, async () => {
  const created = await createInvoice({ amount: '10' });
  await chain.payToken(created.address, 4_000_000n);
  const partial = await waitFor(async () => {
    const current = await invoice(created.id);
    return current.received_amount === '4' ? current : undefined;
  }, { what: 'the partial payment' });
  assert.equal(partial.status, 'pending');
  assert.equal(partial.underpaid, true);
  const first = await webhookTypes(created.id, { 'invoice.payment_detected': 1 });
  assert.equal(first.hooks[0]?.json.data.payment_amount, '4');
  assert.equal(first.hooks[0]?.json.data.status, 'pending');
  await chain.payToken(created.address, 6_000_000n);
  await waitForStatus(created.id, 'confirming');
  await chain.anvil.mine(3);
  const paid = await waitForStatus(created.id, 'paid');
  assert.equal(paid.received_amount, '10');
  assert.equal(paid.underpaid, false);
  assert.equal(paid.overpaid, false);
  // The same set as a full payment: each payment seen and confirmed, each status change once.
  const { counts } = await webhookTypes(created.id, { 'invoice.payment_detected': 2, 'invoice.confirming': 1, 'invoice.payment_confirmed': 2, 'invoice.paid': 1 });
  assert.deepEqual(counts, { 'invoice.payment_detected': 2, 'invoice.confirming': 1, 'invoice.payment_confirmed': 2, 'invoice.paid': 1 });
  assert.deepEqual(paid.events.filter((e: { type: string }) => e.type === 'payment_detected').map((e: { data: { amount: string } }) => e.data.amount), ['4', '6']);
  await assertLedgerConsistent();
});

test('an overpayment is recorded and visible, all of it credited', { skip }, async () => {
  const before = await balance();
  const created = await createInvoice({ amount: '5' });
  await chain.payToken(created.address, 7_500_000n);
  await chain.anvil.mine(3);
  const paid = await waitForStatus(created.id, 'paid');
  assert.equal(paid.overpaid, true);
  assert.equal(paid.received_amount, '7.5');
  const { hooks, counts } = await webhookTypes(created.id, { 'invoice.payment_detected': 1, 'invoice.payment_confirmed': 1, 'invoice.paid': 1 });
  assert.equal(counts['invoice.payment_detected'], 1);
  assert.equal(counts['invoice.payment_confirmed'], 1);
  assert.equal(hooks.find((w) => w.json.type === 'invoice.paid')?.json.data.overpaid, true);
  assert.equal((hooks.find((w) => w.json.type === 'invoice.payment_detected')?.json.data.payment as { amount: string }).amount, '7.5');
  await waitFor(async () => {
    const after = await balance();
    return Number(after.available) - Number(before.available) === 7.5 ? true : undefined;
  }, { what: 'the overpayment in the balance' });
  await assertLedgerConsistent();
});

test('coins sent after expiry go to suspense, flagged paid_late, never to the merchant or lost', { skip }, async () => {
  const created = await createInvoice({ amount: '3', expires_at: new Date(Date.now() + 1_500).toISOString() });
  const expired = await waitForStatus(created.id, 'expired');
  assert.equal(expired.paid_late, false);
  const before = await balance();
  await chain.payToken(created.address, 3_000_000n);
  const late = await waitFor(async () => {
    const current = await invoice(created.id);
    return current.paid_late === true ? current : undefined;
  }, { what: 'the late payment' });
  assert.equal(late.status, 'expired');
  assert.equal(late.received_amount, '0', 'late coins do not count toward the invoice');
  assert.ok(late.events.some((e: { type: string; data: { credited?: string } }) => e.type === 'payment_detected' && e.data.credited === 'suspense'));
  await chain.anvil.mine(3);
  const [suspense] = await settle.db.sql<{ credits: bigint }[]>`
    select a.credits_pending + a.credits_posted as credits from accounts a join ledgers l on l.id = a.ledger
    where l.code = 'USDT-ERC20' and a.code = 'suspense'`;
  assert.ok((suspense?.credits ?? 0n) >= 3_000_000n, 'the coins sit in suspense');
  const after = await balance();
  assert.equal(after.available, before.available, 'the merchant was not credited');
  // Webhooks are delivered by the queue, after the state change commits: wait for each.
  await waitFor(async () => (webhooksFor(created.id).some((w) => w.json.type === 'invoice.expired') ? true : undefined), { what: 'the expired webhook' });
  const { hooks } = await webhookTypes(created.id, { 'invoice.expired': 1, 'invoice.payment_detected': 1 });
  const seen = hooks.find((w) => w.json.type === 'invoice.payment_detected')?.json.data as { paid_late: boolean; status: string; payment: { credited: string; amount: string } };
  assert.deepEqual([seen.status, seen.paid_late, seen.payment.credited, seen.payment.amount], ['expired', true, 'suspense', '3']);
  await assertLedgerConsistent();
});

test('a canceled invoice refuses cancel twice, and coins sent to it go to suspense', { skip }, async () => {
  const created = await createInvoice({ amount: '2' });
  const canceled = await api('POST', `/v1/invoices/${created.id}/cancel`);
  assert.equal(canceled.status, 200);
  assert.equal(canceled.json.status, 'canceled');
  const twice = await api('POST', `/v1/invoices/${created.id}/cancel`);
  assert.equal(twice.status, 409);
  assert.equal(twice.json.error.code, 'invoice_not_cancelable');
  await chain.payToken(created.address, 2_000_000n);
  const late = await waitFor(async () => {
    const current = await invoice(created.id);
    return current.paid_late === true ? current : undefined;
  }, { what: 'the payment to a canceled invoice' });
  assert.equal(late.status, 'canceled');
  const [row] = await settle.db.sql<{ owner: string | null }[]>`select owner from payments where reference = ${`invoice:${created.id}`}`;
  assert.equal(row?.owner, null, 'routed to suspense');
  await assertLedgerConsistent();
});

test('coins in another asset than the invoice\'s go to suspense, shown in their own asset\'s units', { skip }, async () => {
  const created = await createInvoice({ amount: '4' });
  const txid = await chain.payNative(created.address, 1_500_000_000_000_000n); // 0.0015 ETH to a USDT invoice
  const { hooks } = await webhookTypes(created.id, { 'invoice.payment_detected': 1 });
  const data = hooks[0]?.json.data as { status: string; received_amount: string; payment_amount: string; payment: { asset: string; amount: string; credited: string; tx_hash: string } };
  assert.deepEqual([data.status, data.received_amount], ['pending', '0']);
  assert.deepEqual(data.payment, { ...data.payment, asset: 'ETH', amount: '0.0015', credited: 'suspense', tx_hash: txid });
  assert.equal(data.payment_amount, '0.0015');
  const current = await invoice(created.id);
  const seen = current.events.find((e: { type: string }) => e.type === 'payment_detected');
  assert.deepEqual([seen?.data.asset, seen?.data.amount, seen?.data.credited], ['ETH', '0.0015', 'suspense']);
});

test('a native ETH invoice is paid by a plain transfer', { skip }, async () => {
  const created = await createInvoice({ asset: 'ETH', amount: '0.25' });
  await chain.payNative(created.address, 250_000_000_000_000_000n);
  await chain.anvil.mine(3);
  const paid = await waitForStatus(created.id, 'paid');
  assert.equal(paid.received_amount, '0.25');
});

test('a webhook receiver that fails is retried on the schedule until it recovers; attempts are listed and can be redelivered', { skip }, async () => {
  const created = await createInvoice({ amount: '1' });
  receiver.failNext(2, 503, (json) => json.data?.invoice_id === created.id && json.type === 'invoice.confirming');
  await chain.payToken(created.address, 1_000_000n);
  await waitForStatus(created.id, 'confirming');
  const delivered = await waitFor(async () => {
    const got = receiver.received.filter((w) => w.json.data?.invoice_id === created.id && w.json.type === 'invoice.confirming');
    return got.some((w) => w.answeredStatus === 200) ? got : undefined;
  }, { what: 'the confirming webhook to get through' });
  assert.ok(delivered.length >= 3, `failed twice then delivered (saw ${delivered.length})`);
  assert.equal(new Set(delivered.map((w) => w.json.id)).size, 1, 'retries carry the same event id');
  const gaps = delivered.slice(1).map((w, i) => w.receivedAtMs - (delivered[i] as { receivedAtMs: number }).receivedAtMs);
  assert.ok(gaps.every((ms) => ms >= 800), `retries wait for the schedule (${gaps.join(', ')} ms)`);

  // The receiver answers before the worker records the attempt: wait for the third record.
  const attempts = await waitFor(async () => {
    const list = await api('GET', `/v1/webhooks/deliveries?invoice_id=${created.id}`);
    const found = list.json.data.filter((d: { event_type: string }) => d.event_type === 'invoice.confirming');
    return found.length >= 3 ? found : undefined;
  }, { what: 'three recorded attempts' });
  assert.deepEqual(attempts.map((d: { status_code: number }) => d.status_code).sort(), [200, 503, 503]);
  assert.ok(attempts.every((d: { latency_ms: number }) => typeof d.latency_ms === 'number'));

  const other = await settle.merchant('Other');
  assert.equal((await api('GET', `/v1/webhooks/deliveries?invoice_id=${created.id}`, undefined, other)).json.data.length, 0);
  // The merchant moved its endpoint since the event was queued: a redelivery goes to the current URL.
  const moved = `${receiver.url}?moved=1`;
  await settle.db.sql`update merchants set callback_url = ${moved} where id = ${shop.id}`;
  try {
    const redo = await api('POST', `/v1/webhooks/deliveries/${attempts[0].id}/redeliver`);
    assert.equal(redo.status, 202);
    assert.equal(redo.json.url, moved);
    const eventId = delivered[0]?.json.id;
    const again = await waitFor(async () => receiver.received.find((w) => w.json.id === eventId && w.path === '/hooks/settle?moved=1'), { what: 'the redelivery to the current URL' });
    assert.equal(again.answeredStatus, 200);
    const recorded = await waitFor(async () => {
      const list = await api('GET', `/v1/webhooks/deliveries?invoice_id=${created.id}`);
      return list.json.data.find((d: { url: string; event_id: string }) => d.url === moved && d.event_id === eventId);
    }, { what: 'the redelivery recorded with the URL it went to' });
    assert.equal(recorded.status_code, 200);
  } finally {
    await settle.db.sql`update merchants set callback_url = ${receiver.url} where id = ${shop.id}`;
  }
});

test('a receiver that never recovers leaves the event dead after the schedule', { skip }, async () => {
  const dead = await settle.merchant('Dead end', receiver.url.replace('/hooks/settle', '/nowhere'));
  const created = await createInvoice({ amount: '1' }, dead);
  receiver.failNext(100, 500, (json) => json.data?.invoice_id === created.id);
  await chain.payToken(created.address, 1_000_000n);
  const [event] = await waitFor(async () => {
    const rows = await settle.db.sql<{ state: string; attempts: number }[]>`select state, attempts from webhook_events where invoice_id = ${created.id} and type = 'invoice.confirming'`;
    return rows[0]?.state === 'dead' ? rows : undefined;
  }, { what: 'the event to be dead' });
  assert.equal(event?.attempts, 4, 'the first attempt and the three scheduled retries');
  receiver.failNext(0);
});

test('/metrics counts invoices by status, webhook deliveries by result and latency, and HTTP requests by route', { skip }, async () => {
  const text = await (await fetch(`${settle.url}/metrics`)).text();
  const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 'NaN');
  assert.ok(value(/settle_invoices_total\{status="pending"\} (\d+)/) >= 8);
  assert.ok(value(/settle_invoices_total\{status="paid"\} (\d+)/) >= 4);
  assert.ok(value(/settle_invoices_total\{status="expired"\} (\d+)/) >= 1);
  assert.ok(value(/settle_webhook_deliveries_total\{result="delivered"\} (\d+)/) >= 1);
  assert.ok(value(/settle_webhook_deliveries_total\{result="failed"\} (\d+)/) >= 2);
  assert.match(text, /settle_webhook_delivery_duration_seconds_count \d+/);
  assert.match(text, /settle_http_request_duration_seconds_count\{method="POST",route="\/v1\/invoices",status="201"\} \d+/);
  assert.match(text, /settle_scanner_blocks_total\{chain="eth"\} \d+/);
});
