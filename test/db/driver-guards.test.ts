// postgres.js 3.4.x sends small writes from a setImmediate and did not check that the connection
// was still there when it ran: a transaction whose connection dropped mid-query had its rollback
// written to a null socket, a TypeError no caller can catch, and the process died — in every
// database outage that caught a transaction open (test/e2e/db-outage.test.ts hit it in about one
// run of two before the guard). scripts/patch-postgres.mjs (run after every install) guards it.
// The first test requires the guards in the installed driver; the others cut a transaction's
// connection through a loopback TCP proxy and require that nothing is thrown outside a caller,
// that the transaction rejects with a connection error, and that the pool answers again.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createSql } from '../../src/db/client.ts';
import { isDatabaseUnavailable } from '../../src/db/availability.ts';
import { adminUrl } from '../helpers/db.ts';
import { proxiedDatabase } from '../helpers/tcp-proxy.ts';

const uncaught: unknown[] = [];
const record = (error: unknown): void => {
  uncaught.push(error);
};
process.on('uncaughtException', record);

const { proxy, url: proxiedUrl } = await proxiedDatabase(adminUrl());
const sql = createSql(proxiedUrl, { max: 2 });
const admin = createSql(adminUrl(), { max: 1 });

after(async () => {
  process.off('uncaughtException', record);
  await sql.end({ timeout: 1 });
  await admin.end({ timeout: 1 });
  await proxy.close();
});

/** Resolves once `condition` holds; the deadline only bounds a failure. */
async function waitFor(condition: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('the installed driver carries the write guards (scripts/patch-postgres.mjs)', () => {
  const entry = createRequire(import.meta.url).resolve('postgres');
  const source = readFileSync(entry.replace(/index\.js$/, 'connection.js'), 'utf8');
  assert.equal(source.split('/* settle: guarded */').length - 1, 3, `${entry}: run "node scripts/patch-postgres.mjs" (npm ci runs it)`);
});

for (const mode of ['reset', 'blackhole-then-reset'] as const) {
  test(`a transaction whose connection drops mid-query (${mode}) rejects, and nothing is thrown outside it`, { timeout: 120_000 }, async () => {
    const tag = `settle-driver-guard-${mode}-${process.pid}`;
    const transaction = sql.begin(async (tx) => {
      await tx`select set_config('application_name', ${tag}, true)`;
      await tx`select pg_sleep(30)`;
    });
    const outcome = transaction.then(() => 'committed', (error: unknown) => error);
    // Cut only once the transaction is inside its long query, so the rollback follows a live query.
    await waitFor(async () => (await admin`select 1 from pg_stat_activity where application_name = ${tag} and query like '%pg_sleep%'`).length > 0, 'the transaction to run its query');
    if (mode === 'blackhole-then-reset') await proxy.cut('blackhole');
    await proxy.cut('reset');
    const error = await outcome;
    assert.ok(isDatabaseUnavailable(error), `the transaction rejects with a connection error, got ${String(error)}`);
    await proxy.restore();
    await waitFor(async () => (await sql`select 1 as ok`.then(() => true, () => false)), 'the pool to answer again');
    // By now the driver's deferred writes of the dead connection (its rollback) have run.
    assert.deepEqual(uncaught.map(String), [], 'no error escapes to the process');
    await admin`select pg_terminate_backend(pid) from pg_stat_activity where application_name = ${tag}`;
  });
}

