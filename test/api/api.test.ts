// The native API as a client sees it: every credential form, merchants kept apart, validation
// naming each bad field, idempotency keys, the one error shape, and the OpenAPI document.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { anvilSkipReason } from '../helpers/anvil.ts';
import { startEvmTestChain, type EvmTestChain } from '../helpers/evm-chain.ts';
import { startTestEngine, type TestEngine, type TestMerchant } from '../helpers/engine.ts';
import { createApiKey, revokeApiKey } from '../../src/merchants/merchants.ts';
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
  settle = await startTestEngine(import.meta.filename, { chains: chain.config(), http: { bodyLimitBytes: 16 * 1024 } });
  alice = await settle.merchant('Alice');
  bob = await settle.merchant('Bob');
}


const call = apiCaller(() => settle.url);

const invoiceBody = { asset: 'USDT-ERC20', amount: '12.5' };

test('every credential form of the seed APIs authenticates; anything else is 401', { skip }, async () => {
  const forms: Record<string, string>[] = [
    { authorization: `Bearer ${alice.secret}` },
    { authorization: `Bearer ${alice.keyId}:${alice.secret}` },
    { authorization: `Basic ${Buffer.from(`${alice.keyId}:${alice.secret}`).toString('base64')}` },
    { 'x-api-key': alice.secret, 'merchant-id': alice.id },
    { 'x-api-key': alice.secret, merchant_id: alice.id },
    { 'x-api-key': alice.secret },
  ];
  for (const headers of forms) {
    const reply = await call('GET', '/v1/assets', { headers });
    assert.equal(reply.status, 200, `form ${Object.keys(headers).join('+')}: ${JSON.stringify(reply.json)}`);
  }
  const refused: Record<string, string>[] = [
    {},
    { authorization: 'Bearer sk_wrong' },
    { authorization: `Bearer ${bob.keyId}:${alice.secret}` },
    { authorization: `Basic ${Buffer.from(`${alice.keyId}:nope`).toString('base64')}` },
    { 'x-api-key': alice.secret, 'merchant-id': bob.id },
    { authorization: 'Token abc' },
  ];
  for (const headers of refused) {
    const reply = await call('GET', '/v1/assets', { headers });
    assert.equal(reply.status, 401, JSON.stringify(headers));
    assert.equal(reply.json.error.code, 'unauthorized');
  }
});

test('revoked keys stop working; IP and Origin allow-lists are enforced', { skip }, async () => {
  const key = await createApiKey(settle.db.sql, settle.common.random, alice.id, { label: 'temp' });
  assert.equal((await call('GET', '/v1/assets', { headers: { authorization: `Bearer ${key.secret}` } })).status, 200);
  assert.equal(await revokeApiKey(settle.db.sql, alice.id, key.keyId), true);
  assert.equal((await call('GET', '/v1/assets', { headers: { authorization: `Bearer ${key.secret}` } })).status, 401);

  const ipKey = await createApiKey(settle.db.sql, settle.common.random, alice.id, { ipAllow: ['10.9.9.9'] });
  const ip = await call('GET', '/v1/assets', { headers: { authorization: `Bearer ${ipKey.secret}` } });
  assert.equal(ip.status, 403);
  assert.equal(ip.json.error.code, 'ip_not_allowed');
  const loopbackKey = await createApiKey(settle.db.sql, settle.common.random, alice.id, { ipAllow: ['127.0.0.1'] });
  assert.equal((await call('GET', '/v1/assets', { headers: { authorization: `Bearer ${loopbackKey.secret}` } })).status, 200);

  const originKey = await createApiKey(settle.db.sql, settle.common.random, alice.id, { originAllow: ['https://shop.example'] });
  assert.equal((await call('GET', '/v1/assets', { headers: { authorization: `Bearer ${originKey.secret}`, origin: 'https://evil.example' } })).status, 403);
  assert.equal((await call('GET', '/v1/assets', { headers: { authorization: `Bearer ${originKey.secret}`, origin: 'https://shop.example' } })).status, 200);
});

