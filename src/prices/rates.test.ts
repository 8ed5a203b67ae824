import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFixedRateSource, usdToBaseUnits } from './rates.ts';

test('usdToBaseUnits() converts exactly and rounds up to the next base unit', () => {
  assert.equal(usdToBaseUnits('50.00', '1', 6), 50_000_000n, 'USDT 1:1 on 6 decimals');
  assert.equal(usdToBaseUnits('50', '1', 18), 50n * 10n ** 18n, 'BSC USDT on 18 decimals');
  assert.equal(usdToBaseUnits('100', '65000', 8), 153_847n, '100 USD of BTC at 65,000 rounds 153846.15 up');
  assert.equal(usdToBaseUnits('0.01', '3.3333', 6), 3_001n);
  assert.equal(usdToBaseUnits('10', '0.5', 6), 20_000_000n);
});

test('the fixed source answers from config and nothing else', async () => {
  const source = createFixedRateSource({ USDT: '1', BTC: '65000.5' });
  assert.deepEqual(await source.usdRate('USDT'), { rate: '1', source: 'fixed' });
  assert.deepEqual(await source.usdRate('btc'), { rate: '65000.5', source: 'fixed' });
  assert.equal(await source.usdRate('DOGE'), undefined);
});
