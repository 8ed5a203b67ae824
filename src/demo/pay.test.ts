import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Invoice } from '../invoices/store.ts';
import { DemoPayError, describeDemoPayment, planDemoPayment } from './pay.ts';

const NOW_MS = Date.parse('2026-03-01T12:00:00Z');

function invoice(overrides: Partial<Invoice> = {}): Invoice {
  return {
    id: '3f2b8c1e-0a4d-4e5f-9a6b-7c8d9e0f1a2b', merchantId: 'demo', chain: 'dev', assetCode: 'USDT-ERC20', ledger: 1,
    amount: 25_000_000n, amountUsd: undefined, rateUsd: undefined, rateSource: undefined, addressId: 1n, address: '0x0000000000000000000000000000000000000001',
    status: 'pending', confirmationsRequired: 3, expiresAt: new Date(NOW_MS + 600_000), orderId: undefined, callbackUrl: undefined, metadata: undefined,
    dialect: undefined, receivedAmount: 0n, confirmedAmount: 0n, underpaid: false, overpaid: false, paidLate: false, lastTxid: undefined,
    createdAt: new Date(NOW_MS - 60_000), updatedAt: new Date(NOW_MS - 60_000), paidAt: undefined, canceledAt: undefined,
    ...overrides,
  };
}

function says(target: Invoice, amount: string | undefined): string {
  return describeDemoPayment(target, planDemoPayment(target, amount, NOW_MS));
}

function refusal(target: Invoice, amount: string | undefined): DemoPayError {
  try {
    planDemoPayment(target, amount, NOW_MS);
  } catch (error) {
    assert.ok(error instanceof DemoPayError, String(error));
    return error;
  }
  assert.fail('expected a refusal');
}

test('demo pay without an amount pays what is still due and says the invoice turns paid', () => {
  assert.equal(planDemoPayment(invoice(), undefined, NOW_MS).amount, 25_000_000n);
  assert.match(says(invoice(), undefined), /turns confirming now and paid after 3 confirmations/);
  const topped = invoice({ receivedAmount: 10_000_000n, underpaid: true });
  assert.equal(planDemoPayment(topped, undefined, NOW_MS).amount, 15_000_000n);
  assert.match(says(topped, undefined), /turns confirming now/);
});

test('demo pay of part of an invoice says it stays pending and what remains', () => {
  assert.equal(says(invoice(), '10'), 'that is part of it: the invoice stays pending (underpaid) with 15 USDT-ERC20 of 25 USDT-ERC20 still to pay; `settle demo pay 3f2b8c1e-0a4d-4e5f-9a6b-7c8d9e0f1a2b` pays the rest');
  assert.match(says(invoice({ receivedAmount: 10_000_000n }), '5.5'), /stays pending \(underpaid\) with 9\.5 USDT-ERC20 of 25 USDT-ERC20 still to pay/);
});

test('demo pay of more than is due says the invoice is overpaid and all of it is credited', () => {
  assert.match(says(invoice(), '30'), /^that is 5 USDT-ERC20 more than the 25 USDT-ERC20 due: .*flagged overpaid/);
  assert.match(says(invoice({ status: 'paid', receivedAmount: 25_000_000n, confirmedAmount: 25_000_000n }), '1'), /already paid, so these 1 USDT-ERC20 are an overpayment/);
});

test('demo pay of an already paid invoice without an amount sends nothing and says so', () => {
  for (const status of ['paid', 'confirming'] as const) {
    const error = refusal(invoice({ status, receivedAmount: 25_000_000n }), undefined);
    assert.equal(error.exitCode, 1);
    assert.match(error.message, new RegExp(`is already paid \\(25 USDT-ERC20 received, status ${status}\\), so nothing was sent`));
  }
});

test('demo pay of a canceled or expired invoice says the coins go to suspense, not to the merchant', () => {
  assert.match(says(invoice({ status: 'canceled' }), undefined), /the invoice is canceled, so these coins do not pay it: they go to the suspense account/);
  assert.match(says(invoice({ status: 'expired' }), '3'), /the invoice is expired, so these coins do not pay it: they go to the suspense account/);
  // Past its expiry, before the expiry loop marked it: the scanner routes the coins to suspense.
  assert.match(says(invoice({ expiresAt: new Date(NOW_MS - 1) }), undefined), /is expired, .*suspense/);
});

test('demo pay refuses a bad amount or another asset with one sentence and exit code 2', () => {
  for (const bad of ['abc', '-5', '0', '1e3', '1.1234567', '']) {
    const error = refusal(invoice(), bad);
    assert.equal(error.exitCode, 2, bad);
    assert.match(error.message, new RegExp(`^"${bad.replace('.', '\\.')}" is not an amount of USDT-ERC20: `));
    assert.equal(error.message.includes('\n'), false);
  }
  assert.equal(refusal(invoice({ assetCode: 'USDT-TRC20' }), undefined).exitCode, 2);
});
