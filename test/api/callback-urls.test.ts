// The SSRF guard as an attacker meets it: callback URLs that reach the host or its network are
// refused at creation, and a callback stored around the API (by an older CLI, by hand) is not
// called at delivery; the deliveries API then says `blocked_address`, nothing about the socket.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type PgBoss from 'pg-boss';
import { startTestEngine, eventually, type TestEngine } from '../helpers/engine.ts';
import { silentLogger } from '../helpers/db.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';
import { enqueueWebhook } from '../../src/webhooks/outbox.ts';
import { startBoss } from '../../src/webhooks/queue.ts';

let settle: TestEngine;
let receiver: WebhookReceiver;
let boss: PgBoss | undefined;

after(async () => {
  await boss?.stop({ graceful: false, wait: true });
  await settle?.stop();
  await receiver?.close();
});

// The production default: private addresses are not allowed.
settle = await startTestEngine(import.meta.filename, { webhooks: { allowPrivateAddresses: false } });
receiver = await startWebhookReceiver();
const port = new URL(receiver.url).port;

async function createInvoice(auth: Record<string, string>, callbackUrl: string) {
  const response = await fetch(`${settle.url}/v1/invoices`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ asset: 'USDT-ERC20', amount: '1', callback_url: callbackUrl }),
  });
  const json = (await response.json()) as { error: { code: string; details: { fields: Array<{ field: string; message: string }> } } };
  return { status: response.status, json, fields: json.error?.details?.fields?.map((f) => f.field) ?? [] };
}

test('invoice creation refuses callback URLs on loopback, private and special addresses in every spelling, naming body.callback_url', async () => {
  const merchant = await settle.merchant('Attacker');
  for (const url of [
    `http://[::ffff:127.0.0.1]:${port}/x`, `http://[0:0:0:0:0:ffff:7f00:1]:${port}/x`, 'http://[::ffff:169.254.169.254]/latest/meta-data',
    'http://[::ffff:10.0.0.1]/', 'http://[64:ff9b::7f00:1]/', 'http://[2002:7f00:1::]/', 'http://192.0.0.1/', 'http://198.18.0.1/',
    `http://localhost.:${port}/`, 'http://a.localhost/', `http://127.0.0.1:${port}/`, 'http://0x7f.1/', 'http://2130706433/',
    'http://[fe80::1]/', 'http://[fd00::1]/', 'http://100.64.0.1/', 'javascript:alert(1)',
  ]) {
    const reply = await createInvoice(merchant.auth, url);
    assert.equal(reply.status, 400, url);
    assert.equal(reply.json.error.code, 'validation_failed', url);
    assert.deepEqual(reply.fields, ['body.callback_url'], url);
  }
  // Public addresses and names pass this check (the engine has no chains, so the asset is what fails).
  for (const url of ['https://shop.example/hooks', 'https://[2606:4700::1]/x', 'http://8.8.8.8/x', 'https://[::ffff:8.8.8.8]/x']) {
    const reply = await createInvoice(merchant.auth, url);
    assert.equal(reply.status, 400, url);
    assert.deepEqual(reply.fields, ['body.asset'], url);
  }
});

test('a loopback callback stored around the API is not called at delivery, and the delivery records blocked_address', async () => {
  boss = await startBoss(settle.db.url, silentLogger, { supervise: false });
  const urls = [receiver.url, receiver.url.replace('127.0.0.1', '[::ffff:127.0.0.1]'), receiver.url.replace('127.0.0.1', '[::ffff:7f00:1]')];
  const merchant = await settle.merchant('Stored around the API');
  const eventIds: string[] = [];
  for (const url of urls) {
    // What `settle merchant create --callback-url http://127.0.0.1:…` stored before the CLI checked it.
    await settle.db.sql`update merchants set callback_url = ${url} where id = ${merchant.id}`;
    const id = randomUUID();
    eventIds.push(id);
    await settle.db.sql.begin((tx) => enqueueWebhook(tx, boss as PgBoss, {
      id, merchantId: merchant.id, invoiceId: undefined, type: 'invoice.paid', url, payload: { id, type: 'invoice.paid', data: {} },
    }));
  }
  const deliveries = await eventually(async () => {
    const response = await fetch(`${settle.url}/v1/webhooks/deliveries?limit=100`, { headers: merchant.auth });
    const { data } = (await response.json()) as { data: Array<{ event_id: string; url: string; error: string | null; status_code: number | null }> };
    return eventIds.every((id) => data.some((d) => d.event_id === id)) ? data : undefined;
  }, 30_000, 'a delivery attempt of every event');
  for (const delivery of deliveries) {
    assert.equal(delivery.error, 'blocked_address', delivery.url);
    assert.equal(delivery.status_code, null);
  }
  assert.equal(receiver.received.length, 0, 'the loopback receiver was never called');
});
