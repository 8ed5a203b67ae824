// Input that used to reach Postgres and come back as a 500: a repeated order_id, NUL characters
// and lone surrogates in stored text, metadata nested thousands deep, and instants Postgres cannot
// hold (in filters and in cursors). Each is now a 4xx naming the field; a repeated order_id is a
// 409 naming the invoice that holds the order, until that one expires or is canceled. Also the
// checkout page's headers: never framed, scripts only by a per-reply nonce.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { anvilSkipReason } from '../helpers/anvil.ts';
import { startEvmTestChain, type EvmTestChain } from '../helpers/evm-chain.ts';
import { eventually, startTestEngine, type TestEngine, type TestMerchant } from '../helpers/engine.ts';
import { apiCaller } from '../helpers/http.ts';

const skip = anvilSkipReason();
let chain: EvmTestChain;
let settle: TestEngine;
let alice: TestMerchant;
let bob: TestMerchant;

after(async () => {
  await settle?.stop();
  await chain?.anvil.stop();
});

if (skip === undefined) {
  chain = await startEvmTestChain();
  settle = await startTestEngine(import.meta.filename, { chains: chain.config({ confirmations: 1 }) });
  alice = await settle.merchant('Alice');
  bob = await settle.merchant('Bob');
}

const call = apiCaller(() => settle.url);

const invoice = { asset: 'USDT-ERC20', amount: '1' };

function fieldsOf(reply: { json: any }): string[] {
  return (reply.json?.error?.details?.fields ?? []).map((f: { field: string }) => f.field);
}

test('an order_id is refused with 409 while its invoice is open, and free again once it is canceled or expired', { skip }, async () => {
  const first = await call('POST', '/v1/invoices', { headers: alice.auth, body: { ...invoice, order_id: 'ORD-001' } });
  assert.equal(first.status, 201, first.text);
  const again = await call('POST', '/v1/invoices', { headers: alice.auth, body: { ...invoice, order_id: 'ORD-001' } });
  assert.equal(again.status, 409, again.text);
  assert.equal(again.json.error.code, 'order_id_in_use');
  assert.equal(again.json.error.details.invoice_id, first.json.id);
  assert.equal(again.json.error.details.status, 'pending');
  assert.equal(again.json.error.details.field, 'body.order_id');
  assert.equal((await call('POST', '/v1/invoices', { headers: bob.auth, body: { ...invoice, order_id: 'ORD-001' } })).status, 201, 'another merchant\'s orders are its own');

  // Seed clients send Content-Type: application/json on every request, also without a body.
  const canceled = await call('POST', `/v1/invoices/${first.json.id}/cancel`, { headers: { ...alice.auth, 'content-type': 'application/json' } });
  assert.equal(canceled.status, 200, canceled.text);
  const afterCancel = await call('POST', '/v1/invoices', { headers: alice.auth, body: { ...invoice, order_id: 'ORD-001' } });
  assert.equal(afterCancel.status, 201, afterCancel.text);

  await settle.db.sql`update invoices set expires_at = now() - interval '1 second' where id = ${afterCancel.json.id}`;
  await eventually(async () => ((await call('GET', `/v1/invoices/${afterCancel.json.id}`, { headers: alice.auth })).json.status === 'expired' ? true : undefined), 30_000, 'the invoice to expire');
  const afterExpiry = await call('POST', '/v1/invoices', { headers: alice.auth, body: { ...invoice, order_id: 'ORD-001' } });
  assert.equal(afterExpiry.status, 201, afterExpiry.text);
});

test('a paid order_id stays taken', { skip }, async () => {
  const paid = await call('POST', '/v1/invoices', { headers: alice.auth, body: { ...invoice, order_id: 'ORD-PAID' } });
  assert.equal(paid.status, 201, paid.text);
  await chain.payToken(paid.json.address, 1_000_000n);
  await eventually(async () => ((await call('GET', `/v1/invoices/${paid.json.id}`, { headers: alice.auth })).json.status === 'paid' ? true : undefined), 60_000, 'the invoice to be paid');
  const again = await call('POST', '/v1/invoices', { headers: alice.auth, body: { ...invoice, order_id: 'ORD-PAID' } });
  assert.equal(again.status, 409, again.text);
  assert.equal(again.json.error.details.status, 'paid');
});

test('concurrent invoices for one order_id: exactly one is created', { skip }, async () => {
  const replies = await Promise.all(Array.from({ length: 6 }, () => call('POST', '/v1/invoices', { headers: alice.auth, body: { ...invoice, order_id: 'ORD-RACE' } })));
  assert.deepEqual(replies.map((r) => r.status).sort(), [201, 409, 409, 409, 409, 409], replies.map((r) => r.text).join('\n'));
  const created = replies.find((r) => r.status === 201);
  for (const r of replies.filter((x) => x.status === 409)) assert.equal(r.json.error.details.invoice_id, created?.json.id);
});

