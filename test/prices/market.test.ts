// Live USD rates against a loopback server that answers in each exchange's documented JSON:
// Kraken's Ticker, Coinbase's v2 spot price and Bitstamp's v2 ticker. Time is a hand-moved clock,
// so freshness and refreshes are tested without waiting.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import type { Clock } from '../../src/common.ts';
import { RetryableError } from '../../src/errors.ts';
import { createMarketRateSource, firstRateSource, medianRate, rateSourceFromConfig } from '../../src/prices/market.ts';
import { marketProviders, type MarketProviderName } from '../../src/prices/providers.ts';
import { createFixedRateSource, usdToBaseUnits } from '../../src/prices/rates.ts';
import { loadConfig } from '../../src/config.ts';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

type Behaviour = { price: string } | { status: number; body: string } | { hang: true };

/** One loopback "exchange" per provider, each serving only its own documented path and shape. */
async function startExchanges() {
  const behaviour = new Map<MarketProviderName, Map<string, Behaviour>>();
  const requests: string[] = [];
  const hanging: ServerResponse[] = [];
  const answer = (name: MarketProviderName, symbol: string, response: ServerResponse, render: (price: string) => unknown) => {
    const wanted = behaviour.get(name)?.get(symbol);
    if (wanted === undefined) return json(response, name === 'kraken' ? 200 : 404, name === 'kraken' ? { error: ['EQuery:Unknown asset pair'] } : { errors: [{ id: 'not_found' }] });
    if ('hang' in wanted) return void hanging.push(response);
    if ('status' in wanted) return void response.writeHead(wanted.status, { 'content-type': 'application/json' }).end(wanted.body);
    return json(response, 200, render(wanted.price));
  };
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://x');
    requests.push(url.pathname + url.search);
    let match: RegExpExecArray | null;
    if (url.pathname === '/0/public/Ticker') {
      const pair = url.searchParams.get('pair') ?? '';
      const symbol = pair.replace(/USD$/, '').replace(/^XBT$/, 'BTC');
      // Kraken keys its result by its own pair name, e.g. XXBTZUSD.
      return answer('kraken', symbol, response, (price) => ({
        error: [],
        result: { [`X${pair.slice(0, -3)}ZUSD`]: { a: [price, '1', '1.000'], b: [price, '2', '2.000'], c: [price, '0.00150000'], v: ['1', '2'], p: [price, price], t: [1, 2], l: [price, price], h: [price, price], o: price } },
      }));
    }
    if ((match = /^\/v2\/prices\/([A-Z]+)-USD\/spot$/.exec(url.pathname)) !== null) {
      const symbol = match[1] as string;
      return answer('coinbase', symbol, response, (price) => ({ data: { amount: price, base: symbol, currency: 'USD' } }));
    }
    if ((match = /^\/api\/v2\/ticker\/([a-z]+)usd\/$/.exec(url.pathname)) !== null) {
      return answer('bitstamp', (match[1] as string).toUpperCase(), response, (price) => ({ timestamp: '1700000000', open: price, high: price, low: price, last: price, volume: '10', vwap: price, bid: price, ask: price, side: '0', open_24: price, percent_change_24: '0.1' }));
    }
    json(response, 404, { error: 'no such path' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl,
    requests,
    set(name: MarketProviderName, symbol: string, wanted: Behaviour | undefined) {
      if (!behaviour.has(name)) behaviour.set(name, new Map());
      if (wanted === undefined) behaviour.get(name)?.delete(symbol);
      else behaviour.get(name)?.set(symbol, wanted);
    },
    async close() {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function manualClock(startMs = 1_700_000_000_000): Clock & { advance(ms: number): void } {
  let now = startMs;
  return {
    nowMs: () => now,
    now: () => new Date(now),
    sleep: async () => {},
    advance(ms) {
      now += ms;
    },
  };
}

function sourceFor(baseUrl: string, clock: Clock, names: MarketProviderName[] = ['kraken', 'coinbase', 'bitstamp'], timeoutMs = 2_000) {
  return createMarketRateSource({
    providers: names.map((name) => ({ provider: marketProviders[name], baseUrl })),
    clock,
    logger,
    maxAgeMs: 60_000,
    refreshMs: 10_000,
    timeoutMs,
  });
}

test('medianRate() is exact: the middle rate, or the mean of the two middle ones', () => {
  assert.equal(medianRate(['65000.1']), '65000.1');
  assert.equal(medianRate(['3', '1', '2']), '2');
  assert.equal(medianRate(['65000.10000', '64999.9']), '65000');
  assert.equal(medianRate(['0.1', '0.2']), '0.15');
  assert.equal(medianRate(['0.000000000000000001', '0.000000000000000002']), '0.0000000000000000015');
  assert.equal(medianRate(['10', '1', '1000', '100']), '55');
});

test('the rate is the median of the three exchanges, in their own JSON shapes, with its sources named', async (t) => {
  const exchanges = await startExchanges();
  t.after(() => exchanges.close());
  exchanges.set('kraken', 'BTC', { price: '65000.10000' });
  exchanges.set('coinbase', 'BTC', { price: '65010.55' });
  exchanges.set('bitstamp', 'BTC', { price: '64990' });
  const rates = sourceFor(exchanges.baseUrl, manualClock());
  assert.deepEqual(await rates.usdRate('btc'), { rate: '65000.1', source: 'median:bitstamp+coinbase+kraken' });
  assert.ok(exchanges.requests.includes('/0/public/Ticker?pair=XBTUSD'), 'Kraken calls bitcoin XBT');
  assert.ok(exchanges.requests.includes('/v2/prices/BTC-USD/spot'));
  assert.ok(exchanges.requests.includes('/api/v2/ticker/btcusd/'));
  // 100 USD at that rate, rounded up to the satoshi.
  assert.equal(usdToBaseUnits('100', '65000.1', 8), 153_846n);
});

test('an exchange that fails, hangs, lies about its shape or answers a non-number is left out of the median', async (t) => {
  const exchanges = await startExchanges();
  t.after(() => exchanges.close());
  exchanges.set('kraken', 'ETH', { hang: true });
  exchanges.set('coinbase', 'ETH', { price: '3000.5' });
  exchanges.set('bitstamp', 'ETH', { status: 200, body: '{"last": 3000}' });
  const rates = sourceFor(exchanges.baseUrl, manualClock(), undefined, 1_500);
  assert.deepEqual(await rates.usdRate('ETH'), { rate: '3000.5', source: 'median:coinbase' });

  for (const bad of ['{"last":"-1"}', '{"last":"1e5"}', '{"last":"0"}', '{"last":"NaN"}', 'not json', '{"data":{}}']) {
    const only = await startExchanges();
    only.set('bitstamp', 'LTC', { status: 200, body: bad });
    await assert.rejects(sourceFor(only.baseUrl, manualClock(), ['bitstamp']).usdRate('LTC'), (error: unknown) => error instanceof RetryableError && error.code === 'rate_unavailable', bad);
    await only.close();
  }
});

test('with no fresh answer the source says rate_unavailable; answers are reused until refreshMs and dropped after maxAgeMs', async (t) => {
  const exchanges = await startExchanges();
  t.after(() => exchanges.close());
  const clock = manualClock();
  const rates = sourceFor(exchanges.baseUrl, clock, ['kraken', 'coinbase']);
  await assert.rejects(rates.usdRate('TRX'), (error: unknown) => error instanceof RetryableError && error.code === 'rate_unavailable' && /kraken, coinbase/.test(error.message));

  clock.advance(10_000);
  exchanges.set('kraken', 'TRX', { price: '0.25' });
  exchanges.set('coinbase', 'TRX', { price: '0.27' });
  assert.equal((await rates.usdRate('TRX'))?.rate, '0.26');
  const asked = exchanges.requests.length;
  exchanges.set('coinbase', 'TRX', { price: '0.29' });
  clock.advance(5_000);
  assert.equal((await rates.usdRate('TRX'))?.rate, '0.26', 'within refreshMs the answers at hand are used');
  assert.equal(exchanges.requests.length, asked, 'and nobody is asked again');

  // Both exchanges go away: the last answers serve until they are maxAgeMs old, then 503.
  exchanges.set('kraken', 'TRX', { status: 502, body: '{}' });
  exchanges.set('coinbase', 'TRX', { status: 429, body: '{}' });
  clock.advance(10_000);
  const stale = await rates.usdRate('TRX');
  assert.equal(stale?.rate, '0.26', 'answers younger than maxAgeMs still count while the exchanges fail');
  clock.advance(50_001);
  await assert.rejects(rates.usdRate('TRX'), (error: unknown) => error instanceof RetryableError && error.code === 'rate_unavailable');

  exchanges.set('coinbase', 'TRX', { price: '0.3' });
  clock.advance(10_000);
  assert.deepEqual(await rates.usdRate('TRX'), { rate: '0.3', source: 'median:coinbase' }, 'recovers by itself when an exchange answers again');
});

test('concurrent callers share one request per exchange', async (t) => {
  const exchanges = await startExchanges();
  t.after(() => exchanges.close());
  exchanges.set('coinbase', 'POL', { price: '0.5' });
  const rates = sourceFor(exchanges.baseUrl, manualClock(), ['coinbase']);
  const answers = await Promise.all(Array.from({ length: 20 }, () => rates.usdRate('POL')));
  assert.ok(answers.every((answer) => answer?.rate === '0.5'));
  assert.equal(exchanges.requests.length, 1);
});

test('the configured source answers fixed rates first (USDT 1:1) and asks the market for the rest', async (t) => {
  const exchanges = await startExchanges();
  t.after(() => exchanges.close());
  exchanges.set('kraken', 'LTC', { price: '80.12' });
  exchanges.set('kraken', 'USDT', { price: '0.99' });
  const config = loadConfig({ env: {}, overrides: { prices: { market: { providers: [{ name: 'kraken', baseUrl: exchanges.baseUrl }] } } } });
  const rates = rateSourceFromConfig(config.prices, manualClock(), logger);
  assert.deepEqual(await rates.usdRate('USDT'), { rate: '1', source: 'fixed' });
  assert.deepEqual(await rates.usdRate('LTC'), { rate: '80.12', source: 'median:kraken' });
  assert.ok(!exchanges.requests.some((path) => path.includes('USDT')), 'a fixed rate is never asked of the market');

  const off = loadConfig({ env: {}, overrides: { prices: { market: { providers: [] } } } });
  assert.equal(await rateSourceFromConfig(off.prices, manualClock(), logger).usdRate('LTC'), undefined, 'no providers: no live rates');
  assert.equal(await firstRateSource([createFixedRateSource({})]).usdRate('BTC'), undefined);
});
