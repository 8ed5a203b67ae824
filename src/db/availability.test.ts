import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DatabaseUnavailableError, isDatabaseUnavailable, withDeadline } from './availability.ts';

test('isDatabaseUnavailable() knows lost connections and a server going away, not bad queries', () => {
  for (const code of ['ECONNREFUSED', 'ECONNRESET', 'CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_DESTROYED', '57P01', '57P03', '08006']) {
    assert.equal(isDatabaseUnavailable(Object.assign(new Error(code), { code })), true, code);
  }
  for (const code of ['23505', '42P01', '22P02', undefined]) {
    assert.equal(isDatabaseUnavailable(Object.assign(new Error('x'), { code })), false, String(code));
  }
  assert.equal(isDatabaseUnavailable(new DatabaseUnavailableError('away')), true);
});

test('withDeadline() passes a prompt answer through and turns a late one into DatabaseUnavailableError', async () => {
  assert.equal(await withDeadline(Promise.resolve(7), 1_000, 'quick'), 7);
  await assert.rejects(withDeadline(Promise.reject(new Error('bad query')), 1_000, 'quick'), /bad query/);
  const never = new Promise<number>(() => {});
  await assert.rejects(withDeadline(never, 20, 'select 1'), (error: unknown) => error instanceof DatabaseUnavailableError && /select 1/.test(error.message));
});
