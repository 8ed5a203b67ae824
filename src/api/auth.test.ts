// Credentials are read strictly (the four forms of the seed APIs, nothing more or less), and
// refused credentials are limited per client address and per key id with bounded memory.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyRequest } from 'fastify';
import type { Clock } from '../common.ts';
import { comparableAddress, readCredentials } from './auth.ts';
import { addressBucket, FailureLimiter } from './auth-limit.ts';

const read = (headers: Record<string, string | string[]>) => readCredentials({ headers } as unknown as FastifyRequest);
const basic = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;

test('readCredentials() reads the four credential forms', () => {
  assert.deepEqual(read({ authorization: 'Bearer sk_abc' }), { kind: 'given', credentials: { secret: 'sk_abc', merchantId: undefined } });
  assert.deepEqual(read({ authorization: 'bearer pk_1:sk_abc', 'merchant-id': 'm_1' }), { kind: 'given', credentials: { keyId: 'pk_1', secret: 'sk_abc', merchantId: 'm_1' } });
  assert.deepEqual(read({ authorization: basic('pk_1:sk_abc') }), { kind: 'given', credentials: { keyId: 'pk_1', secret: 'sk_abc', merchantId: undefined } });
  assert.deepEqual(read({ 'x-api-key': 'sk_abc', merchant_id: 'm_1' }), { kind: 'given', credentials: { secret: 'sk_abc', merchantId: 'm_1' } });
  assert.deepEqual(read({}), { kind: 'none' });
});

test('readCredentials() refuses anything more or less than a credential form', () => {
  const malformed: Array<Record<string, string | string[]>> = [
    { authorization: 'Bearer sk_abc extra' },
    { authorization: 'Bearer sk_abc\textra' },
    { authorization: 'Bearer' },
    { authorization: 'Bearer ' },
    { authorization: '' },
    { authorization: 'Token sk_abc' },
    { authorization: 'Bearer pk_1:' },
    { authorization: 'Bearer :sk_abc' },
    { authorization: 'Bearer pk_1:sk:abc:' },
    { authorization: `${basic('pk_1:sk_abc')} extra` },
    { authorization: basic('sk_abc') },
    { authorization: basic('pk_1:sk abc') },
    { authorization: 'Basic cGtfMTpza19hYmM' }, // no padding
    { authorization: 'Basic cGtfMTpza19hYmM=!' },
    { authorization: `Basic ${Buffer.from([0x70, 0x3a, 0xff, 0xfe]).toString('base64')}` }, // not UTF-8
    { 'x-api-key': 'sk_abc extra' },
    { 'x-api-key': ['sk_a', 'sk_b'] },
    { 'x-api-key': '' },
    { 'x-api-key': 'sk_abc', 'merchant-id': 'm_1', merchant_id: 'm_2' },
    { 'x-api-key': 'sk_abc', 'merchant-id': 'not a merchant' },
  ];
  for (const headers of malformed) assert.equal(read(headers).kind, 'malformed', JSON.stringify(headers));
});

function fakeClock(): Clock & { advance(ms: number): void } {
  let nowMs = 1_000_000;
  return { nowMs: () => nowMs, now: () => new Date(nowMs), sleep: async () => {}, advance: (ms) => void (nowMs += ms) };
}

test('FailureLimiter allows a burst of failures, then one per refill interval, with the wait to the next', () => {
  const clock = fakeClock();
  const limiter = new FailureLimiter({ burst: 3, perMinute: 6, trackedMax: 100 }, clock);
  for (let i = 0; i < 3; i++) {
    assert.equal(limiter.waitMs('1.2.3.4'), 0);
    limiter.fail('1.2.3.4');
  }
  assert.equal(limiter.waitMs('1.2.3.4'), 10_000, 'six per minute: one every 10 s');
  assert.equal(limiter.waitMs('5.6.7.8'), 0, 'other keys are not limited');
  clock.advance(4_000);
  assert.equal(limiter.waitMs('1.2.3.4'), 6_000);
  clock.advance(6_000);
  assert.equal(limiter.waitMs('1.2.3.4'), 0);
  limiter.fail('1.2.3.4');
  assert.equal(limiter.waitMs('1.2.3.4'), 10_000);
});

test('FailureLimiter forgets refilled buckets and keeps at most trackedMax', () => {
  const clock = fakeClock();
  const limiter = new FailureLimiter({ burst: 2, perMinute: 60, trackedMax: 100 }, clock);
  for (let i = 0; i < 1_000; i++) limiter.fail(`10.0.${i >> 8}.${i & 255}`);
  assert.equal(limiter.size, 100);
  limiter.fail('9.9.9.9');
  limiter.fail('9.9.9.9');
  assert.ok(limiter.waitMs('9.9.9.9') > 0, 'the newest bucket is kept');
  clock.advance(2_000);
  assert.equal(limiter.waitMs('9.9.9.9'), 0);
  assert.equal(limiter.size, 99, 'a full bucket holds nothing worth remembering');
});

test('addressBucket() groups an IPv6 client by its /64 and reads IPv4-mapped addresses as IPv4', () => {
  assert.equal(addressBucket('203.0.113.7'), '203.0.113.7');
  assert.equal(addressBucket('::ffff:203.0.113.7'), '203.0.113.7');
  assert.equal(addressBucket('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(addressBucket('2001:db8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
  assert.equal(addressBucket('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(addressBucket('::1'), '0:0:0:0::/64');
});

test('comparableAddress() lets an IPv4 allow-list entry match a client seen as IPv4-mapped IPv6 on a :: listener', () => {
  assert.equal(comparableAddress('::ffff:203.0.113.7'), '203.0.113.7');
  assert.equal(comparableAddress('::FFFF:cb00:7107'), '203.0.113.7');
  assert.equal(comparableAddress('203.0.113.7'), '203.0.113.7');
  assert.equal(comparableAddress('2001:DB8::7'), '2001:db8::7');
  assert.notEqual(comparableAddress('::ffff:203.0.113.8'), comparableAddress('203.0.113.7'));
});
