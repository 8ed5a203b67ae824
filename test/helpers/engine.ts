// The whole engine (startEngine) on a test database, with the chains a test gives it: what a
// user runs, configured for tests (free HTTP port, loopback callbacks allowed, a compressed
// webhook retry schedule, fast expiry checks).

import { pino } from 'pino';
import { loadConfig, type ConfigInput } from '../../src/config.ts';
import { createCommon, type Common } from '../../src/common.ts';
import { startEngine, type Engine } from '../../src/main.ts';
import { createApiKey, createMerchant } from '../../src/merchants/merchants.ts';
import { testDatabase, type TestDatabase } from './db.ts';
import { CONDITION_TIMEOUT_MS, waitFor } from './wait.ts';

export interface TestEngine {
  engine: Engine;
  common: Common;
  db: TestDatabase;
  url: string;
  stop(): Promise<void>;
  merchant(name?: string, callbackUrl?: string): Promise<TestMerchant>;
}

export interface TestMerchant {
  id: string;
  webhookSecret: string;
  keyId: string;
  secret: string;
  /** Authorization header for the native bearer form. */
  auth: Record<string, string>;
}

/** Starts the engine on a new test database, or on `existing` (a restart on the same data). */
export async function startTestEngine(file: string, overrides: ConfigInput = {}, existing?: TestDatabase): Promise<TestEngine> {
  const db = existing ?? (await testDatabase(file));
  const base: ConfigInput = {
    database: { url: db.url, poolMax: 10 },
    http: { port: 0 },
    log: { level: 'silent' },
    webhooks: { allowPrivateAddresses: true, retryScheduleS: [1, 1, 2], timeoutMs: 30_000, pollIntervalMs: 200 },
    invoices: { expiryCheckIntervalMs: 200 },
    // Tests never reach the internet: no live exchange tickers (test/prices runs them against loopback).
    prices: { market: { providers: [] } },
    scan: { workerThreads: 1, workerQueueMax: 8 },
  };
  const config = loadConfig({ env: {}, overrides: deepMerge(base, overrides) });
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const common = createCommon(config, { logger, defaultMetrics: true });
  const engine = await startEngine(common);
  let stopped = false;
  db.onClose(async () => {
    if (!stopped) {
      stopped = true;
      await common.shutdown.run('test done');
    }
  });
  return {
    engine,
    common,
    db,
    url: engine.httpUrl,
    async stop() {
      if (stopped) return;
      stopped = true;
      await common.shutdown.run('test done');
    },
    async merchant(name = 'Test merchant', callbackUrl) {
      const merchant = await createMerchant(db.sql, common.random, { name, callbackUrl });
      const key = await createApiKey(db.sql, common.random, merchant.id);
      return { id: merchant.id, webhookSecret: merchant.webhookSecret, keyId: key.keyId, secret: key.secret, auth: { authorization: `Bearer ${key.secret}` } };
    },
  };
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] = v !== null && typeof v === 'object' && !Array.isArray(v) && cur !== null && typeof cur === 'object' && !Array.isArray(cur)
      ? deepMerge(cur as Record<string, unknown>, v as Record<string, unknown>)
      : v;
  }
  return out;
}

/** Polls `check` until it returns a value (not undefined); see waitFor() in wait.ts, which this
 * calls. The deadline bounds only a failing wait: keep it generous (the default, 60 s). */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = CONDITION_TIMEOUT_MS, what = 'condition'): Promise<T> {
  return waitFor(check, { timeoutMs, what });
}
