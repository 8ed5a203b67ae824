// Live USD rates from public exchange tickers: every configured provider is asked at most once per
// `refreshMs` per symbol (one request in flight per symbol, whoever asks), each answer is kept
// with the time it arrived, and a rate is the median of the answers younger than `maxAgeMs`.
// When no answer is fresh the source throws `rate_unavailable` (a RetryableError: the API says
// 503 with Retry-After) — an invoice is never priced from a stale or guessed rate.

import type { Logger } from 'pino';
import type { Clock } from '../common.ts';
import { assert, RetryableError } from '../errors.ts';
import { formatAmount, parseAmount } from '../amount.ts';
import type { Config } from '../config.ts';
import { fetchUsdRate, marketProviders, RATE_DECIMALS_MAX, type MarketProvider } from './providers.ts';
import { createFixedRateSource, type RateSource, type UsdRate } from './rates.ts';

export interface MarketRateOptions {
  providers: Array<{ provider: MarketProvider; baseUrl: string }>;
  clock: Clock;
  logger: Logger;
  /** An answer older than this is not used. */
  maxAgeMs: number;
  /** Providers are asked again for a symbol once its answers are this old. */
  refreshMs: number;
  /** Each provider request is abandoned after this long. */
  timeoutMs: number;
}

interface Quote {
  rate: string;
  atMs: number;
}

interface SymbolState {
  quotes: Map<string, Quote>;
  askedAtMs: number;
  inFlight: Promise<void> | undefined;
}

/** Symbols a source keeps state for; a bound so a stream of odd symbols cannot grow memory. */
const SYMBOLS_MAX = 256;

export function createMarketRateSource(options: MarketRateOptions): RateSource {
  assert(options.providers.length > 0, 'a market rate source has at least one provider');
  assert(options.refreshMs > 0 && options.maxAgeMs >= options.refreshMs, '0 < refreshMs <= maxAgeMs');
  const states = new Map<string, SymbolState>();

  async function askAll(symbol: string, state: SymbolState): Promise<void> {
    const answers = await Promise.allSettled(options.providers.map(({ provider, baseUrl }) => fetchUsdRate(provider, baseUrl, symbol, options.timeoutMs)));
    const atMs = options.clock.nowMs();
    answers.forEach((answer, index) => {
      const name = (options.providers[index] as { provider: MarketProvider }).provider.name;
      if (answer.status === 'fulfilled') state.quotes.set(name, { rate: answer.value, atMs });
      else options.logger.warn({ provider: name, symbol, err: answer.reason }, 'a USD rate provider did not answer; the others are used');
    });
  }

  function stateOf(symbol: string): SymbolState {
    let state = states.get(symbol);
    if (state === undefined) {
      if (states.size >= SYMBOLS_MAX) states.delete(states.keys().next().value as string);
      state = { quotes: new Map(), askedAtMs: Number.NEGATIVE_INFINITY, inFlight: undefined };
      states.set(symbol, state);
    }
    return state;
  }

  return {
    async usdRate(requested: string): Promise<UsdRate> {
      const symbol = requested.toUpperCase();
      const state = stateOf(symbol);
      if (state.inFlight === undefined && options.clock.nowMs() - state.askedAtMs >= options.refreshMs) {
        state.askedAtMs = options.clock.nowMs();
        state.inFlight = askAll(symbol, state).finally(() => {
          state.inFlight = undefined;
        });
      }
      // Wait for a request in flight only when nothing fresh is at hand.
      if (state.inFlight !== undefined && freshQuotes(state, options).length === 0) await state.inFlight;
      const fresh = freshQuotes(state, options);
      if (fresh.length === 0) {
        throw new RetryableError('rate_unavailable', `no fresh USD rate for ${symbol}: none of ${options.providers.map((p) => p.provider.name).join(', ')} answered in the last ${options.maxAgeMs / 1000} s`);
      }
      const names = fresh.map(([name]) => name).sort();
      return { rate: medianRate(fresh.map(([, quote]) => quote.rate)), source: `median:${names.join('+')}` };
    },
  };
}

function freshQuotes(state: SymbolState, options: MarketRateOptions): Array<[string, Quote]> {
  const now = options.clock.nowMs();
  return [...state.quotes].filter(([, quote]) => now - quote.atMs <= options.maxAgeMs);
}

/** The median of decimal rates, exactly: the middle one, or the mean of the two middle ones. */
export function medianRate(rates: readonly string[]): string {
  assert(rates.length > 0, 'a median needs at least one rate');
  // One more digit than any input holds the half of an odd sum exactly.
  const scale = RATE_DECIMALS_MAX + 1;
  const values = rates.map((rate) => parseAmount(rate, scale)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const middle = Math.floor(values.length / 2);
  const median = values.length % 2 === 1 ? (values[middle] as bigint) : ((values[middle - 1] as bigint) + (values[middle] as bigint)) / 2n;
  return formatAmount(median, scale);
}

/** Rates from the first source that has one: the configured fixed rates (USDT 1:1), then the market. */
export function firstRateSource(sources: readonly RateSource[]): RateSource {
  return {
    async usdRate(symbol) {
      for (const source of sources) {
        const rate = await source.usdRate(symbol);
        if (rate !== undefined) return rate;
      }
      return undefined;
    },
  };
}

/** The rate source the config describes: fixed rates first, then the live market when providers are named. */
export function rateSourceFromConfig(prices: Config['prices'], clock: Clock, logger: Logger): RateSource {
  const fixed = createFixedRateSource(prices.fixed);
  if (prices.market.providers.length === 0) return fixed;
  const market = createMarketRateSource({
    providers: prices.market.providers.map(({ name, baseUrl }) => ({ provider: marketProviders[name], baseUrl: baseUrl ?? marketProviders[name].defaultBaseUrl })),
    clock,
    logger,
    maxAgeMs: prices.market.maxAgeMs,
    refreshMs: prices.market.refreshMs,
    timeoutMs: prices.market.timeoutMs,
  });
  return firstRateSource([fixed, market]);
}
