// Prices: a rate source gives the USD price of one whole unit of an asset as exact decimal text;
// converting a USD amount to base units is done with integers only and rounds up, so an invoice
// never asks for less than the USD amount it was created for.

import { parseAmount } from '../amount.ts';

export interface UsdRate {
  /** USD per one whole unit, e.g. "1" for USDT, "65000.12" for BTC. */
  rate: string;
  source: string;
}

export interface RateSource {
  usdRate(symbol: string): Promise<UsdRate | undefined>;
}

/** Rates from the config file (prices.fixed): for tests, the demo, and stablecoins (USDT 1:1). */
export function createFixedRateSource(rates: Readonly<Record<string, string>>): RateSource {
  return {
    async usdRate(symbol) {
      const rate = rates[symbol] ?? rates[symbol.toUpperCase()];
      return rate === undefined ? undefined : { rate, source: 'fixed' };
    },
  };
}

/**
 * Base units of an asset worth `usd` at `rate` USD per whole unit: ceil(usd × 10^decimals / rate).
 * Both inputs are decimal strings; the division is exact over integers.
 */
export function usdToBaseUnits(usd: string, rate: string, decimals: number): bigint {
  const scale = Math.max(fractionDigits(usd), fractionDigits(rate));
  const usdUnits = parseAmount(usd, scale);
  const rateUnits = parseAmount(rate, scale);
  const numerator = usdUnits * 10n ** BigInt(decimals);
  return (numerator + rateUnits - 1n) / rateUnits;
}

function fractionDigits(text: string): number {
  const dot = text.indexOf('.');
  return dot === -1 ? 0 : text.length - dot - 1;
}
