// The HTTP server as a hostile client meets it, on raw sockets where fetch would hide the bytes:
// stalled bodies and headers time out with 408, requests that never reach a route (oversized or
// invalid headers, bad URLs) are answered in the one error shape, refused credentials are limited
// per address and per key id with Retry-After, credentials are parsed strictly, and every reply
// carries the security headers and its request id.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { startTestEngine, type TestEngine, type TestMerchant } from '../helpers/engine.ts';

const REQUEST_TIMEOUT_MS = 1_500;
const HEADERS_TIMEOUT_MS = 1_000;
/** Generous: the server must answer a stalled request long before this, even on a slow machine. */
const STALL_DEADLINE_MS = 30_000;

let settle: TestEngine;
let alice: TestMerchant;
after(async () => {
  await settle?.stop();
});

settle = await startTestEngine(import.meta.filename, {
  http: {
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    headersTimeoutMs: HEADERS_TIMEOUT_MS,
    authFailures: { addressBurst: 5, addressPerMinute: 1, keyBurst: 8, keyPerMinute: 1 },
  },
});
alice = await settle.merchant('Alice');
const { hostname, port } = new URL(settle.url);

interface RawReply {
  text: string;
  status: number;
  headers: Record<string, string>;
  body: string;
  closed: boolean;
}

/** Writes `bytes` on a fresh connection and collects what comes back until the server closes it
 * (or the deadline passes: then `closed` is false). */
async function raw(bytes: string | Buffer, deadlineMs = STALL_DEADLINE_MS): Promise<RawReply> {
  const socket = connect({ host: hostname, port: Number(port) });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const closed = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), deadlineMs);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
    socket.on('error', () => {});
    socket.write(bytes);
  });
  socket.destroy();
  const text = Buffer.concat(chunks).toString('latin1');
  const [head = '', body = ''] = text.split('\r\n\r\n', 2);
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  const headers = Object.fromEntries(headerLines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  return { text, status: Number(statusLine.split(' ')[1]), headers, body, closed };
}

function assertErrorShape(body: string, code?: string): { code: string; message: string; details: unknown } {
  const json = JSON.parse(body) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
  assert.deepEqual(Object.keys(json), ['error'], body);
  assert.deepEqual(Object.keys(json.error ?? {}).sort(), ['code', 'details', 'message'], body);
  assert.equal(typeof json.error?.code, 'string');
  assert.equal(typeof json.error?.message, 'string');
  if (code !== undefined) assert.equal(json.error?.code, code, body);
  return json.error as { code: string; message: string; details: unknown };
}

/** An HTTP request from a chosen loopback address (127.0.0.0/8 is all ours), so tests of the
 * per-address limit do not share a bucket. */
