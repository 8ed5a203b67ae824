// Migrations: numbered SQL files in sql/ (`0001_ledger.sql`), applied in order, each in its own
// transaction, recorded in `settle_migrations`. Every migration transaction first takes the same
// advisory lock, so processes starting at once apply each file exactly once; re-running is a
// no-op. A file edited after it was applied stops start-up: history is not rewritten silently.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { NonRetryableError } from '../errors.ts';
import type { Sql } from './client.ts';

export const SQL_DIR = fileURLToPath(new URL('../../sql/', import.meta.url));
/** Arbitrary constant shared by every Settle process: "settle migrations". */
const MIGRATION_LOCK_KEY = 0x5e7713_01n;
const FILE_PATTERN = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export interface Migration {
  version: number;
  name: string;
  text: string;
  checksum: string;
}

export function readMigrations(dir: string = SQL_DIR): Migration[] {
  const migrations: Migration[] = [];
  for (const file of readdirSync(dir).sort()) {
    const match = FILE_PATTERN.exec(file);
    if (match === null) continue;
    const text = readFileSync(join(dir, file), 'utf8');
    migrations.push({
      version: Number(match[1]),
      name: match[2] as string,
      text,
      checksum: createHash('sha256').update(text).digest('hex'),
    });
  }
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new NonRetryableError('migration_numbering', `migrations must be numbered 0001, 0002, … without gaps; found ${migration.version} at position ${index + 1}`);
    }
  });
  return migrations;
}

export interface MigrateResult {
  applied: string[];
  current: number;
}

export async function migrate(sql: Sql, logger: Logger, migrations: Migration[] = readMigrations()): Promise<MigrateResult> {
  await sql`
    create table if not exists settle_migrations (
      version int primary key,
      name text not null,
      checksum text not null,
      applied_at timestamptz not null default now()
    )`.catch((error: { code?: string }) => {
    // Two processes creating the table at once: one wins, the other sees a duplicate.
    if (error.code !== '23505' && error.code !== '42P07') throw error;
  });
  const applied: string[] = [];
  for (const migration of migrations) {
    const label = `${String(migration.version).padStart(4, '0')}_${migration.name}`;
    const didApply = await sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY.toString()}::int8)`;
      const [row] = await tx<{ checksum: string }[]>`select checksum from settle_migrations where version = ${migration.version}`;
      if (row !== undefined) {
        if (row.checksum !== migration.checksum) {
          throw new NonRetryableError('migration_changed', `migration ${label} was changed after it was applied; add a new migration instead`, { version: migration.version });
        }
        return false;
      }
      await tx.unsafe(migration.text);
      await tx`insert into settle_migrations (version, name, checksum) values (${migration.version}, ${migration.name}, ${migration.checksum})`;
      return true;
    });
    if (didApply) {
      applied.push(label);
      logger.info({ migration: label }, 'migration applied');
    }
  }
  return { applied, current: migrations.length };
}
