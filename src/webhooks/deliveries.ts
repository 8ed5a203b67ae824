// Reading delivery attempts, and redelivering an event on request.

import type PgBoss from 'pg-boss';
import type { Clock } from '../common.ts';
import type { Queryable, Sql } from '../db/client.ts';
import { transferId } from '../ledger/ids.ts';
import { sendWebhookJob } from './queue.ts';

export interface Delivery {
  id: string;
  eventId: string;
  eventType: string;
  invoiceId: string | undefined;
  attempt: number;
  url: string;
  statusCode: number | undefined;
  latencyMs: number | undefined;
  error: string | undefined;
  eventState: string;
  createdAt: Date;
}

export async function listDeliveries(db: Queryable, merchantId: string, options: { limit: number; after?: { createdAt: Date; id: string } | undefined; eventId?: string | undefined; invoiceId?: string | undefined }): Promise<Delivery[]> {
  const rows = await db.unsafe<{ id: string; event_id: string; type: string; invoice_id: string | null; attempt: number; url: string; status_code: number | null; latency_ms: number | null; error: string | null; state: string; created_at: Date }[]>(
    `select d.id, d.event_id, e.type, e.invoice_id, d.attempt, d.url, d.status_code, d.latency_ms, d.error, e.state, d.created_at
     from webhook_deliveries d join webhook_events e on e.id = d.event_id
     where d.merchant_id = $1 and ($2::uuid is null or d.event_id = $2) and ($3::uuid is null or e.invoice_id = $3)
       and ($4::timestamptz is null or (d.created_at, d.id) < ($4, $5::uuid))
     order by d.created_at desc, d.id desc limit $6`,
    [merchantId, options.eventId ?? null, options.invoiceId ?? null, options.after?.createdAt ?? null, options.after?.id ?? null, options.limit],
  );
  return rows.map((r) => ({
    id: r.id, eventId: r.event_id, eventType: r.type, invoiceId: r.invoice_id ?? undefined, attempt: r.attempt, url: r.url,
    statusCode: r.status_code ?? undefined, latencyMs: r.latency_ms ?? undefined, error: r.error ?? undefined, eventState: r.state, createdAt: r.created_at,
  }));
}

/**
 * Sends the delivery's event again now, as one manual attempt, to the CURRENT callback URL (the
 * invoice's, else the merchant's; the event's own URL only when neither is set any more): a merchant
 * that moved its endpoint redelivers to where it listens now. The event keeps that URL, so its
 * scheduled retries (if any are left) go there too. Undefined when the delivery is not the merchant's.
 */
export async function redeliver(sql: Sql, boss: PgBoss, clock: Clock, merchantId: string, deliveryId: string): Promise<{ eventId: string; url: string } | undefined> {
  return sql.begin(async (tx) => {
    const [row] = await tx<{ event_id: string; attempts: number; url: string }[]>`
      select d.event_id, e.attempts, coalesce(i.callback_url, m.callback_url, e.url) as url
      from webhook_deliveries d join webhook_events e on e.id = d.event_id join merchants m on m.id = e.merchant_id
        left join invoices i on i.id = e.invoice_id
      where d.id = ${deliveryId} and d.merchant_id = ${merchantId}
      for update of e`;
    if (row === undefined) return undefined;
    const attempt = row.attempts + 1;
    await tx`update webhook_events set attempts = ${attempt}, url = ${row.url} where id = ${row.event_id}`;
    await sendWebhookJob(boss, tx, { eventId: row.event_id, attempt, manual: true }, transferId('webhook-redeliver', row.event_id, attempt, clock.nowMs()));
    return { eventId: row.event_id, url: row.url };
  });
}