async function call(path: string, options: { from?: string; headers?: Record<string, string>; method?: string } = {}) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
    const req = httpRequest({ host: hostname, port: Number(port), path, method: options.method ?? 'GET', headers: options.headers, localAddress: options.from ?? '127.0.0.1' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('a body that never finishes is answered 408 in the error shape and the connection closed', async () => {
  const reply = await raw(`POST /v1/invoices HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"asset":`);
  assert.equal(reply.closed, true, `still open after ${STALL_DEADLINE_MS} ms: ${reply.text}`);
  assert.equal(reply.status, 408, reply.text);
  assertErrorShape(reply.body, 'request_timeout');
  assert.equal(reply.headers['x-content-type-options'], 'nosniff');
});

test('headers that never finish are answered 408 and the connection closed', async () => {
  const reply = await raw('GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: a');
  assert.equal(reply.closed, true, `still open after ${STALL_DEADLINE_MS} ms: ${reply.text}`);
  assert.equal(reply.status, 408, reply.text);
  assertErrorShape(reply.body, 'request_timeout');
});

test('requests that never reach a route are answered in the one error shape', async () => {
  const cases: Array<{ bytes: string; status: number; code: string }> = [
    { bytes: `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, status: 431, code: 'headers_too_large' },
    { bytes: 'GET /health HTTP/1.1\r\nHost: x\r\nX-Ctl: a\u0001b\r\n\r\n', status: 400, code: 'invalid_request' },
    { bytes: 'GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc', status: 400, code: 'invalid_request' },
    { bytes: 'NOT HTTP AT ALL\r\n\r\n', status: 400, code: 'invalid_request' },
    { bytes: 'GET /v1/invoices/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', status: 400, code: 'invalid_url' },
    { bytes: `GET /v1/invoices/${'a'.repeat(300)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, status: 414, code: 'uri_too_long' },
  ];
  for (const c of cases) {
    const reply = await raw(c.bytes);
    assert.equal(reply.status, c.status, `${JSON.stringify(c.bytes.slice(0, 60))} → ${reply.text.slice(0, 300)}`);
    assertErrorShape(reply.body, c.code);
    assert.equal(reply.headers['x-content-type-options'], 'nosniff', reply.text.slice(0, 300));
    assert.match(reply.headers['x-request-id'] ?? '', /^[0-9a-f]{16}$/);
  }
});

test('Content-Type: application/json with no body is a 404 on unknown routes and fine on GET routes', async () => {
  for (const method of ['POST', 'DELETE', 'PUT', 'PATCH', 'GET']) {
    const reply = await call('/v1/nothing-here', { method, headers: { 'content-type': 'application/json', 'content-length': '0' } });
    assert.equal(reply.status, 404, `${method}: ${reply.body}`);
    assertErrorShape(reply.body, 'not_found');
  }
  const unknownWithBody = await call('/v1/nothing-here', { method: 'POST', headers: { 'content-type': 'application/json' } });
  assert.equal(unknownWithBody.status, 404);
  const assets = await call('/v1/assets', { headers: { ...alice.auth, 'content-type': 'application/json' } });
  assert.equal(assets.status, 200, assets.body);
  const health = await call('/health', { headers: { 'content-type': 'application/json', 'content-length': '0' } });
  assert.equal(health.status, 200, health.body);
});

test('refused credentials are limited per client address, with Retry-After', async () => {
  for (let i = 0; i < 5; i++) {
    const reply = await call('/v1/assets', { from: '127.0.0.2', headers: { authorization: `Bearer sk_wrong${i}` } });
    assert.equal(reply.status, 401, reply.body);
  }
  const limited = await call('/v1/assets', { from: '127.0.0.2', headers: { authorization: 'Bearer sk_wrong' } });
  assert.equal(limited.status, 429, limited.body);
  assert.ok(Number(limited.headers['retry-after']) >= 1, `Retry-After: ${String(limited.headers['retry-after'])}`);
  assertErrorShape(limited.body, 'too_many_failed_authentications');
  const evenRight = await call('/v1/assets', { from: '127.0.0.2', headers: alice.auth });
  assert.equal(evenRight.status, 429, 'a limited address is refused before its credentials are looked at');
  const otherAddress = await call('/v1/assets', { from: '127.0.0.3', headers: alice.auth });
  assert.equal(otherAddress.status, 200, otherAddress.body);
  const malformed = await call('/v1/assets', { from: '127.0.0.2', headers: { authorization: 'Bearer a b' } });
  assert.equal(malformed.status, 429);
  const noCredentials = await call('/v1/assets', { from: '127.0.0.2' });
  assert.equal(noCredentials.status, 401, 'sending nothing is not a guess');
});

test('refused credentials are limited per key id across addresses', async () => {
  const wrong = { authorization: `Bearer ${alice.keyId}:sk_wrong` };
  for (let i = 0; i < 8; i++) {
    const reply = await call('/v1/assets', { from: `127.0.1.${1 + (i % 2)}`, headers: wrong });
    assert.equal(reply.status, 401, reply.body);
  }
  const limited = await call('/v1/assets', { from: '127.0.1.3', headers: wrong });
  assert.equal(limited.status, 429, limited.body);
  assert.ok(Number(limited.headers['retry-after']) >= 1);
  const pair = await call('/v1/assets', { from: '127.0.1.4', headers: { authorization: `Bearer ${alice.keyId}:${alice.secret}` } });
  assert.equal(pair.status, 429, 'the key id is limited whoever asks');
  const secretAlone = await call('/v1/assets', { from: '127.0.1.4', headers: { authorization: `Bearer ${alice.secret}` } });
  assert.equal(secretAlone.status, 200, secretAlone.body);
});

test('credentials followed by anything else are refused', async () => {
  const from = '127.0.2.1';
  // A key of its own: the key id of Alice's was limited above.
  const alice = await settle.merchant('Alice again');
  const refused: Array<Record<string, string>> = [
    { authorization: `Bearer ${alice.secret} extra` },
    { authorization: `Bearer ${alice.keyId}:${alice.secret} extra` },
    { authorization: `Basic ${Buffer.from(`${alice.keyId}:${alice.secret}`).toString('base64')} extra` },
    { 'x-api-key': `${alice.secret} extra` },
  ];
  for (const headers of refused) {
    const reply = await call('/v1/assets', { from, headers });
    assert.equal(reply.status, 401, `${JSON.stringify(headers).replace(alice.secret, 'sk_…')}: ${reply.body}`);
    assertErrorShape(reply.body, 'unauthorized');
    assert.ok(!reply.body.includes(alice.secret), 'no secret in a reply');
  }
  const fine = await call('/v1/assets', { from, headers: { authorization: `Basic ${Buffer.from(`${alice.keyId}:${alice.secret}`).toString('base64')}` } });
  assert.equal(fine.status, 200);
});

test('every reply carries nosniff, a Referrer-Policy, a restrictive CSP and its request id', async () => {
  const replies = [
    await call('/health'),
    await call('/metrics'),
    await call('/v1/openapi.json'),
    await call('/v1/assets', { headers: alice.auth }),
    await call('/v1/assets'),
    await call('/nothing'),
    await call('/pay/00000000-0000-4000-8000-000000000000/status'),
  ];
  for (const reply of replies) {
    assert.equal(reply.headers['x-content-type-options'], 'nosniff');
    assert.equal(reply.headers['referrer-policy'], 'no-referrer');
    assert.match(String(reply.headers['content-security-policy']), /frame-ancestors 'none'/);
    assert.match(String(reply.headers['x-request-id']), /^[0-9a-f]{16}$/);
  }
});