test('NUL characters and lone surrogates in stored text are 400 naming the field', { skip }, async () => {
  const cases: Array<{ raw: string; field: string }> = [
    { raw: JSON.stringify({ ...invoice, order_id: 'ORD\u00001' }), field: 'body.order_id' },
    { raw: JSON.stringify({ ...invoice, order_id: 'ORD\ud800' }), field: 'body.order_id' },
    { raw: JSON.stringify({ ...invoice, callback_url: 'https://shop.example/\u0000' }), field: 'body.callback_url' },
    { raw: JSON.stringify({ ...invoice, metadata: { 'k\u0000': 'v' } }), field: 'body.metadata' },
    { raw: JSON.stringify({ ...invoice, metadata: { k: 'v\u0000' } }), field: 'body.metadata.k' },
    { raw: JSON.stringify({ ...invoice, metadata: { k: ['ok', { deep: '\ud800' }] } }), field: 'body.metadata.k.1.deep' },
    { raw: `{"asset":"USDT-ERC20","amount":"1","metadata":{"\\udc00":1}}`, field: 'body.metadata' },
  ];
  for (const c of cases) {
    const reply = await call('POST', '/v1/invoices', { headers: alice.auth, raw: c.raw });
    assert.equal(reply.status, 400, `${c.raw} → ${reply.text}`);
    assert.equal(reply.json.error.code, 'validation_failed');
    assert.ok(fieldsOf(reply).includes(c.field), `${c.raw}: expected ${c.field} among ${fieldsOf(reply).join(', ')}`);
  }
  const fine = await call('POST', '/v1/invoices', { headers: alice.auth, body: { ...invoice, metadata: { 'émoji 😀': 'ünïcode 😀' } } });
  assert.equal(fine.status, 201, fine.text);
  assert.deepEqual(fine.json.metadata, { 'émoji 😀': 'ünïcode 😀' });
});

test('metadata nests at most 32 levels; bodies nested thousands deep are 400 on every route', { skip }, async () => {
  const nest = (levels: number) => '{"a":'.repeat(levels - 1) + '{}' + '}'.repeat(levels - 1);
  const ok = await call('POST', '/v1/invoices', { headers: alice.auth, raw: `{"asset":"USDT-ERC20","amount":"1","metadata":${nest(32)}}` });
  assert.equal(ok.status, 201, ok.text);
  for (const levels of [33, 60, 4_500]) {
    const reply = await call('POST', '/v1/invoices', { headers: { ...alice.auth, 'idempotency-key': `deep-${levels}` }, raw: `{"asset":"USDT-ERC20","amount":"1","metadata":${nest(levels)}}` });
    assert.equal(reply.status, 400, `${levels} levels → ${reply.text.slice(0, 300)}`);
    assert.ok(fieldsOf(reply).some((f) => f.startsWith('body')), reply.text.slice(0, 300));
  }
  const id = ok.json.id as string;
  for (const path of [`/v1/invoices/${id}/cancel`, '/v1/webhooks/deliveries/00000000-0000-4000-8000-000000000000/redeliver']) {
    const reply = await call('POST', path, { headers: { ...alice.auth, 'idempotency-key': `deep-${path}` }, raw: '['.repeat(20_000) + ']'.repeat(20_000) });
    assert.equal(reply.status, 400, `${path} → ${reply.text.slice(0, 300)}`);
  }
});

test('instants outside the years 0001..9999 in filters and cursors are 400, on invoices and deliveries', { skip }, async () => {
  const cursor = (at: string) => Buffer.from(`${at}|00000000-0000-4000-8000-000000000000`).toString('base64url');
  const bad: Array<[string, string]> = [
    ['/v1/invoices?created_from=0000-01-01T00:00:00Z', 'query.created_from'],
    ['/v1/invoices?created_to=0000-12-31T23:00:00Z', 'query.created_to'],
    ['/v1/invoices?created_from=0001-01-01T00:00:00%2B01:00', 'query.created_from'],
  ];
  for (const at of ['0000-01-01T00:00:00.000Z', '-100000-01-01T00:00:00.000Z', '+200000-01-01T00:00:00.000Z']) {
    bad.push([`/v1/invoices?cursor=${cursor(at)}`, 'query.cursor'], [`/v1/webhooks/deliveries?cursor=${cursor(at)}`, 'query.cursor']);
  }
  for (const [path, field] of bad) {
    const reply = await call('GET', path, { headers: alice.auth });
    assert.equal(reply.status, 400, `${path} → ${reply.text}`);
    assert.ok(fieldsOf(reply).includes(field), `${path}: expected ${field} among ${fieldsOf(reply).join(', ')}`);
  }
  for (const path of ['/v1/invoices?created_from=0001-01-01T00:00:00Z&created_to=9999-12-31T23:59:59Z', `/v1/invoices?cursor=${cursor('9999-01-01T00:00:00.000Z')}`, `/v1/webhooks/deliveries?cursor=${cursor('0001-01-01T00:00:00.000Z')}`]) {
    const reply = await call('GET', path, { headers: alice.auth });
    assert.equal(reply.status, 200, `${path} → ${reply.text}`);
  }
});

test('the checkout is never framed and runs only its own script, by a nonce fresh for each reply', { skip }, async () => {
  const created = await call('POST', '/v1/invoices', { headers: alice.auth, body: invoice });
  const nonces = new Set<string>();
  for (let i = 0; i < 2; i++) {
    const page = await call('GET', `/pay/${created.json.id}`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    const nonce = /script-src 'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
    assert.ok(nonce !== undefined, csp);
    assert.ok(page.text.includes(`<script nonce="${nonce}">`), 'the page\'s script carries the nonce');
    assert.ok(page.text.includes(`<style nonce="${nonce}">`), 'the page\'s style carries the nonce');
    assert.equal(page.text.match(/<script/g)?.length, 1);
    nonces.add(nonce);
  }
  assert.equal(nonces.size, 2, 'each reply has its own nonce');
  const missing = await call('GET', '/pay/00000000-0000-4000-8000-000000000000');
  assert.equal(missing.status, 404);
  assert.match(missing.headers.get('content-security-policy') ?? '', /default-src 'none'.*frame-ancestors 'none'/);
  assert.equal(missing.headers.get('x-frame-options'), 'DENY');
});
