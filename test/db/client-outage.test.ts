// The Postgres client behind a loopback TCP proxy: refused and reset connections fail their
// queries at once, and the pool answers again as soon as the database is reachable — no
// connection slot is lost to a failed attempt (postgres.js strands the slot of a custom socket
// that fails before it is handed over).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSql } from '../../src/db/client.ts';
import { isDatabaseUnavailable } from '../../src/db/availability.ts';
import { adminUrl } from '../helpers/db.ts';
import { proxiedDatabase } from '../helpers/tcp-proxy.ts';

const { proxy, url: proxiedUrl } = await proxiedDatabase(adminUrl());
const sql = createSql(proxiedUrl, { max: 2 });

after(async () => {
  await sql.end({ timeout: 1 });
  await proxy.close();
});

/** The query's outcome, or 'hung' when it has none within a generous bound. */
function settle(query: Promise<unknown>): Promise<unknown> {
  return Promise.race([query.then(() => 'ok', (error: unknown) => error), new Promise((resolve) => setTimeout(() => resolve('hung'), 30_000).unref())]);
}

for (const mode of ['refuse', 'reset'] as const) {
  test(`after ${mode === 'refuse' ? 'refused' : 'reset'} connections the pool answers again once the database is back`, { timeout: 120_000 }, async () => {
    assert.equal(await settle(sql`select 1`), 'ok');
    await proxy.cut(mode);
    // More failed attempts than the pool has connections.
    for (let i = 0; i < 5; i += 1) {
      const outcome = await settle(sql`select 1`);
      assert.ok(isDatabaseUnavailable(outcome), `attempt ${i} during the outage: ${String(outcome)}`);
    }
    await proxy.restore();
    assert.equal(await settle(sql`select 1`), 'ok');
    assert.equal(await settle(Promise.all([sql`select 1`, sql`select 2`, sql`select 3`])), 'ok');
  });
}
