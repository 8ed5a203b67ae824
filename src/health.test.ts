import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHealth } from './health.ts';

test('/health says since when each component has had its status, as an ISO time that changes only with the status', () => {
  let nowMs = Date.parse('2026-03-01T12:00:00.000Z');
  const health = createHealth(() => nowMs);
  health.set('database', 'ok');
  nowMs += 90_000;
  health.set('database', 'ok');
  assert.deepEqual(health.snapshot().components.database, { status: 'ok', detail: undefined, since: '2026-03-01T12:00:00.000Z' });
  health.set('database', 'down', 'connection refused');
  const down = health.snapshot();
  assert.equal(down.status, 'down');
  assert.equal(down.components.database?.since, '2026-03-01T12:01:30.000Z');
  assert.equal('sinceMs' in (down.components.database ?? {}), false, 'no epoch under a duration-like name');
});
