import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testDatabase, silentLogger } from '../helpers/db.ts';
import { createSql } from '../../src/db/client.ts';
import { migrate, readMigrations } from '../../src/db/migrate.ts';

const db = await testDatabase(import.meta.filename, { migrate: false });

function migrationsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'settle-migrations-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

test('migrations apply in order, each recorded once; re-running is a no-op', async () => {
  const first = await migrate(db.sql, silentLogger);
  assert.deepEqual(first.applied, readMigrations().map((m) => `${String(m.version).padStart(4, '0')}_${m.name}`));
  const second = await migrate(db.sql, silentLogger);
  assert.deepEqual(second.applied, []);
  const rows = await db.sql<{ version: number }[]>`select version from settle_migrations order by version`;
  assert.deepEqual(rows.map((r) => r.version), readMigrations().map((m) => m.version));
});

test('processes migrating at once apply each file exactly once', async () => {
  const dir = migrationsDir({
    '0001_a.sql': 'create table race_a (id int); select pg_sleep(0.2);',
    '0002_b.sql': 'create table race_b (id int);',
  });
  await db.sql`drop table if exists settle_migrations`;
  const connections = Array.from({ length: 4 }, () => createSql(db.url, { max: 2 }));
  try {
    const results = await Promise.all(connections.map((sql) => migrate(sql, silentLogger, readMigrations(dir))));
    const appliedCounts = results.flatMap((r) => r.applied).sort();
    assert.deepEqual(appliedCounts, ['0001_a', '0002_b'], 'each migration applied by exactly one process');
  } finally {
    await Promise.all(connections.map((sql) => sql.end()));
  }
});

test('a migration changed after it was applied stops the run', async () => {
  const dir = migrationsDir({ '0001_a.sql': 'create table race_a (id int); select pg_sleep(0.2);', '0002_b.sql': 'create table race_b (id int, x int);' });
  await assert.rejects(migrate(db.sql, silentLogger, readMigrations(dir)), /0002_b was changed after it was applied/);
});

test('a failing migration rolls back entirely and is not recorded', async () => {
  const dir = migrationsDir({
    '0001_a.sql': 'create table race_a (id int); select pg_sleep(0.2);',
    '0002_b.sql': 'create table race_b (id int);',
    '0003_c.sql': 'create table half_done (id int); select * from no_such_table;',
  });
  await assert.rejects(migrate(db.sql, silentLogger, readMigrations(dir)), /no_such_table/);
  const [row] = await db.sql<{ t: string | null }[]>`select to_regclass('half_done')::text as t`;
  assert.equal(row?.t, null);
  const versions = await db.sql<{ version: number }[]>`select version from settle_migrations order by version`;
  assert.deepEqual(versions.map((r) => r.version), [1, 2]);
});

test('migration files must be numbered without gaps', () => {
  const dir = migrationsDir({ '0001_a.sql': 'select 1;', '0003_c.sql': 'select 1;' });
  assert.throws(() => readMigrations(dir), /without gaps/);
});
