// A database of its own for each test file: created on the server named by DATABASE_URL (the test
// runner starts the embedded Postgres and sets it when the caller did not), migrated, and dropped
// after the file's tests — kept when a test failed, so it can be inspected.

import { after, afterEach } from 'node:test';
import { basename } from 'node:path';
import { pino } from 'pino';
import { createSql, withDatabase, type Sql } from '../../src/db/client.ts';
import { migrate } from '../../src/db/migrate.ts';

export interface TestDatabase {
  sql: Sql;
  url: string;
  name: string;
  /** Runs before the database is closed and dropped (stop what uses it first). */
  onClose(hook: () => Promise<void>): void;
}

export const silentLogger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export function adminUrl(): string {
  const url = process.env.DATABASE_URL;
  if (url === undefined || url === '') {
    throw new Error('DATABASE_URL is not set: run the tests with `npm test` (it starts an embedded Postgres) or set DATABASE_URL');
  }
  return url;
}

/** Creates, migrates and (after the file's tests) drops a database named after the test file. */
export async function testDatabase(file: string, options: { migrate?: boolean; poolMax?: number } = {}): Promise<TestDatabase> {
  const stem = basename(file).replace(/\.test\.ts$/, '').replace(/[^a-z0-9]+/gi, '_').toLowerCase();
  const name = `settle_t_${stem}_${process.pid}_${Date.now().toString(36)}`;
  const admin = createSql(adminUrl(), { max: 1 });
  await admin.unsafe(`create database "${name}"`);
  await admin.end();
  const url = withDatabase(adminUrl(), name);
  const sql = createSql(url, { max: options.poolMax ?? 10 });
  if (options.migrate !== false) await migrate(sql, silentLogger);

  let failed = false;
  const closeHooks: Array<() => Promise<void>> = [];
  afterEach((t) => {
    if (!(t as unknown as { passed: boolean }).passed) failed = true;
  });
  after(async () => {
    for (const hook of closeHooks.reverse()) await hook();
    await sql.end({ timeout: 5 });
    if (failed || process.env.SETTLE_TEST_KEEP_DB === '1') {
      console.log(`# kept database ${name} for inspection (${url.replace(/:[^:@/]*@/, ':***@')})`);
      return;
    }
    const cleanup = createSql(adminUrl(), { max: 1 });
    await cleanup.unsafe(`drop database if exists "${name}" with (force)`);
    await cleanup.end();
  });
  return { sql, url, name, onClose: (hook) => void closeHooks.push(hook) };
}
