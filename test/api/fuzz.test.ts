// Seeded fuzzing of every route of the real server on a real Postgres: thousands of requests with
// random methods, paths, path parameters, queries, headers, credentials and bodies (valid ones,
// mutated ones, odd JSON, broken JSON, deep nesting, NUL and lone surrogates), some sent as raw
// bytes that no HTTP client would produce. No reply may be a 5xx, every error reply must be in the
// one error shape (the checkout's HTML 404 page aside), and every reply carries nosniff.
//
// Bounded by count, not time. Replay a failure with FUZZ_SEED=<seed> (and FUZZ_REQUESTS=<n>),
// printed in the failure message; a run uses seed 1 and a random seed.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { seededRandom } from '../../src/common.ts';
import { anvilSkipReason } from '../helpers/anvil.ts';
import { startEvmTestChain, type EvmTestChain } from '../helpers/evm-chain.ts';
import { startTestEngine, type TestEngine, type TestMerchant } from '../helpers/engine.ts';
import { JsonGen, percentEncode, type Pick } from '../helpers/fuzz-gen.ts';

const skip = anvilSkipReason();
const replaySeed = process.env.FUZZ_SEED;
const seeds = replaySeed !== undefined ? [Number(replaySeed)] : [1, Date.now() % 1_000_000];
const requestsPerSeed = Number(process.env.FUZZ_REQUESTS ?? 1_500);
/** Invoices the fuzz may create (each takes a deposit address from the pool). */
const CREATED_MAX = 200;

let chain: EvmTestChain;
let settle: TestEngine;
let alice: TestMerchant;
let bob: TestMerchant;
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

after(async () => {
  agent.destroy();
  await settle?.stop();
  await chain?.anvil.stop();
});

if (skip === undefined) {
  chain = await startEvmTestChain();
  settle = await startTestEngine(import.meta.filename, {
    chains: chain.config({ addressLookAhead: CREATED_MAX * 2 * seeds.length }),
    // The fuzz sends many bad credentials; the limit is tested elsewhere and would only hide routes here.
    http: { authFailures: { addressBurst: 1_000_000, keyBurst: 1_000_000 } },
  });
  alice = await settle.merchant('Alice');
  bob = await settle.merchant('Bob');
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | undefined;
}

const ROUTES: Array<{ method: string; path: string }> = [
  { method: 'GET', path: '/health' }, { method: 'GET', path: '/metrics' }, { method: 'GET', path: '/v1/openapi.json' },
  { method: 'POST', path: '/v1/invoices' }, { method: 'POST', path: '/v1/invoices' }, { method: 'POST', path: '/v1/invoices' },
  { method: 'GET', path: '/v1/invoices' }, { method: 'GET', path: '/v1/invoices/:id' }, { method: 'POST', path: '/v1/invoices/:id/cancel' },
  { method: 'GET', path: '/v1/balances' }, { method: 'GET', path: '/v1/assets' }, { method: 'GET', path: '/v1/webhooks/deliveries' },
  { method: 'POST', path: '/v1/webhooks/deliveries/:id/redeliver' }, { method: 'GET', path: '/pay/:id' }, { method: 'GET', path: '/pay/:id/status' },
  { method: 'GET', path: '/v1/nothing' }, { method: 'POST', path: '/v1' }, { method: 'GET', path: '/' },
];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'];
const QUERY_KEYS = ['status', 'created_from', 'created_to', 'limit', 'cursor', 'event_id', 'invoice_id', 'x', '__proto__', 'constructor'];

class Workload {
  readonly gen: JsonGen;
  readonly invoiceIds: string[] = [];
  created = 0;

  constructor(readonly pick: Pick) {
    this.gen = new JsonGen(pick);
  }

  id(): string {
    const roll = this.pick.int(10);
    if (roll < 4 && this.invoiceIds.length > 0) return this.pick.one(this.invoiceIds);
    if (roll < 7) return this.gen.uuid();
    return percentEncode(this.gen.text()).slice(0, this.pick.one([10, 200, 2_000]));
  }

  query(): string {
    if (this.pick.int(3) === 0) return '';
    const parts: string[] = [];
    for (let i = 0, n = 1 + this.pick.int(4); i < n; i++) {
      const key = this.pick.int(8) === 0 ? percentEncode(this.gen.text()) : this.pick.one(QUERY_KEYS);
      parts.push(`${key}=${percentEncode(this.gen.queryValue())}`);
    }
    return `?${parts.join('&')}`;
  }

