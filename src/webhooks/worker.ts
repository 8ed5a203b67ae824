// Webhook delivery: a pg-boss worker posts each event to its URL, signed, records every attempt
// (status, latency, error) and, on failure, schedules the next attempt on the seeds' schedule
// (1 min, 5 min, 15 min, 1 h, 6 h) — in the same transaction as the record — or marks the event
// dead when the schedule is spent. Connections go only to addresses the SSRF guard allows (post.ts);
// a delivery records the class of a failure, and the exact failure goes to the operator's log.

import type PgBoss from 'pg-boss';
import { Counter, Histogram } from 'prom-client';
import type { Common } from '../common.ts';
import type { Sql } from '../db/client.ts';
import { transferId } from '../ledger/ids.ts';
import { webhookJobId } from './outbox.ts';
import { sendWebhookJob, WEBHOOK_QUEUE, type WebhookJob } from './queue.ts';
import { signatureHeader } from './signature.ts';
import { postWebhook } from './post.ts';

export interface WebhookWorker {
  /** Delivers one attempt now (the pg-boss handler calls this; tests may too). */
  deliver(job: WebhookJob): Promise<void>;
}

export async function startWebhookWorker(common: Common, sql: Sql, boss: PgBoss): Promise<WebhookWorker> {
  const { config, logger } = common;
  const settings = config.webhooks;
  const deliveries = new Counter({ name: 'settle_webhook_deliveries_total', help: 'Webhook delivery attempts by result (delivered, failed, dead)', labelNames: ['result'], registers: [common.metrics] });
  const latency = new Histogram({ name: 'settle_webhook_delivery_duration_seconds', help: 'Webhook delivery latency', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [common.metrics] });

  async function deliver(job: WebhookJob): Promise<void> {
    const [event] = await sql<{ id: string; merchant_id: string; type: string; url: string; payload: unknown; state: string; attempts: number; secret: string }[]>`
      select e.id, e.merchant_id, e.type, e.url, e.payload, e.state, e.attempts, m.webhook_secret as secret
      from webhook_events e join merchants m on m.id = e.merchant_id where e.id = ${job.eventId}`;
    if (event === undefined) return;
    if (job.manual !== true && event.state !== 'pending') return; // delivered or dead already: a duplicate job
    const body = JSON.stringify(event.payload);
    const t = Math.floor(common.clock.nowMs() / 1000);
    const result = await postWebhook(event.url, body, {
      'content-type': 'application/json',
      'user-agent': 'Settle-Webhooks/1',
      'x-settle-event-id': event.id,
      'x-settle-event-type': event.type,
      'x-settle-signature': signatureHeader(event.secret, body, t),
    }, { timeoutMs: settings.timeoutMs, allowPrivate: settings.allowPrivateAddresses });
    const ok = result.error === undefined;
    const scheduleLeft = job.manual !== true && job.attempt <= settings.retryScheduleS.length;
    // A failed redelivery leaves the event as it was; a failed scheduled attempt keeps it pending
    // while the schedule lasts, then it is dead.
    let state = event.state;
    if (ok) state = 'delivered';
    else if (job.manual !== true) state = scheduleLeft ? 'pending' : 'dead';
    await sql.begin(async (tx) => {
      await tx`
        insert into webhook_deliveries (id, event_id, merchant_id, attempt, url, status_code, latency_ms, error, response_body)
        values (${transferId('delivery', event.id, job.attempt, job.manual === true ? common.clock.nowMs() : 'scheduled')}, ${event.id}, ${event.merchant_id}, ${job.attempt},
                ${event.url}, ${result.statusCode ?? null}, ${result.latencyMs}, ${result.error ?? null}, ${result.responseBody ?? null})
        on conflict (id) do nothing`;
      const nextDelayS = ok || !scheduleLeft ? undefined : (settings.retryScheduleS[job.attempt - 1] as number);
      await tx`
        update webhook_events set attempts = greatest(attempts, ${job.attempt}), state = ${state},
          delivered_at = case when ${ok} then now() else delivered_at end,
          next_attempt_at = ${nextDelayS === undefined ? null : new Date(common.clock.nowMs() + nextDelayS * 1000)}
        where id = ${event.id}`;
      if (nextDelayS !== undefined) {
        await sendWebhookJob(boss, tx, { eventId: event.id, attempt: job.attempt + 1 }, webhookJobId(event.id, job.attempt + 1), nextDelayS);
      }
    });
    const outcome = ok ? 'delivered' : state === 'dead' ? 'dead' : 'failed';
    deliveries.inc({ result: outcome });
    latency.observe(result.latencyMs / 1000);
    const log = { event: event.id, type: event.type, attempt: job.attempt, status: result.statusCode, error: result.error, detail: result.detail };
    if (ok) logger.debug(log, 'webhook delivered');
    else logger.warn(log, outcome === 'dead' ? 'webhook dead: retry schedule spent' : 'webhook delivery failed; will retry');
  }

  await boss.work<WebhookJob>(WEBHOOK_QUEUE, { batchSize: settings.concurrency, pollingIntervalSeconds: Math.max(0.5, settings.pollIntervalMs / 1000) }, async (jobs) => {
    await Promise.all(jobs.map((job) => deliver(job.data).catch((error: unknown) => {
      logger.error({ err: error, event: job.data.eventId }, 'webhook delivery crashed');
      throw error;
    })));
  });
  return { deliver };
}
