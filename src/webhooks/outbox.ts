// The webhook outbox: an event row and its first delivery job, written in the transaction of the
// state change they announce. The event id is derived from what happened (invoice, type, cause),
// so a block applied again, or a request retried, cannot announce the same thing twice.

import type PgBoss from 'pg-boss';
import type { TransactionSql } from '../db/client.ts';
import { transferId } from '../ledger/ids.ts';
import { sendWebhookJob } from './queue.ts';

export interface WebhookEventInput {
  id: string;
  merchantId: string;
  invoiceId: string | undefined;
  type: string;
  url: string;
  payload: Record<string, unknown>;
}

export function webhookEventId(...cause: Array<string | number | bigint>): string {
  return transferId('webhook', ...cause);
}

export function webhookJobId(eventId: string, attempt: number, manual = false): string {
  return transferId('webhook-job', eventId, attempt, manual ? 'manual' : 'scheduled');
}

/** Returns false when this event was already recorded (a replay): nothing is sent twice. */
export async function enqueueWebhook(tx: TransactionSql, boss: PgBoss, event: WebhookEventInput): Promise<boolean> {
  const rows = await tx`
    insert into webhook_events (id, merchant_id, invoice_id, type, url, payload)
    values (${event.id}, ${event.merchantId}, ${event.invoiceId ?? null}, ${event.type}, ${event.url}, ${tx.json(event.payload as never)})
    on conflict (id) do nothing
    returning id`;
  if (rows.length === 0) return false;
  await sendWebhookJob(boss, tx, { eventId: event.id, attempt: 1 }, webhookJobId(event.id, 1));
  return true;
}