  credentials(): Record<string, string> {
    const merchant = this.pick.int(5) === 0 ? bob : alice;
    const basic = Buffer.from(`${merchant.keyId}:${merchant.secret}`).toString('base64');
    const forms: Array<Record<string, string>> = [
      merchant.auth, merchant.auth, merchant.auth, merchant.auth, merchant.auth,
      { authorization: `Bearer ${merchant.keyId}:${merchant.secret}` },
      { authorization: `Basic ${basic}` },
      { 'x-api-key': merchant.secret, 'merchant-id': merchant.id },
      { 'x-api-key': merchant.secret, merchant_id: merchant.id },
      {},
      { authorization: this.gen.headerValue() },
      { authorization: `Bearer ${this.gen.headerValue()}` },
      { authorization: `Basic ${Buffer.from(this.gen.text()).toString('base64')}` },
      { 'x-api-key': this.gen.headerValue(), merchant_id: this.gen.headerValue() },
    ];
    return this.pick.one(forms);
  }

  headers(hasBody: boolean): Record<string, string> {
    const headers: Record<string, string> = { ...this.credentials() };
    const type = this.pick.one(['application/json', 'application/json', 'application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', this.gen.headerValue(), '']);
    if (type !== '' && (hasBody || this.pick.int(2) === 0)) headers['content-type'] = type;
    if (this.pick.int(4) === 0) headers['idempotency-key'] = this.pick.one([`k-${this.pick.int(20)}`, '', 'k'.repeat(300), this.gen.headerValue()]);
    if (this.pick.int(6) === 0) headers.origin = this.pick.one(['https://shop.example', this.gen.headerValue()]);
    if (this.pick.int(6) === 0) headers[this.pick.one(['accept', 'x-forwarded-for', 'accept-encoding', 'if-none-match', 'range'])] = this.gen.headerValue();
    return headers;
  }

  invoiceBody(): string {
    const roll = this.pick.int(10);
    if (roll < 5 && this.created < CREATED_MAX) {
      return JSON.stringify(this.gen.validInvoice());
    }
    if (roll < 7) return this.gen.mutate(this.gen.validInvoice());
    return this.gen.body();
  }

  next(): FuzzRequest {
    const target = this.pick.one(ROUTES);
    const method = this.pick.int(8) === 0 ? this.pick.one(METHODS) : target.method;
    let path = target.path.replace(':id', () => this.id());
    if (this.pick.int(12) === 0) path = this.pick.one([`${path}/`, `${path}//x`, path.toUpperCase(), `${path}/..`, `${path}%2F`, `${path};x=1`]);
    path += target.method === 'GET' || this.pick.int(5) === 0 ? this.query() : '';
    const withBody = method !== 'GET' && method !== 'HEAD' && (method === 'POST' ? this.pick.int(6) !== 0 : this.pick.int(3) === 0);
    const body = !withBody ? undefined : target.path === '/v1/invoices' && method === 'POST' ? this.invoiceBody() : this.gen.body();
    return { method, path, headers: this.headers(body !== undefined), body };
  }

  /** Raw bytes: a request no client library would send (control characters, bad framing, huge headers). */
  raw(): Buffer {
    const request = this.next();
    const lines = [`${this.pick.int(6) === 0 ? this.gen.token() : request.method} ${this.pick.int(6) === 0 ? this.gen.rawPath() : request.path} ${this.pick.one(['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/9', 'FOO'])}`];
    lines.push('Host: fuzz');
    for (const [name, value] of Object.entries(request.headers)) lines.push(`${name}: ${value}`);
    for (let i = 0, n = this.pick.int(3); i < n; i++) lines.push(this.gen.rawHeader());
    const body = Buffer.from(request.body ?? (this.pick.int(4) === 0 ? this.gen.text() : ''), 'utf8');
    const framing = this.pick.int(8);
    if (framing === 0) lines.push('Transfer-Encoding: chunked', `Content-Length: ${body.length}`);
    else if (framing === 1) lines.push(`Content-Length: ${body.length}`, `Content-Length: ${body.length + 1}`);
    else if (framing === 2) lines.push(`Content-Length: ${this.pick.one(['-1', 'abc', '99999999999999999999', '0x10'])}`);
    else if (body.length > 0) lines.push(`Content-Length: ${body.length}`);
    lines.push('Connection: close');
    return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
  }
}

async function send(request: FuzzRequest): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const url = new URL(settle.url);
    const req = httpRequest({ host: url.hostname, port: Number(url.port), path: request.path, method: request.method, headers: request.headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(request.body);
  });
}