test('a merchant can never see or touch another merchant\'s invoices', { skip }, async () => {
  const created = await call('POST', '/v1/invoices', { headers: alice.auth, body: { ...invoiceBody, order_id: 'A-1' } });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const id = created.json.id as string;
  assert.equal((await call('GET', `/v1/invoices/${id}`, { headers: alice.auth })).status, 200);
  const peek = await call('GET', `/v1/invoices/${id}`, { headers: bob.auth });
  assert.equal(peek.status, 404);
  assert.equal(peek.json.error.code, 'invoice_not_found');
  assert.equal((await call('POST', `/v1/invoices/${id}/cancel`, { headers: bob.auth })).status, 404);
  const bobsList = await call('GET', '/v1/invoices', { headers: bob.auth });
  assert.ok(!bobsList.json.data.some((i: { id: string }) => i.id === id));
  const alicesList = await call('GET', '/v1/invoices', { headers: alice.auth });
  assert.ok(alicesList.json.data.some((i: { id: string }) => i.id === id));
  assert.equal((await call('GET', `/v1/invoices/${id}`, { headers: alice.auth })).json.status, 'pending', 'Bob\'s cancel changed nothing');
});

test('invalid requests are 4xx naming each bad field, never 500', { skip }, async () => {
  const cases: Array<{ body?: unknown; raw?: string; status: number; code: string; field?: string }> = [
    { raw: '{"asset": "USDT-ERC20", ', status: 400, code: 'invalid_json' },
    { body: { asset: 'USDT-ERC20' }, status: 400, code: 'validation_failed', field: 'body.amount' },
    { body: { ...invoiceBody, amount_usd: '5' }, status: 400, code: 'validation_failed', field: 'body.amount' },
    { body: { asset: 'USDT-ERC20', amount: '1e5' }, status: 400, code: 'validation_failed', field: 'body.amount' },
    { body: { asset: 'USDT-ERC20', amount: '-3' }, status: 400, code: 'validation_failed', field: 'body.amount' },
    { body: { asset: 'USDT-ERC20', amount: '1.1234567' }, status: 400, code: 'validation_failed', field: 'body.amount' },
    { body: { asset: 'USDT-ERC20', amount: 12.5 }, status: 400, code: 'validation_failed', field: 'body.amount' },
    { body: { asset: 'DOGE', amount: '1' }, status: 400, code: 'validation_failed', field: 'body.asset' },
    { body: { ...invoiceBody, colour: 'blue' }, status: 400, code: 'validation_failed', field: 'body' },
    { body: { ...invoiceBody, callback_url: 'ftp://example.com/x' }, status: 400, code: 'validation_failed', field: 'body.callback_url' },
    { body: { ...invoiceBody, metadata: { blob: 'x'.repeat(5000) } }, status: 400, code: 'validation_failed', field: 'body.metadata' },
    { body: { ...invoiceBody, expires_in_minutes: 0 }, status: 400, code: 'validation_failed', field: 'body.expires_in_minutes' },
    { body: { ...invoiceBody, confirmations: 1_000_000 }, status: 400, code: 'validation_failed', field: 'body.confirmations' },
    { body: [1, 2, 3], status: 400, code: 'validation_failed' },
    { body: 'just a string', status: 400, code: 'validation_failed' },
    { body: null, status: 400, code: 'validation_failed' },
    { raw: JSON.stringify({ ...invoiceBody, metadata: { pad: 'y'.repeat(20_000) } }), status: 413, code: 'body_too_large' },
  ];
  for (const c of cases) {
    const reply = await call('POST', '/v1/invoices', { headers: alice.auth, body: c.body, raw: c.raw });
    assert.equal(reply.status, c.status, `${String(JSON.stringify(c.body ?? c.raw)).slice(0, 80)} → ${JSON.stringify(reply.json)}`);
    assert.equal(reply.json.error.code, c.code);
    assert.equal(typeof reply.json.error.message, 'string');
    if (c.field !== undefined) {
      const fields = (reply.json.error.details.fields as Array<{ field: string }>).map((f) => f.field);
      assert.ok(fields.includes(c.field), `expected ${c.field} among ${fields.join(', ')}`);
    }
  }
  const badId = await call('GET', '/v1/invoices/not-a-uuid', { headers: alice.auth });
  assert.equal(badId.status, 400);
  assert.equal(badId.json.error.details.fields[0].field, 'params.id');
  const badQuery = await call('GET', '/v1/invoices?status=lost&limit=1000', { headers: alice.auth });
  assert.equal(badQuery.status, 400);
  assert.deepEqual(badQuery.json.error.details.fields.map((f: { field: string }) => f.field).sort(), ['query.limit', 'query.status']);
  const badCursor = await call('GET', '/v1/invoices?cursor=zzz', { headers: alice.auth });
  assert.equal(badCursor.status, 400);
  const unknown = await call('GET', '/v1/nothing-here', { headers: alice.auth });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json.error.code, 'not_found');
  const wrongType = await call('POST', '/v1/invoices', { headers: { ...alice.auth, 'content-type': 'text/plain' }, raw: 'hello' });
  assert.ok(wrongType.status === 415 || wrongType.status === 400, String(wrongType.status));
  assert.ok(wrongType.json.error.code);
});

