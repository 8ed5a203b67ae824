// Public exchange tickers that give a USD price for a coin: one small table entry per exchange
// (the path of its public ticker and the zod shape of its answer) and one fetch with a timeout
// and a bounded body. A provider answers exact decimal text or throws; it never guesses.
// Which providers run, and against which base URL, is configuration (tests point them at a
// loopback server that answers in each exchange's documented JSON).

import { z } from 'zod';
import { NonRetryableError, RetryableError } from '../errors.ts';

/** No ticker answer is anywhere near this; a larger body is not a ticker. */
const BODY_BYTES_MAX = 64 * 1024;
/** Rates are decimal text with at most this many fractional digits. */
export const RATE_DECIMALS_MAX = 18;
const RATE_TEXT = /^\d{1,30}(\.\d{1,18})?$/;

export interface MarketProvider {
  name: MarketProviderName;
  /** The exchange's public API, used unless the config names another base URL. */
  defaultBaseUrl: string;
  /** Path and query of the USD ticker for `symbol` (upper case, e.g. "BTC"). */
  tickerPath(symbol: string): string;
  /** The USD price of one whole `symbol` in the parsed JSON answer, as decimal text. */
  readRate(body: unknown, symbol: string): string;
}

export type MarketProviderName = 'kraken' | 'coinbase' | 'bitstamp';

// Kraken: GET /0/public/Ticker?pair=XBTUSD → {"error":[],"result":{"XXBTZUSD":{"c":["<last price>","<lot volume>"],…}}}.
// Kraken names bitcoin XBT; its result key is its own pair name, so exactly one entry is required.
const krakenAnswer = z.object({
  error: z.array(z.string()),
  result: z.record(z.string(), z.object({ c: z.tuple([z.string(), z.string()]).rest(z.string()) })).optional(),
});

// Coinbase: GET /v2/prices/BTC-USD/spot → {"data":{"amount":"<price>","base":"BTC","currency":"USD"}}.
const coinbaseAnswer = z.object({ data: z.object({ amount: z.string(), base: z.string(), currency: z.string() }) });

// Bitstamp: GET /api/v2/ticker/btcusd/ → {"last":"<price>","bid":…,"ask":…,"timestamp":…}.
const bitstampAnswer = z.object({ last: z.string() });

export const marketProviders: Record<MarketProviderName, MarketProvider> = {
  kraken: {
    name: 'kraken',
    defaultBaseUrl: 'https://api.kraken.com',
    tickerPath: (symbol) => `/0/public/Ticker?pair=${symbol === 'BTC' ? 'XBT' : symbol}USD`,
    readRate(body, symbol) {
      const answer = parseAnswer(krakenAnswer, body, 'kraken');
      if (answer.error.length > 0) throw new NonRetryableError('rate_source_refused', `kraken has no USD ticker for ${symbol}: ${answer.error.join('; ')}`);
      const tickers = Object.values(answer.result ?? {});
      if (tickers.length !== 1) throw new NonRetryableError('rate_source_malformed', `kraken answered ${tickers.length} tickers for ${symbol}, expected 1`);
      return (tickers[0] as { c: string[] }).c[0] as string;
    },
  },
  coinbase: {
    name: 'coinbase',
    defaultBaseUrl: 'https://api.coinbase.com',
    tickerPath: (symbol) => `/v2/prices/${symbol}-USD/spot`,
    readRate(body, symbol) {
      const { data } = parseAnswer(coinbaseAnswer, body, 'coinbase');
      if (data.base.toUpperCase() !== symbol || data.currency.toUpperCase() !== 'USD') {
        throw new NonRetryableError('rate_source_malformed', `coinbase answered ${data.base}-${data.currency} when asked for ${symbol}-USD`);
      }
      return data.amount;
    },
  },
  bitstamp: {
    name: 'bitstamp',
    defaultBaseUrl: 'https://www.bitstamp.net',
    tickerPath: (symbol) => `/api/v2/ticker/${symbol.toLowerCase()}usd/`,
    readRate: (body) => parseAnswer(bitstampAnswer, body, 'bitstamp').last,
  },
};

function parseAnswer<T>(schema: z.ZodType<T>, body: unknown, provider: string): T {
  const result = schema.safeParse(body);
  if (!result.success) throw new NonRetryableError('rate_source_malformed', `${provider} answered an unexpected shape: ${result.error.issues[0]?.message ?? 'invalid'}`);
  return result.data;
}

/** A rate a provider gave is plain positive decimal text; anything else is refused at the boundary. */
export function checkRateText(rate: string, provider: string): string {
  if (!RATE_TEXT.test(rate) || /^0+(\.0+)?$/.test(rate)) {
    throw new NonRetryableError('rate_source_malformed', `${provider} answered a rate that is not a positive decimal: ${JSON.stringify(rate.slice(0, 40))}`);
  }
  return rate;
}

/** Asks one provider for the USD price of `symbol`; throws a RetryableError on timeouts and 5xx/429. */
export async function fetchUsdRate(provider: MarketProvider, baseUrl: string, symbol: string, timeoutMs: number): Promise<string> {
  const url = new URL(provider.tickerPath(symbol), baseUrl);
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
  } catch (error) {
    throw new RetryableError('rate_source_unreachable', `${provider.name} did not answer within ${timeoutMs} ms: ${(error as Error).name}`, {}, { cause: error });
  }
  const text = await readBounded(response, provider.name);
  if (response.status === 429 || response.status >= 500) {
    throw new RetryableError('rate_source_unavailable', `${provider.name} answered HTTP ${response.status}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new NonRetryableError('rate_source_malformed', `${provider.name} answered HTTP ${response.status} with a body that is not JSON`);
  }
  if (response.status !== 200 && provider.name !== 'kraken') {
    throw new NonRetryableError('rate_source_refused', `${provider.name} answered HTTP ${response.status} for ${symbol}`);
  }
  return checkRateText(provider.readRate(body, symbol), provider.name);
}

async function readBounded(response: Response, provider: string): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > BODY_BYTES_MAX) {
    await response.body?.cancel();
    throw new NonRetryableError('rate_source_malformed', `${provider} answered ${declared} bytes; a ticker is under ${BODY_BYTES_MAX}`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for await (const chunk of response.body ?? []) {
      total += chunk.byteLength;
      if (total > BODY_BYTES_MAX) {
        await response.body?.cancel();
        throw new NonRetryableError('rate_source_malformed', `${provider} answered more than ${BODY_BYTES_MAX} bytes; a ticker is smaller`);
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof NonRetryableError) throw error;
    throw new RetryableError('rate_source_unreachable', `${provider}'s answer was cut off: ${(error as Error).name}`, {}, { cause: error });
  }
  return Buffer.concat(chunks).toString('utf8');
}
