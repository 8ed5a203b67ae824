// Composition root: config → common → database (configured or embedded) → migrations → roles.
// Everything Settle runs is started here, in order, and registered for shutdown in reverse.

import type { Common } from './common.ts';
import { createHealth, type Health } from './health.ts';
import { createSql, redactUrl, type Sql } from './db/client.ts';
import { migrate } from './db/migrate.ts';
import { startEmbeddedPostgres } from './db/embedded.ts';
import { createHttpServer } from './api/server.ts';
import { v1Routes } from './api/v1.ts';
import { checkoutPlugin } from './api/checkout.ts';
import { createLedgerWriter } from './ledger/transfers.ts';
import { createAccountCache } from './ledger/chart.ts';
import { startChains, type ChainsRuntime } from './scan/runtime.ts';
import { createAssetRegistry, type AssetRegistry } from './invoices/assets.ts';
import { createInvoiceReactions } from './invoices/reactions.ts';
import { createInvoiceService, type InvoiceService } from './invoices/service.ts';
import { startExpiryLoop } from './invoices/expiry.ts';
import { invoiceCounter } from './invoices/metrics.ts';
import { rateSourceFromConfig } from './prices/market.ts';
import type { ViewContext } from './invoices/view.ts';
import { startBoss } from './webhooks/queue.ts';
import { startWebhookWorker } from './webhooks/worker.ts';

/** pg_ctl's own stop timeout (60 s) and a margin: a fast shutdown of Postgres is not abandoned early. */
const EMBEDDED_STOP_TIMEOUT_MS = 65_000;

export interface Database {
  sql: Sql;
  url: string;
  embedded: boolean;
}

/** Connects to DATABASE_URL, or starts the embedded Postgres, and registers both for shutdown. */
export async function openDatabase(common: Common, options: { applicationName?: string; oneOff?: boolean } = {}): Promise<Database> {
  const { config, logger, shutdown } = common;
  let url = config.database.url;
  let embedded = false;
  if (url === undefined) {
    logger.info('no database.url / DATABASE_URL configured: using the embedded Postgres');
    const pg = await startEmbeddedPostgres({
      dataDir: config.database.embedded.dataDir,
      port: config.database.embedded.port,
      logger,
      oneOff: options.oneOff,
      rootSharedDir: config.database.embedded.rootSharedDir,
    });
    shutdown.onShutdown('embedded-postgres', () => pg.stop(), EMBEDDED_STOP_TIMEOUT_MS);
    url = pg.url;
    embedded = true;
  }
  const sql = createSql(url, { max: config.database.poolMax, applicationName: options.applicationName ?? 'settle' });
  shutdown.onShutdown('database-pool', () => sql.end({ timeout: 10 }));
  try {
    await sql`select 1`;
  } catch (error) {
    throw new Error(`cannot connect to the database at ${redactUrl(url)}: ${(error as Error).message}`, { cause: error });
  }
  logger.info({ database: redactUrl(url) }, 'connected to Postgres');
  return { sql, url, embedded };
}

export interface Engine {
  database: Database;
  health: Health;
  chains: ChainsRuntime;
  assets: AssetRegistry;
  invoices: InvoiceService;
  /** http://host:port the server listens on. */
  httpUrl: string;
}

/** `settle start`: database, migrations, webhooks, chain scanners (with settlement and invoice
 * reactions), invoice expiry, and the HTTP server (API, checkout, /health, /metrics). */
export async function startEngine(common: Common): Promise<Engine> {
  const { config, logger, shutdown } = common;
  const health = createHealth(common.clock.nowMs);
  const database = await openDatabase(common);
  const { sql } = database;
  const { applied, current } = await migrate(sql, logger);
  logger.info({ applied: applied.length, version: current }, applied.length > 0 ? 'database migrated' : 'database schema is current');
  health.set('database', 'ok');

  const boss = await startBoss(database.url, logger);
  shutdown.onShutdown('webhook-queue', () => boss.stop({ graceful: true, wait: true, timeout: 10_000 }));

  // The checkout base URL is known once the server listens; views read it then.
  let checkoutBaseUrl = config.invoices.checkoutBaseUrl ?? `http://${config.http.host}:${config.http.port}`;
  let assets: AssetRegistry = createAssetRegistry([]);
  const view = (): ViewContext => ({ assets, checkoutBaseUrl });
  const reactions = createInvoiceReactions({
    clock: common.clock,
    statusCounter: invoiceCounter(common.metrics),
    boss,
    view,
    merchantCallback: async (tx, merchantId) => {
      const [row] = await tx<{ callback_url: string | null }[]>`select callback_url from merchants where id = ${merchantId}`;
      return row?.callback_url ?? undefined;
    },
  });

  const writer = createLedgerWriter(sql);
  const accounts = createAccountCache(sql);
  const chains = await startChains({ common, sql, databaseUrl: database.url, health, writer, accounts, hooks: reactions });
  if (chains.chains.size === 0) logger.info('no chains configured: add them under "chains" in the config file');
  assets = createAssetRegistry(chains.chains.values());

  const invoices = createInvoiceService({ common, sql, assets, addressPool: chains.addressPool, rates: rateSourceFromConfig(config.prices, common.clock, logger), reactions });
  startExpiryLoop(common, invoices);
  await startWebhookWorker(common, sql, boss);

  const app = createHttpServer({
    common,
    health,
    sql,
    routes: v1Routes({ common, sql, invoices, assets, view, boss }),
    plugins: [checkoutPlugin({ common, invoices, view })],
  });
  const address = await app.listen({ host: config.http.host, port: config.http.port });
  if (config.invoices.checkoutBaseUrl === undefined) checkoutBaseUrl = address;
  shutdown.onShutdown('http', () => app.close());
  logger.info({ url: address }, 'HTTP server listening (API under /v1, checkout under /pay, GET /health, GET /metrics)');
  return { database, health, chains, assets, invoices, httpUrl: address };
}
