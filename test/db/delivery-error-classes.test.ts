// Deliveries recorded before error classes: the migration replaces their raw socket errors, which
// the merchant can read, with the classes new attempts record.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { testDatabase, silentLogger } from '../helpers/db.ts';
import { migrate, readMigrations } from '../../src/db/migrate.ts';

const db = await testDatabase(import.meta.filename, { migrate: false });

test('the migration turns stored raw delivery errors into classes and leaves classes and successes alone', async () => {
  const all = readMigrations();
  const classes = all.find((m) => m.name === 'webhook_delivery_error_classes');
  assert.ok(classes !== undefined);
  await migrate(db.sql, silentLogger, all.filter((m) => m.version < classes.version));

  await db.sql`insert into merchants (id, name, webhook_secret) values ('m', 'Shop', 'whsec_x')`;
  const eventId = randomUUID();
  await db.sql`insert into webhook_events (id, merchant_id, type, url, payload) values (${eventId}, 'm', 'invoice.paid', 'http://x/', '{}')`;
  const rows: Array<[string | null, number | null, string | null]> = [
    ['connect ECONNREFUSED 127.0.0.1:9', null, 'connection_refused'],
    ['socket hang up', null, 'connection_reset'],
    ['read ECONNRESET', null, 'connection_reset'],
    ['timed out after 10000 ms', null, 'timeout'],
    ['getaddrinfo ENOTFOUND hooks.example', null, 'dns_error'],
    ['hooks.example resolves only to private addresses', null, 'blocked_address'],
    ['connect EHOSTUNREACH 10.0.0.1:80', null, 'unreachable'],
    ['self-signed certificate', null, 'tls_error'],
    ['invalid URL', null, 'invalid_url'],
    ['something else entirely', null, 'network_error'],
    [null, 404, 'http_4xx'],
    [null, 503, 'http_5xx'],
    [null, 301, 'http_3xx'],
    [null, 200, null],
    ['connection_refused', null, 'connection_refused'],
  ];
  for (const [index, [error, status]] of rows.entries()) {
    await db.sql`insert into webhook_deliveries (id, event_id, merchant_id, attempt, url, status_code, error)
                 values (${randomUUID()}, ${eventId}, 'm', ${index + 1}, 'http://x/', ${status}, ${error})`;
  }
  await migrate(db.sql, silentLogger, all);
  const after = await db.sql<{ attempt: number; error: string | null }[]>`select attempt, error from webhook_deliveries order by attempt`;
  assert.deepEqual(after.map((r) => r.error), rows.map(([, , expected]) => expected));
});
