import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AMOUNT_MAX, AmountError, formatAmount, formatAmountFixed, parseAmount } from './amount.ts';

function rejects(input: unknown, decimals: number, code: string): void {
  assert.throws(
    () => parseAmount(input, decimals),
    (error: unknown) => error instanceof AmountError && error.code === code,
    `expected ${String(input)} to be rejected with ${code}`,
  );
}

test('parseAmount() reads whole and fractional digits exactly', () => {
  assert.equal(parseAmount('1', 8), 100_000_000n);
  assert.equal(parseAmount('0.00000001', 8), 1n);
  assert.equal(parseAmount('21000000', 8), 2_100_000_000_000_000n);
  assert.equal(parseAmount('12.5', 6), 12_500_000n);
  assert.equal(parseAmount('007.10', 2), 710n);
  assert.equal(parseAmount('5', 0), 5n);
});

test('parseAmount() handles BSC USDT with 18 decimals without losing a unit', () => {
  assert.equal(parseAmount('1', 18), 1_000_000_000_000_000_000n);
  assert.equal(parseAmount('0.000000000000000001', 18), 1n);
  assert.equal(parseAmount('123456789.123456789123456789', 18), 123_456_789_123_456_789_123_456_789n);
  // The same text on 6-decimal USDT is too precise and must be refused, not rounded.
  rejects('0.000000000000000001', 6, 'amount_too_many_decimals');
  // 0.1 + 0.2 style float artefacts cannot appear.
  assert.equal(parseAmount('0.3', 18), 300_000_000_000_000_000n);
});

test('parseAmount() rejects more fractional digits than the asset has', () => {
  rejects('1.123456789', 8, 'amount_too_many_decimals');
  rejects('1.1234567', 6, 'amount_too_many_decimals');
  rejects('1.0', 0, 'amount_too_many_decimals');
});

test('parseAmount() rejects negative and zero amounts', () => {
  rejects('-1', 8, 'amount_negative');
  rejects('-0.5', 8, 'amount_negative');
  rejects('0', 8, 'amount_zero');
  rejects('0.000', 8, 'amount_zero');
  assert.equal(parseAmount('0', 8, { allowZero: true }), 0n);
});

test('parseAmount() rejects exponents, empty strings, non-digits and non-strings', () => {
  rejects('1e5', 8, 'amount_malformed');
  rejects('1E-3', 8, 'amount_malformed');
  rejects('', 8, 'amount_empty');
  rejects(' 1', 8, 'amount_malformed');
  rejects('1 ', 8, 'amount_malformed');
  rejects('1,000', 8, 'amount_malformed');
  rejects('+1', 8, 'amount_malformed');
  rejects('.5', 8, 'amount_malformed');
  rejects('5.', 8, 'amount_malformed');
  rejects('0x10', 8, 'amount_malformed');
  rejects('1.2.3', 8, 'amount_malformed');
  rejects('١٢', 0, 'amount_malformed'); // non-ASCII digits
  rejects('NaN', 8, 'amount_malformed');
  rejects('Infinity', 8, 'amount_malformed');
  rejects(1.5, 8, 'amount_not_a_string');
  rejects(10n, 8, 'amount_not_a_string');
  rejects(null, 8, 'amount_not_a_string');
});

test('parseAmount() rejects values over 78 digits in base units', () => {
  const max = AMOUNT_MAX.toString();
  assert.equal(max.length, 78);
  assert.equal(parseAmount(max, 0), AMOUNT_MAX);
  rejects(`${max}0`, 0, 'amount_too_large');
  rejects('1'.padEnd(79, '0'), 0, 'amount_too_large');
  // 61 whole digits + 18 decimals = 79 digits of base units.
  rejects(`${'9'.repeat(61)}.5`, 18, 'amount_too_large');
  assert.equal(parseAmount(`${'9'.repeat(60)}.5`, 18).toString().length, 78);
  // Leading zeros do not count toward the limit.
  assert.equal(parseAmount(`${'0'.repeat(100)}1`, 0), 1n);
});

test('formatAmount() is the exact inverse of parseAmount()', () => {
  assert.equal(formatAmount(1n, 8), '0.00000001');
  assert.equal(formatAmount(100_000_000n, 8), '1');
  assert.equal(formatAmount(12_500_000n, 6), '12.5');
  assert.equal(formatAmount(0n, 6), '0');
  assert.equal(formatAmount(-1_500_000n, 6), '-1.5');
  assert.equal(formatAmount(42n, 0), '42');
  assert.equal(formatAmountFixed(12_500_000n, 6), '12.500000');
  assert.equal(formatAmountFixed(5n, 6), '0.000005');
  for (const [text, decimals] of [['0.1', 18], ['123.456789', 6], ['99999999.99999999', 8], ['1', 0]] as const) {
    assert.equal(formatAmount(parseAmount(text, decimals), decimals), text);
  }
  assert.equal(formatAmount(AMOUNT_MAX, 18).replace('.', '').length, 78);
});

test('decimals outside 0..36 are a programmer error', () => {
  assert.throws(() => parseAmount('1', -1), RangeError);
  assert.throws(() => parseAmount('1', 2.5), RangeError);
  assert.throws(() => formatAmount(1n, 37), RangeError);
});
