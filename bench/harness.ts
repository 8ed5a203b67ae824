// Shared set-up for benchmarks: a fresh database on DATABASE_URL, or on an embedded Postgres
// started for the run with durable settings (fsync and synchronous_commit on, as in production).

import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createSql, withDatabase, type Sql } from '../src/db/client.ts';
import { migrate } from '../src/db/migrate.ts';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';

export const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' });

export interface BenchDatabase {
  sql: Sql;
  url: string;
  close(): Promise<void>;
}

export async function benchDatabase(name: string, poolMax = 4): Promise<BenchDatabase> {
  let adminUrl = process.env.DATABASE_URL;
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (adminUrl === undefined || adminUrl === '') {
    const dir = mkdtempSync(join(tmpdir(), 'settle-bench-pg-'));
    chmodSync(dir, 0o755);
    const pg = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: 0, logger });
    adminUrl = pg.url;
    stopEmbedded = async () => {
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    };
  }
  const database = `settle_bench_${name}_${Date.now().toString(36)}`;
  const admin = createSql(adminUrl, { max: 1 });
  await admin.unsafe(`create database "${database}"`);
  const url = withDatabase(adminUrl, database);
  const sql = createSql(url, { max: poolMax });
  await migrate(sql, logger);
  return {
    sql,
    url,
    async close() {
      await sql.end({ timeout: 5 });
      await admin.unsafe(`drop database if exists "${database}" with (force)`);
      await admin.end();
      await stopEmbedded?.();
    },
  };
}

/** A small seeded generator so runs are comparable. */
export { seededRandom } from '../src/common.ts';

export function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
