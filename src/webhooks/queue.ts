// pg-boss (10.x) as the webhook job queue, in its own schema of Settle's database. Jobs are sent
// inside the caller's transaction (the `db` option bound to it): a state change and the job that
// announces it commit together or not at all.

import PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import type { TransactionSql } from '../db/client.ts';

export const WEBHOOK_QUEUE = 'settle-webhooks';

export interface WebhookJob {
  eventId: string;
  attempt: number;
  /** A redelivery asked for by the merchant: one attempt, outside the retry schedule. */
  manual?: boolean;
}

export async function startBoss(url: string, logger: Logger, options: { supervise?: boolean } = {}): Promise<PgBoss> {
  const boss = new PgBoss({
    connectionString: url,
    schema: 'pgboss',
    max: 4,
    application_name: 'settle-webhooks',
    supervise: options.supervise ?? true,
    schedule: false,
  });
  boss.on('error', (error: Error) => logger.error({ err: error }, 'pg-boss error'));
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
    retryLimit: 0,
    db: transactionDb(tx),
  });
}
