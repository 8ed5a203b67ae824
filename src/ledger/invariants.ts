// Runs sql/checks/invariants.sql. Used by `settle check` and by every test that touches money.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Queryable } from '../db/client.ts';
import { SQL_DIR } from '../db/migrate.ts';

export interface InvariantViolation {
  invariant: string;
  ledger: number;
  accountIds: bigint[];
  detail: string;
}

let invariantsSql: string | undefined;

export async function checkInvariants(db: Queryable): Promise<InvariantViolation[]> {
  invariantsSql ??= readFileSync(join(SQL_DIR, 'checks', 'invariants.sql'), 'utf8');
  const rows = await db.unsafe<{ invariant: string; ledger: number; account_ids: bigint[]; detail: string }[]>(invariantsSql);
  return rows.map((row) => ({
    invariant: row.invariant,
    ledger: row.ledger,
    accountIds: row.account_ids,
    detail: row.detail,
  }));
}

export function formatViolations(violations: readonly InvariantViolation[]): string {
  return violations
    .map((v) => `${v.invariant} (ledger ${v.ledger}, accounts ${v.accountIds.join(', ')}): ${v.detail}`)
    .join('\n');
}