/** Sends raw bytes, half-closes, and reads the first reply (undefined when the server just closed). */
async function sendRaw(bytes: Buffer): Promise<Reply | undefined> {
  const url = new URL(settle.url);
  const socket = connect({ host: url.hostname, port: Number(url.port) });
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await new Promise<void>((resolve) => {
    socket.on('close', () => resolve());
    socket.on('error', () => {});
    socket.end(bytes);
  });
  let text = Buffer.concat(chunks).toString('latin1');
  // Interim replies (100 Continue to an Expect header) come before the reply.
  while (/^HTTP\/1\.1 1\d\d /.test(text) && text.includes('\r\n\r\n')) text = text.slice(text.indexOf('\r\n\r\n') + 4);
  if (text === '') return undefined;
  const headEnd = text.indexOf('\r\n\r\n');
  const [statusLine = '', ...headerLines] = text.slice(0, headEnd).split('\r\n');
  const headers = Object.fromEntries(headerLines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  const length = Number(headers['content-length'] ?? Number.NaN);
  const rest = Buffer.from(text.slice(headEnd + 4), 'latin1');
  return { status: Number(statusLine.split(' ')[1]), headers, body: (Number.isNaN(length) ? rest : rest.subarray(0, length)).toString('utf8') };
}

function checkReply(method: string, path: string, reply: Reply): void {
  assert.ok(reply.status >= 100 && reply.status < 500, `status ${reply.status}: ${reply.body.slice(0, 500)}`);
  assert.equal(reply.headers['x-content-type-options'], 'nosniff', 'every reply carries nosniff');
  if (reply.status < 400 || method === 'HEAD') return;
  const html = String(reply.headers['content-type'] ?? '').startsWith('text/html');
  if (html && reply.status === 404 && path.startsWith('/pay/')) return; // the checkout's page for a bad link
  let json: { error?: { code?: unknown; message?: unknown; details?: unknown } };
  try {
    json = JSON.parse(reply.body);
  } catch {
    assert.fail(`a ${reply.status} reply that is not JSON: ${reply.body.slice(0, 300)}`);
  }
  assert.deepEqual(Object.keys(json), ['error'], `not the error shape: ${reply.body.slice(0, 300)}`);
  assert.deepEqual(Object.keys(json.error ?? {}).sort(), ['code', 'details', 'message'], `not the error shape: ${reply.body.slice(0, 300)}`);
  assert.equal(typeof json.error?.code, 'string');
  assert.equal(typeof json.error?.message, 'string');
}

async function runSeed(seed: number, count: number, seen: Map<number, number>): Promise<void> {
  const work = new Workload(new PickImpl(seededRandom(seed)));
  let prev = '';
  for (let i = 0; i < count; i++) {
    const rawMode = work.pick.int(10) === 0;
    const request = rawMode ? undefined : work.next();
    const bytes = rawMode ? work.raw() : undefined;
    // Test keys stay out of test output too.
    const redact = (text: string) => [alice, bob].reduce((t, m) => t.replaceAll(m.secret, 'sk_…').replaceAll(Buffer.from(`${m.keyId}:${m.secret}`).toString('base64'), 'base64(pk:sk_…)'), text);
    const what = redact(request !== undefined ? `${request.method} ${request.path} ${JSON.stringify(request.headers)} ${String(request.body).slice(0, 300)}` : JSON.stringify(bytes?.toString('latin1').slice(0, 500)));
    try {
      const reply = request !== undefined ? await send(request) : await sendRaw(bytes as Buffer);
      prev = what + ' => ' + JSON.stringify(reply);
      if (reply === undefined) continue;
      seen.set(reply.status, (seen.get(reply.status) ?? 0) + 1);
      const [rawMethod = '', rawPath = ''] = bytes === undefined ? [] : bytes.toString('latin1').split(' ', 2);
      checkReply(request?.method ?? rawMethod, request?.path ?? rawPath, reply);
      if (reply.status === 201 && request?.path.startsWith('/v1/invoices') === true) {
        work.created++;
        const id = (JSON.parse(reply.body) as { id?: string }).id;
        if (id !== undefined) work.invoiceIds.push(id);
      }
    } catch (error) {
      (error as Error).message = `[replay with FUZZ_SEED=${seed} FUZZ_REQUESTS=${count}] request ${i}: ${what}\n${(error as Error).message}\nthe request before it: ${prev}`;
      throw error;
    }
  }
}

class PickImpl implements Pick {
  constructor(private readonly next: () => number) {}
  int(max: number): number {
    return Math.floor(this.next() * max);
  }
  one<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}

test('no request to any route gets a 5xx or an error outside the one error shape', { skip, timeout: 600_000 }, async () => {
  const seen = new Map<number, number>();
  for (const seed of seeds) await runSeed(seed, requestsPerSeed, seen);
  console.log(`# fuzz: seeds ${seeds.join(', ')}, ${requestsPerSeed} requests each; replies by status ${JSON.stringify(Object.fromEntries([...seen].sort((a, b) => a[0] - b[0])))}`);
  // The workload must reach the outcomes it is meant to probe, not just bounce off one check.
  for (const status of [200, 201, 400, 401, 404, 409]) {
    assert.ok((seen.get(status) ?? 0) > 0, `the fuzz never got a ${status}: ${JSON.stringify([...seen])}`);
  }
});
