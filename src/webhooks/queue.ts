// pg-boss (10.x) as the webhook job queue, in its own schema of Settle's database. Jobs are sent
// inside the caller's transaction (the `db` option bound to it): a state change and the job that
// announces it commit together or not at all.

import PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import type { TransactionSql } from '../db/client.ts';
import { isDatabaseUnavailable } from '../db/availability.ts';

export const WEBHOOK_QUEUE = 'settle-webhooks';

/** A delivery job whose handler failed (the database was away while it recorded the attempt) is
 * run again, after 5 s doubling: enough to outlast an outage of a few minutes. Failed HTTP
 * deliveries are not these: the handler records them and schedules the next attempt itself. */
const JOB_RETRIES_MAX = 8;
const JOB_RETRY_DELAY_S = 5;
/** pg-boss's own pool (pg): a connection attempt or a query may not wait forever on an unreachable database. */
const CONNECT_TIMEOUT_MS = 10_000;
const QUERY_TIMEOUT_MS = 60_000;

export interface WebhookJob {
  eventId: string;
  attempt: number;
  /** A redelivery asked for by the merchant: one attempt, outside the retry schedule. */
  manual?: boolean;
}

export async function startBoss(url: string, logger: Logger, options: { supervise?: boolean } = {}): Promise<PgBoss> {
  // pg-boss hands its options to pg's Pool; its types do not list pg's own timeouts.
  const settings: PgBoss.ConstructorOptions & { connectionTimeoutMillis: number; query_timeout: number; keepAlive: boolean } = {
    connectionString: url,
    schema: 'pgboss',
    max: 4,
    application_name: 'settle-webhooks',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
    keepAlive: true,
    supervise: options.supervise ?? true,
    schedule: false,
  };
  const boss = new PgBoss(settings);
  // While the database is away pg-boss's pollers fail every few hundred ms: a warning, not an error.
  boss.on('error', (error: Error) => {
    if (isDatabaseUnavailable(error)) logger.warn({ err: { message: error.message, code: (error as { code?: string }).code } }, 'pg-boss: database unavailable');
    else logger.error({ err: error }, 'pg-boss error');
  });
  await boss.start();
  await boss.createQueue(WEBHOOK_QUEUE, { name: WEBHOOK_QUEUE, retryLimit: 0, expireInSeconds: 300 });
  return boss;
}

/** pg-boss's Db interface over a postgres.js transaction. */
export function transactionDb(tx: TransactionSql): PgBoss.Db {
  return {
    async executeSql(text: string, values: unknown[]) {
      const rows = await tx.unsafe(text, values.map(toParam) as never[]);
      return { rows: [...rows] };
    },
  };
}

function toParam(value: unknown): unknown {
  // pg (which pg-boss is written for) sends undefined as NULL; postgres.js refuses undefined.
  // Objects are left as they are: postgres.js serializes them for the jsonb parameter they fill.
  return value === undefined ? null : value;
}

export async function sendWebhookJob(boss: PgBoss, tx: TransactionSql, job: WebhookJob, id: string, startAfterS = 0): Promise<void> {
  await boss.send(WEBHOOK_QUEUE, job as unknown as object, {
    id,
    startAfter: startAfterS > 0 ? startAfterS : undefined,
    retryLimit: JOB_RETRIES_MAX,
    retryDelay: JOB_RETRY_DELAY_S,
    retryBackoff: true,
    db: transactionDb(tx),
  });
}
