import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelayMs, retry } from './retry.ts';

class Transient extends Error {}

function recordingSleep(delays: number[]): (ms: number) => Promise<void> {
  return async (ms) => {
    delays.push(ms);
  };
}

test('retry() returns the first success after transient failures, waiting base × 2^n capped', async () => {
  const delays: number[] = [];
  let calls = 0;
  const value = await retry(
    async (attempt) => {
      calls += 1;
      if (attempt < 5) throw new Transient(`attempt ${attempt}`);
      return 'ok';
    },
    { attemptsMax: 5, baseDelayMs: 100, maxDelayMs: 500, isRetryable: (e) => e instanceof Transient, sleep: recordingSleep(delays) },
  );
  assert.equal(value, 'ok');
  assert.equal(calls, 5);
  assert.deepEqual(delays, [100, 200, 400, 500]);
});

test('retry() gives up after attemptsMax attempts with the last error', async () => {
  let calls = 0;
  await assert.rejects(
    retry(
      async (attempt) => {
        calls += 1;
        throw new Transient(`attempt ${attempt}`);
      },
      { attemptsMax: 3, baseDelayMs: 1, maxDelayMs: 1, isRetryable: () => true, sleep: async () => {} },
    ),
    /attempt 3/,
  );
  assert.equal(calls, 3);
});

test('retry() throws a non-retryable error at once', async () => {
  let calls = 0;
  await assert.rejects(
    retry(
      async () => {
        calls += 1;
        throw new Error('permanent');
      },
      { attemptsMax: 10, baseDelayMs: 1, maxDelayMs: 1, isRetryable: (e) => e instanceof Transient, sleep: async () => {} },
    ),
    /permanent/,
  );
  assert.equal(calls, 1);
});

test('retry() stops when its signal aborts while waiting', async () => {
  const controller = new AbortController();
  let calls = 0;
  await assert.rejects(
    retry(
      async () => {
        calls += 1;
        throw new Transient('down');
      },
      {
        attemptsMax: 10,
        baseDelayMs: 1,
        maxDelayMs: 1,
        isRetryable: () => true,
        signal: controller.signal,
        sleep: async () => controller.abort(),
      },
    ),
    /down/,
  );
  assert.equal(calls, 1);
});

test('backoffDelayMs() with a random source stays within [delay / 2, delay]', () => {
  assert.equal(backoffDelayMs(3, { baseDelayMs: 100, maxDelayMs: 10_000, random: () => 0 }), 200);
  assert.equal(backoffDelayMs(3, { baseDelayMs: 100, maxDelayMs: 10_000, random: () => 0.999999 }), 400);
  assert.equal(backoffDelayMs(40, { baseDelayMs: 100, maxDelayMs: 10_000 }), 10_000);
});
