// A database outage under the whole engine: Settle talks to a real Postgres through a loopback
// TCP proxy that the test cuts (open connections reset; new ones refused, then black-holed) and
// restores. During the outage the API and /health answer 503 with Retry-After in the one error
// shape — never hang, never 500; after it, everything answers again within seconds, a payment
// made during the outage is detected exactly once, and shutdown completes during an outage.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { anvilSkipReason } from '../helpers/anvil.ts';
import { startEvmTestChain, type EvmTestChain } from '../helpers/evm-chain.ts';
import { eventually, startTestEngine, type TestEngine, type TestMerchant } from '../helpers/engine.ts';
import { testDatabase } from '../helpers/db.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';
import { checkInvariants, formatViolations } from '../../src/ledger/invariants.ts';

/** A request that has not answered by then counts as hanging (the engine's own deadline is 2 s). */
const HANG_MS = 20_000;
const skip = anvilSkipReason();
let chain: EvmTestChain;
let proxy: TcpProxy;
let settle: TestEngine;
let shop: TestMerchant;

after(async () => {
  await proxy?.restore();
  await settle?.stop();
  await proxy?.close();
  await chain?.anvil.stop();
});

if (skip === undefined) {
  chain = await startEvmTestChain();
  const db = await testDatabase(import.meta.filename);
  const direct = new URL(db.url);
  proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
  const proxied = new URL(db.url);
  proxied.hostname = proxy.host;
  proxied.port = String(proxy.port);
  settle = await startTestEngine(import.meta.filename, {
    chains: chain.config(),
    database: { url: proxied.toString(), requestTimeoutMs: 2_000 },
  }, { ...db, url: proxied.toString() });
  shop = await settle.merchant('Shop');
}

async function call(method: string, path: string, body?: unknown) {
  const response = await fetch(`${settle.url}${path}`, {
    method,
    headers: { ...shop.auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(HANG_MS),
  });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), json: (await response.json()) as any };
}

const createInvoice = () => call('POST', '/v1/invoices', { asset: 'USDT-ERC20', amount: '5' });

async function assertUnavailable(what: string) {
  const created = await createInvoice();
  assert.equal(created.status, 503, `${what}: POST /v1/invoices ${JSON.stringify(created.json)}`);
  assert.ok(Number(created.retryAfter) > 0, `${what}: POST /v1/invoices has Retry-After`);
  assert.deepEqual(Object.keys(created.json.error).sort(), ['code', 'details', 'message']);
  assert.equal(created.json.error.code, 'temporarily_unavailable');
  const health = await call('GET', '/health');
  assert.equal(health.status, 503, `${what}: /health ${JSON.stringify(health.json)}`);
  assert.ok(Number(health.retryAfter) > 0, `${what}: /health has Retry-After`);
  assert.equal(health.json.components.database.status, 'down');
}

/** Polls until invoices can be created and /health is 200 again. */
function recovered(what: string) {
  return eventually(async () => {
    const health = await call('GET', '/health');
    const created = await createInvoice();
    return health.status === 200 && created.status === 201 ? created.json : undefined;
  }, 30_000, `the API to answer again after ${what}`);
}

async function paidOnce(invoiceId: string) {
  await eventually(async () => {
    await chain.anvil.mine(1);
    const invoice = await call('GET', `/v1/invoices/${invoiceId}`);
    return invoice.json.status === 'paid' ? invoice.json : undefined;
  }, 60_000, `invoice ${invoiceId} to be paid`);
  const rows = await settle.db.sql<{ n: bigint }[]>`
    select count(*) as n from payments where reference = ${`invoice:${invoiceId}`} and orphaned_at is null`;
  assert.equal(rows[0]?.n, 1n, 'the payment is recorded exactly once');
}

test('during a database outage the API answers 503 with Retry-After, and recovers within seconds after it', { skip, timeout: 300_000 }, async () => {
  const before = await createInvoice();
  assert.equal(before.status, 201, JSON.stringify(before.json));
  await eventually(async () => {
    const scanner = (await call('GET', '/health')).json.components['scanner:eth'];
    return /^at \d+/.test(scanner?.detail ?? '') ? scanner : undefined;
  }, 30_000, 'the scanner to apply its first blocks');

  // Refused: nothing listens where the database was (a stopped server).
  await proxy.cut('refuse');
  await assertUnavailable('refused');
  await assertUnavailable('refused, again');
  // Paid while Settle cannot reach its database: detected when it can again.
  await chain.payToken(before.json.address, 5_000_000n);
  await proxy.restore();
  const during = await recovered('a refused outage');

  // Black-holed: connections accepted and never answered (a dropped route).
  await proxy.cut('blackhole');
  await assertUnavailable('black-holed');
  await chain.payToken(during.address, 5_000_000n);
  await proxy.restore();
  const afterwards = await recovered('a black-holed outage');

  await paidOnce(before.json.id);
  await paidOnce(during.id);
  await chain.payToken(afterwards.address, 5_000_000n);
  await paidOnce(afterwards.id);
  const violations = await checkInvariants(settle.db.sql);
  assert.equal(violations.length, 0, formatViolations(violations));
});

test('shutdown completes while the database is unreachable', { skip, timeout: 300_000 }, async () => {
  await proxy.cut('blackhole');
  const stopped = settle.stop().then(() => 'stopped' as const);
  const outcome = await Promise.race([stopped, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 120_000).unref())]);
  assert.equal(outcome, 'stopped', 'shutdown finished during the outage');
});
