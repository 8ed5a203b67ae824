import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { createShutdown } from './common.ts';

test('shutdown abandons a hook that never finishes after its bound and still runs the others', async () => {
  const shutdown = createShutdown(pino({ level: 'silent' }));
  const ran: string[] = [];
  shutdown.onShutdown('database', () => void ran.push('database'));
  shutdown.onShutdown('stuck', () => new Promise<void>(() => {}), 50);
  shutdown.onShutdown('http', () => void ran.push('http'));
  const outcome = await Promise.race([
    shutdown.run('test').then(() => 'finished'),
    new Promise<string>((resolve) => setTimeout(() => resolve('hung'), 30_000).unref()),
  ]);
  assert.equal(outcome, 'finished');
  assert.deepEqual(ran, ['http', 'database']);
  assert.equal(shutdown.signal.aborted, true);
});
