// Ledgers (one asset on one chain) and accounts. Accounts are found by (ledger, code, owner) and
// created on first use; their totals change only through transfers (transfers.ts).

import type { Queryable } from '../db/client.ts';
import { accountFlagsToBits, bitsToAccountFlags, type Account, type AccountFlag } from './types.ts';

export interface LedgerInput {
  code: string;
  chain: string;
  asset: string;
  decimals: number;
}

export interface Ledger extends LedgerInput {
  id: number;
}

/** Creates the ledger or returns the existing one; a different chain/asset/decimals for an
 * existing code is refused (an asset's decimals never change under its balances). */
export async function ensureLedger(db: Queryable, input: LedgerInput): Promise<Ledger> {
  await db`
    insert into ledgers (code, chain, asset, decimals)
    values (${input.code}, ${input.chain}, ${input.asset}, ${input.decimals})
    on conflict (code) do nothing`;
  const [row] = await db<{ id: number; code: string; chain: string; asset: string; decimals: number }[]>`
    select id, code, chain, asset, decimals from ledgers where code = ${input.code}`;
  if (row === undefined) throw new Error(`ledger ${input.code} vanished after insert`);
  if (row.chain !== input.chain || row.asset !== input.asset || row.decimals !== input.decimals) {
    throw new Error(
      `ledger ${input.code} exists as ${row.chain}/${row.asset}/${row.decimals} decimals, not ${input.chain}/${input.asset}/${input.decimals}`,
    );
  }
  return row;
}

export async function listLedgers(db: Queryable): Promise<Ledger[]> {
  return db<Ledger[]>`select id, code, chain, asset, decimals from ledgers order by id`;
}

export interface AccountKey {
  ledger: number;
  code: string;
  owner?: string;
  flags?: AccountFlag[];
}

/** Returns the ids of the accounts, creating the missing ones, in the order of `keys`. The flags
 * of an existing account are left as they are. */
export async function ensureAccounts(db: Queryable, keys: readonly AccountKey[]): Promise<bigint[]> {
  if (keys.length === 0) return [];
  const ledgers = keys.map((k) => k.ledger);
  const codes = keys.map((k) => k.code);
  const owners = keys.map((k) => k.owner ?? '');
  const flags = keys.map((k) => accountFlagsToBits(k.flags ?? []));
  await db`
    insert into accounts (ledger, code, owner, flags)
    select * from unnest(${ledgers}::int[], ${codes}::text[], ${owners}::text[], ${flags}::int2[])
    order by 1, 2, 3
    on conflict (ledger, code, owner) do nothing`;
  const rows = await db<{ id: bigint; ledger: number; code: string; owner: string }[]>`
    select a.id, a.ledger, a.code, a.owner
    from accounts a
    join unnest(${ledgers}::int[], ${codes}::text[], ${owners}::text[]) as k (ledger, code, owner)
      on a.ledger = k.ledger and a.code = k.code and a.owner = k.owner`;
  const byKey = new Map(rows.map((row) => [`${row.ledger}\u0000${row.code}\u0000${row.owner}`, row.id]));
  return keys.map((key) => {
    const id = byKey.get(`${key.ledger}\u0000${key.code}\u0000${key.owner ?? ''}`);
    if (id === undefined) throw new Error(`account ${key.ledger}/${key.code}/${key.owner ?? ''} vanished after insert`);
    return id;
  });
}

interface AccountRow {
  id: bigint;
  ledger: number;
  code: string;
  owner: string;
  flags: number;
  debits_pending: bigint;
  debits_posted: bigint;
  credits_pending: bigint;
  credits_posted: bigint;
}

function accountFromRow(row: AccountRow): Account {
  return {
    id: row.id,
    ledger: row.ledger,
    code: row.code,
    owner: row.owner,
    flags: bitsToAccountFlags(row.flags),
    debitsPending: row.debits_pending,
    debitsPosted: row.debits_posted,
    creditsPending: row.credits_pending,
    creditsPosted: row.credits_posted,
  };
}

export async function getAccounts(db: Queryable, ids: readonly bigint[]): Promise<Account[]> {
  if (ids.length === 0) return [];
  const rows = await db<AccountRow[]>`
    select id, ledger, code, owner, flags, debits_pending, debits_posted, credits_pending, credits_posted
    from accounts where id = any(${ids.map(String)}::int8[]) order by id`;
  return rows.map(accountFromRow);
}

export async function findAccounts(db: Queryable, filter: { code?: string; owner?: string; ledger?: number }): Promise<Account[]> {
  const rows = await db<AccountRow[]>`
    select id, ledger, code, owner, flags, debits_pending, debits_posted, credits_pending, credits_posted
    from accounts
    where (${filter.code ?? null}::text is null or code = ${filter.code ?? null})
      and (${filter.owner ?? null}::text is null or owner = ${filter.owner ?? null})
      and (${filter.ledger ?? null}::int is null or ledger = ${filter.ledger ?? null})
    order by id`;
  return rows.map(accountFromRow);
}

/** Credit-normal balance (what the account holds for its owner): credits minus debits. */
export function creditBalance(account: Account): { posted: bigint; pending: bigint } {
  return {
    posted: account.creditsPosted - account.debitsPosted,
    pending: account.creditsPending - account.debitsPending,
  };
}