test('random bodies never produce a 500', { skip }, async () => {
  const values: unknown[] = [0, -1, 1e308, '', 'x'.repeat(300), true, null, [], {}, { a: { b: { c: [] } } }, '12.50', '0x10', 'NaN'];
  let seed = 7;
  const pick = () => values[(seed = (seed * 1103515245 + 12345) % 2 ** 31) % values.length];
  for (let i = 0; i < 60; i++) {
    const body: Record<string, unknown> = {};
    for (const field of ['asset', 'amount', 'amount_usd', 'expires_in_minutes', 'confirmations', 'order_id', 'callback_url', 'metadata']) {
      if (seed % 3 !== 0) body[field] = pick();
      pick();
    }
    const reply = await call('POST', '/v1/invoices', { headers: alice.auth, body });
    assert.ok(reply.status < 500, `${JSON.stringify(body)} → ${reply.status} ${JSON.stringify(reply.json)}`);
  }
});

test('an idempotent replay returns the first response byte for byte, whatever the order of its keys', { skip }, async () => {
  // Metadata keys out of alphabetical order, and keys of several lengths: a re-serialization (jsonb
  // orders keys by length, then bytes) would show in the replay.
  const body = { ...invoiceBody, metadata: { zeta: 'last', alpha: 'first', mid: { z: 1, a: [2, 'x'] } } };
  const headers = { ...alice.auth, 'idempotency-key': 'bytes-1' };
  const first = await call('POST', '/v1/invoices', { headers, body });
  assert.equal(first.status, 201);
  assert.equal(first.headers.get('idempotent-replayed'), 'false');
  const again = await call('POST', '/v1/invoices', { headers, body });
  assert.equal(again.status, 201);
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.match(again.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(again.text, first.text, 'the replay is the stored bytes');
  assert.deepEqual(Object.keys(again.json.metadata), ['zeta', 'alpha', 'mid']);
});

test('the same Idempotency-Key returns the first response; with another body it is a 409', { skip }, async () => {
  const headers = { ...alice.auth, 'idempotency-key': 'order-77-attempt' };
  const first = await call('POST', '/v1/invoices', { headers, body: { ...invoiceBody, order_id: 'ORD-77' } });
  assert.equal(first.status, 201);
  const again = await call('POST', '/v1/invoices', { headers, body: { order_id: 'ORD-77', ...invoiceBody } });
  assert.equal(again.status, 201);
  assert.equal(again.json.id, first.json.id, 'a retry gets the same invoice, not a second one');
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  const conflict = await call('POST', '/v1/invoices', { headers, body: { ...invoiceBody, amount: '13' } });
  assert.equal(conflict.status, 409);
  assert.equal(conflict.json.error.code, 'idempotency_key_reused');
  // Another merchant's key space is separate.
  const bobs = await call('POST', '/v1/invoices', { headers: { ...bob.auth, 'idempotency-key': 'order-77-attempt' }, body: invoiceBody });
  assert.equal(bobs.status, 201);
  assert.notEqual(bobs.json.id, first.json.id);
  // Concurrent retries with one key make one invoice.
  const racing = await Promise.all(Array.from({ length: 5 }, () => call('POST', '/v1/invoices', { headers: { ...alice.auth, 'idempotency-key': 'race-1' }, body: invoiceBody })));
  assert.equal(new Set(racing.map((r) => r.json.id)).size, 1);
  const [row] = await settle.db.sql<{ count: bigint }[]>`select count(*) as count from idempotency_keys where key = 'race-1'`;
  assert.equal(row?.count, 1n);
});

test('invoices list newest first with a cursor and status and date filters', { skip }, async () => {
  const carol = await settle.merchant('Carol');
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await call('POST', '/v1/invoices', { headers: carol.auth, body: invoiceBody })).json.id);
  await call('POST', `/v1/invoices/${ids[0]}/cancel`, { headers: carol.auth });
  const page1 = await call('GET', '/v1/invoices?limit=2', { headers: carol.auth });
  assert.deepEqual(page1.json.data.map((i: { id: string }) => i.id), [ids[4], ids[3]]);
  const page2 = await call('GET', `/v1/invoices?limit=2&cursor=${page1.json.next_cursor}`, { headers: carol.auth });
  assert.deepEqual(page2.json.data.map((i: { id: string }) => i.id), [ids[2], ids[1]]);
  const page3 = await call('GET', `/v1/invoices?limit=2&cursor=${page2.json.next_cursor}`, { headers: carol.auth });
  assert.deepEqual(page3.json.data.map((i: { id: string }) => i.id), [ids[0]]);
  assert.equal(page3.json.next_cursor, null);
  const canceled = await call('GET', '/v1/invoices?status=canceled', { headers: carol.auth });
  assert.deepEqual(canceled.json.data.map((i: { id: string }) => i.id), [ids[0]]);
  const future = await call('GET', `/v1/invoices?created_from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`, { headers: carol.auth });
  assert.deepEqual(future.json.data, []);
});

