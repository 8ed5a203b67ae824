// The API's error replies for failures that are not the client's fault: a passing condition is a
// 503 with Retry-After and no internals; anything else a 500 with only a request id.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { NonRetryableError, RetryableError } from '../errors.ts';
import { installErrorHandling } from './errors.ts';

async function replyTo(error: Error): Promise<{ status: number; retryAfter: string | undefined; body: { error: { code: string; message: string; details: unknown } } }> {
  const app = Fastify();
  installErrorHandling(app, pino({ level: 'silent' }));
  app.post('/v1/invoices', () => {
    throw error;
  });
  try {
    const response = await app.inject({ method: 'POST', url: '/v1/invoices', payload: {} });
    return { status: response.statusCode, retryAfter: response.headers['retry-after'] as string | undefined, body: response.json() };
  } finally {
    await app.close();
  }
}

test('an exhausted address pool answers 503 with Retry-After, naming the condition but not the key', async () => {
  const reply = await replyTo(new RetryableError('address_pool_exhausted', 'no free deposit address for eth mainnet xpub6CUGRU…abcd; more are being derived', { key: 'eth:1' }));
  assert.equal(reply.status, 503);
  assert.equal(reply.retryAfter, '2');
  assert.equal(reply.body.error.code, 'address_pool_exhausted');
  assert.doesNotMatch(JSON.stringify(reply.body), /xpub|eth:1/);
});

test('no fresh USD rate answers 503 rate_unavailable with Retry-After, without the providers\' answers', async () => {
  const reply = await replyTo(new RetryableError('rate_unavailable', 'no fresh USD rate for BTC: none of kraken, coinbase answered in the last 120 s'));
  assert.equal(reply.status, 503);
  assert.equal(reply.retryAfter, '2');
  assert.equal(reply.body.error.code, 'rate_unavailable');
  assert.doesNotMatch(reply.body.error.message, /kraken|coinbase/);
});

test('another passing condition answers 503 temporarily_unavailable without its internal message', async () => {
  const reply = await replyTo(new RetryableError('db_unavailable', 'connect ECONNREFUSED 127.0.0.1:5432'));
  assert.equal(reply.status, 503);
  assert.equal(reply.body.error.code, 'temporarily_unavailable');
  assert.doesNotMatch(reply.body.error.message, /ECONNREFUSED|5432/);
});

test('a bug answers 500 with a request id only', async () => {
  const reply = await replyTo(new NonRetryableError('invariant_broken', 'account 42 would be overdrawn'));
  assert.equal(reply.status, 500);
  assert.equal(reply.retryAfter, undefined);
  assert.equal(reply.body.error.code, 'internal_error');
  assert.doesNotMatch(reply.body.error.message, /account 42/);
});

test('the request id a 500 or 503 reply cites is on the error\'s log line', async () => {
  const lines: Array<{ level: number; reqId?: string; msg: string }> = [];
  const sink = new Writable({ write(chunk, _encoding, done) { lines.push(JSON.parse(String(chunk))); done(); } });
  let count = 0;
  const app = Fastify({ genReqId: () => `req-${++count}` });
  installErrorHandling(app, pino({ level: 'info' }, sink));
  app.get('/bug', () => { throw new NonRetryableError('invariant_broken', 'account 42 would be overdrawn'); });
  app.get('/away', () => { throw new RetryableError('db_unavailable', 'connect ECONNREFUSED'); });
  try {
    for (const [url, level] of [['/bug', 50], ['/away', 40]] as const) {
      const response = await app.inject({ method: 'GET', url });
      const requestId = (response.json() as { error: { details: { request_id: string } } }).error.details.request_id;
      assert.match(requestId, /^req-\d+$/);
      const line = lines.find((l) => l.reqId === requestId);
      assert.ok(line !== undefined, `no log line with reqId ${requestId} among ${JSON.stringify(lines)}`);
      assert.equal(line.level, level);
    }
  } finally {
    await app.close();
  }
});
