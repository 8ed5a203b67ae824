import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canCancel, nextState } from './state.ts';

const t = (received: bigint, confirmed: bigint) => ({ received, confirmed });

test('an invoice goes pending → confirming → paid as payments are seen and confirmed', () => {
  assert.deepEqual(nextState('pending', 100n, t(0n, 0n), false), { status: 'pending', underpaid: false, overpaid: false });
  assert.deepEqual(nextState('pending', 100n, t(100n, 0n), false), { status: 'confirming', underpaid: false, overpaid: false });
  assert.deepEqual(nextState('confirming', 100n, t(100n, 100n), false), { status: 'paid', underpaid: false, overpaid: false });
});

test('partial payments leave it pending and underpaid; a top-up completes it; more is overpaid', () => {
  assert.deepEqual(nextState('pending', 100n, t(40n, 0n), false), { status: 'pending', underpaid: true, overpaid: false });
  assert.deepEqual(nextState('pending', 100n, t(40n, 40n), false), { status: 'pending', underpaid: true, overpaid: false });
  assert.deepEqual(nextState('pending', 100n, t(100n, 40n), false), { status: 'confirming', underpaid: false, overpaid: false });
  assert.deepEqual(nextState('confirming', 100n, t(150n, 150n), false), { status: 'paid', underpaid: false, overpaid: true });
});

test('expiry ends a pending invoice; a payment detected in time still completes it', () => {
  assert.equal(nextState('pending', 100n, t(0n, 0n), true).status, 'expired');
  assert.deepEqual(nextState('pending', 100n, t(30n, 0n), true), { status: 'expired', underpaid: true, overpaid: false });
  assert.equal(nextState('confirming', 100n, t(100n, 0n), true).status, 'confirming');
  assert.equal(nextState('confirming', 100n, t(100n, 100n), true).status, 'paid');
  assert.equal(nextState('expired', 100n, t(0n, 0n), false).status, 'expired', 'expired stays expired');
});

test('a reorg that removes payments takes the state back', () => {
  assert.equal(nextState('paid', 100n, t(0n, 0n), false).status, 'pending');
  assert.equal(nextState('paid', 100n, t(100n, 0n), false).status, 'confirming');
  assert.equal(nextState('confirming', 100n, t(0n, 0n), true).status, 'expired', 'back past its expiry');
});

test('a canceled invoice stays canceled; only an unpaid pending one can be canceled', () => {
  assert.equal(nextState('canceled', 100n, t(500n, 500n), false).status, 'canceled');
  assert.equal(canCancel('pending', 0n), true);
  assert.equal(canCancel('pending', 1n), false);
  assert.equal(canCancel('confirming', 0n), false);
  assert.equal(canCancel('expired', 0n), false);
});