test('each invoice gets its own address; amounts in USD are converted and the rate recorded', { skip }, async () => {
  const a = await call('POST', '/v1/invoices', { headers: alice.auth, body: invoiceBody });
  const b = await call('POST', '/v1/invoices', { headers: bob.auth, body: { asset: 'USDT-ERC20', amount_usd: '50.00' } });
  assert.notEqual(a.json.address, b.json.address);
  assert.match(a.json.address, /^0x[0-9a-fA-F]{40}$/);
  assert.equal(b.json.amount, '50');
  assert.equal(b.json.amount_usd, '50.00');
  assert.equal(b.json.rate_usd, '1');
  assert.equal(b.json.status, 'pending');
  assert.match(b.json.checkout_url, /\/pay\/[0-9a-f-]{36}$/);
  assert.match(b.json.payment_uri, new RegExp(`^ethereum:${chain.token}@${chain.anvil.chainId}/transfer\\?address=${b.json.address}&uint256=50000000$`));
  const [used] = await settle.db.sql<{ count: bigint; distinct: bigint }[]>`select count(*) as count, count(distinct address) as distinct from invoices`;
  assert.equal(used?.count, used?.distinct, 'no address is ever reused');
});

test('GET /v1/openapi.json describes every route from the zod schemas', { skip }, async () => {
  const doc = await call('GET', '/v1/openapi.json');
  assert.equal(doc.status, 200);
  assert.equal(doc.json.openapi, '3.1.0');
  for (const path of ['/v1/invoices', '/v1/invoices/{id}', '/v1/invoices/{id}/cancel', '/v1/balances', '/v1/assets', '/v1/webhooks/deliveries', '/v1/webhooks/deliveries/{id}/redeliver']) {
    assert.ok(doc.json.paths[path], `missing ${path}`);
  }
  const create = doc.json.paths['/v1/invoices'].post;
  assert.ok(create.requestBody.content['application/json'].schema.properties.amount_usd);
  assert.ok(create.parameters.some((p: { name: string }) => p.name === 'Idempotency-Key'));
});
