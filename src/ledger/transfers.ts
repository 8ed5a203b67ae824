// The batch writer of the ledger. One database transaction per batch:
//   1. read the pending transfers the batch posts or voids (immutable rows: no lock needed);
//   2. take the writer lock of every ledger the batch changes, in ascending order;
//   3. read what the decisions need: account facts (ledger, flags: immutable, cached), the
//      balances the decisions depend on (balanceReads()), the transfers whose ids the batch
//      uses, and how the pending transfers were resolved;
//   4. decide every transfer in order (evaluate.ts, pure);
//   5. insert the created transfers with one COPY and update each touched account once with its
//      aggregated deltas, both sent together.
// A concurrent writer that inserted the same id on another ledger surfaces as a unique
// violation, and a total past numeric(78,0) as a numeric overflow: the whole batch runs again
// (bounded), the second time reading every balance so the overflow becomes a result.

import type { Writable } from 'node:stream';
import { assert, isRetryableTransactionError, RetryableError, TransactionRestart } from '../errors.ts';
import type { Queryable, Sql, TransactionSql } from '../db/client.ts';
import { evaluateBatch, type AccountDelta, type AccountState, type Snapshot } from './evaluate.ts';
import { bitsToFlags, flagsToBits, type CreateTransferResult, type Transfer, type TransferInput } from './types.ts';

/** Upper bound of one batch: keeps statements, locks held and memory bounded. */
export const TRANSFERS_PER_BATCH_MAX = 20_000;
const ATTEMPTS_MAX = 5;
/** Bound of the account-facts cache; past it the cache starts over (facts are re-read). */
const ACCOUNT_FACTS_MAX = 2_000_000;
/** Advisory-lock namespace of the ledger writer ("settle ledger"). */
const LEDGER_LOCK_NAMESPACE = 0x5e77_1ed9;
const NUMERIC_VALUE_OUT_OF_RANGE = '22003';
const CHECK_VIOLATION = '23514';
const OVERFLOWED_BATCHES_MAX = 1_000;

export interface LedgerWriter {
  /** Creates the batch in a transaction of its own, retrying the whole batch on a write race. */
  createTransfers(inputs: readonly TransferInput[]): Promise<CreateTransferResult[]>;
  /** Applies the batch inside the caller's transaction (the scanner's applier uses this so blocks,
   * payments and transfers commit together). The caller retries the transaction when
   * isRetryableTransactionError() says so. */
  applyTransfers(tx: TransactionSql, inputs: readonly TransferInput[]): Promise<CreateTransferResult[]>;
}

class OverflowRestart extends TransactionRestart {}

interface AccountFacts {
  ledger: number;
  flagBits: number;
}

export function createLedgerWriter(sql: Sql): LedgerWriter {
  // Ledger, flags, code and owner of an account never change (a trigger refuses it), so they are
  // read once per process. Balances are read under the ledger lock, and only where a decision
  // depends on them.
  const facts = new Map<bigint, AccountFacts>();
  // Batches that hit a numeric overflow: when run again they read every balance, so the transfer
  // that would overflow is answered `overflows_*` instead of failing the batch. Keyed by the
  // batch's first id and size; bounded.
  const overflowed = new Set<string>();

  async function applyTransfers(tx: TransactionSql, inputs: readonly TransferInput[]): Promise<CreateTransferResult[]> {
    assert(inputs.length <= TRANSFERS_PER_BATCH_MAX, `a batch holds at most ${TRANSFERS_PER_BATCH_MAX} transfers`);
    if (inputs.length === 0) return [];
    const batchKey = `${inputs[0]?.id}:${inputs.length}`;
    const readAllBalances = overflowed.has(batchKey);

    const pendingIds = new Set<string>();
    for (const input of inputs) if (input.pendingId !== undefined) pendingIds.add(input.pendingId);
    const pendings = pendingIds.size === 0 ? [] : await selectTransfers(tx, [...pendingIds]);

    // Every account a created transfer changes belongs to the transfer's ledger: the input's
    // (single, pending) or the pending transfer's (post, void).
    const ledgers = new Set<number>();
    for (const input of inputs) if (!isResolution(input)) ledgers.add(input.ledger);
    for (const pending of pendings) ledgers.add(pending.ledger);
    await lockLedgers(tx, [...ledgers]);
    if (pendings.length < pendingIds.size) await restartIfPendingAppeared(tx, pendingIds, pendings);

    const accountIds = new Set<bigint>();
    for (const input of inputs) {
      if (input.debitAccountId !== 0n) accountIds.add(input.debitAccountId);
      if (input.creditAccountId !== 0n) accountIds.add(input.creditAccountId);
    }
    for (const pending of pendings) {
      accountIds.add(pending.debitAccountId);
      accountIds.add(pending.creditAccountId);
    }
    const batchIds = new Set<string>(inputs.map((input) => input.id));
    for (const id of pendingIds) batchIds.delete(id);
    // Independent reads go out together: postgres.js pipelines them on the connection.
    const [existing, resolutions] = await Promise.all([
      batchIds.size === 0 ? [] : selectTransfers(tx, [...batchIds]),
      pendingIds.size === 0 ? new Map<string, 'posted' | 'voided'>() : selectResolutions(tx, [...pendingIds]),
      loadFacts(tx, accountIds),
    ]);
    const accounts = new Map<bigint, AccountState>();
    for (const id of accountIds) {
      const known = facts.get(id);
      if (known !== undefined) accounts.set(id, { id, ...known, balancesKnown: false, debitsPending: 0n, debitsPosted: 0n, creditsPending: 0n, creditsPosted: 0n });
    }
    const balanceIds = readAllBalances ? [...accounts.keys()] : balanceReads(inputs, accounts, pendings);
    if (balanceIds.length > 0) await loadBalances(tx, balanceIds, accounts);

    const snapshot: Snapshot = { accounts, transfers: new Map(), resolutions };
    for (const transfer of pendings) snapshot.transfers.set(transfer.id, transfer);
    for (const transfer of existing) snapshot.transfers.set(transfer.id, transfer);

    const { results, created, deltas } = evaluateBatch(inputs, snapshot);
    try {
      // COPY holds the connection: the update goes first, then the COPY.
      if (deltas.size > 0) await updateAccounts(tx, deltas);
      if (created.length > 0) await insertTransfers(tx, created);
    } catch (error) {
      if (!isOverflow(error)) throw error;
      if (overflowed.size >= OVERFLOWED_BATCHES_MAX) overflowed.clear();
      overflowed.add(batchKey);
      throw new OverflowRestart('an account total would pass numeric(78,0); retrying with every balance read');
    }
    return results;
  }

  async function loadFacts(tx: TransactionSql, ids: Set<bigint>): Promise<void> {
    const missing: string[] = [];
    for (const id of ids) if (!facts.has(id)) missing.push(id.toString());
    if (missing.length === 0) return;
    if (facts.size + missing.length > ACCOUNT_FACTS_MAX) facts.clear();
    const rows = await tx<{ id: bigint; ledger: number; flags: number }[]>`
      select id, ledger, flags from accounts where id = any(${missing}::int8[])`;
    for (const row of rows) facts.set(row.id, { ledger: row.ledger, flagBits: row.flags });
  }

  return {
    applyTransfers,
    async createTransfers(inputs) {
      for (let attempt = 1; ; attempt++) {
        try {
          return await sql.begin((tx) => applyTransfers(tx, inputs));
        } catch (error) {
          if (!isRetryableTransactionError(error)) throw error;
          if (attempt >= ATTEMPTS_MAX) {
            throw new RetryableError('ledger_contention', `createTransfers gave up after ${attempt} attempts on write races`, { transfers: inputs.length }, { cause: error });
          }
        }
      }
    },
  };
}

function isOverflow(error: unknown): boolean {
  const { code, constraint_name: constraint } = error as { code?: unknown; constraint_name?: unknown };
  return code === NUMERIC_VALUE_OUT_OF_RANGE ||
    (code === CHECK_VIOLATION && (constraint === 'accounts_debits_fit' || constraint === 'accounts_credits_fit'));
}

function isResolution(input: TransferInput): boolean {
  return input.flags === 'post_pending' || input.flags === 'void_pending';
}

/**
 * Accounts whose balances the batch's decisions need, read under the ledger lock:
 *  - both accounts of every single or pending transfer that meets a limit;
 *  - an account a post or void lowers after an earlier transfer of the batch raised it. For an
 *    unread account the database checks only the batch's final totals, which is exact only while
 *    they never rise and then fall within the batch: a transfer that overflowed before a release
 *    of a pending amount would otherwise be `created`;
 *  - and, spreading along transfers, the other account of every single or pending transfer of
 *    the batch with one account read. evaluate.ts names the overflowing side in TigerBeetle's
 *    order of precedence, which needs the totals of both accounts (with one side read it would
 *    answer `overflows_credits` for a transfer that overflows the unread debit side first).
 * Batches without limits or releases read nothing: their overflows (astronomical, past
 * numeric(78,0)) are caught by the database and the batch runs again with every balance read.
 */
function balanceReads(inputs: readonly TransferInput[], accounts: Map<bigint, AccountState>, pendings: Transfer[]): bigint[] {
  const components = new AccountComponents();
  const read: bigint[] = [];
  const raised = new Set<bigint>();
  const pendingAccounts = new Map<string, readonly bigint[]>();
  for (const pending of pendings) pendingAccounts.set(pending.id, [pending.debitAccountId, pending.creditAccountId]);
  for (const input of inputs) {
    if (isResolution(input)) {
      const released = input.pendingId === undefined ? undefined : pendingAccounts.get(input.pendingId);
      for (const id of released ?? []) if (raised.has(id)) read.push(id);
      continue;
    }
    const debit = accounts.get(input.debitAccountId);
    const credit = accounts.get(input.creditAccountId);
    if (debit === undefined || credit === undefined) continue;
    components.join(debit.id, credit.id);
    raised.add(debit.id);
    raised.add(credit.id);
    if (input.flags === 'pending' && !pendingAccounts.has(input.id)) pendingAccounts.set(input.id, [debit.id, credit.id]);
    if ((debit.flagBits & 1) !== 0 || (credit.flagBits & 2) !== 0) read.push(debit.id);
  }
  if (read.length === 0) return [];
  const roots = new Set(read.map((id) => components.root(id)));
  return [...accounts.keys()].filter((id) => roots.has(components.root(id)));
}

/** Accounts joined by the batch's transfers (union-find with path halving): bounded by the batch. */
class AccountComponents {
  readonly #parent = new Map<bigint, bigint>();

  root(id: bigint): bigint {
    let current = id;
    for (let parent = this.#parent.get(current); parent !== undefined && parent !== current; parent = this.#parent.get(current)) {
      const grandparent = this.#parent.get(parent) ?? parent;
      this.#parent.set(current, grandparent);
      current = grandparent;
    }
    return current;
  }

  join(a: bigint, b: bigint): void {
    const rootA = this.root(a);
    const rootB = this.root(b);
    if (rootA !== rootB) this.#parent.set(rootA, rootB);
  }
}

/**
 * Takes each ledger's writer lock, in ascending ledger order, until the transaction ends.
 * Account totals change only under their ledger's lock, so balances read next are current and
 * stay so until we commit; a batch waits for another on the same ledger instead of deadlocking
 * with it, and batches on different ledgers run side by side. One lock per ledger rather than a
 * row lock per account: locking rows writes to every locked tuple, and it cost a third of a
 * batch's time in bench/ledger.ts.
 */
async function lockLedgers(tx: TransactionSql, ledgers: number[]): Promise<void> {
  for (const ledger of ledgers.sort((a, b) => a - b)) {
    await tx`select pg_advisory_xact_lock(${LEDGER_LOCK_NAMESPACE}, ${ledger})`;
  }
}

/**
 * A pending transfer missing in step 1 may have been committed by a concurrent batch while we
 * waited for the lock. Deciding `pending_not_found` now, while seeing that batch's other effects,
 * would order the two batches both ways at once; the batch starts over and finds it.
 */
async function restartIfPendingAppeared(tx: TransactionSql, pendingIds: Set<string>, found: Transfer[]): Promise<void> {
  const foundIds = new Set(found.map((transfer) => transfer.id));
  const missing = [...pendingIds].filter((id) => !foundIds.has(id));
  const [row] = await tx<{ count: bigint }[]>`select count(*) as count from transfers where id = any(${missing}::uuid[])`;
  if (row !== undefined && row.count > 0n) {
    throw new TransactionRestart('a pending transfer appeared while the batch waited for its ledger lock');
  }
}

async function loadBalances(tx: TransactionSql, ids: bigint[], accounts: Map<bigint, AccountState>): Promise<void> {
  const rows = await tx<{ id: bigint; debits_pending: bigint; debits_posted: bigint; credits_pending: bigint; credits_posted: bigint }[]>`
    select id, debits_pending, debits_posted, credits_pending, credits_posted
    from accounts where id = any(${ids.map(String)}::int8[])`;
  for (const row of rows) {
    const account = accounts.get(row.id);
    assert(account !== undefined, 'balances are read only for accounts whose facts are known');
    account.balancesKnown = true;
    account.debitsPending = row.debits_pending;
    account.debitsPosted = row.debits_posted;
    account.creditsPending = row.credits_pending;
    account.creditsPosted = row.credits_posted;
  }
}

interface TransferRow {
  id: string;
  debit_account_id: bigint;
  credit_account_id: bigint;
  amount: bigint;
  ledger: number;
  code: string;
  flags: number;
  pending_id: string | null;
  reference: string | null;
}

export function transferFromRow(row: TransferRow): Transfer {
  return {
    id: row.id,
    debitAccountId: row.debit_account_id,
    creditAccountId: row.credit_account_id,
    amount: row.amount,
    ledger: row.ledger,
    code: row.code,
    flags: bitsToFlags(row.flags),
    pendingId: row.pending_id ?? undefined,
    reference: row.reference ?? undefined,
  };
}

export async function selectTransfers(db: Queryable, ids: string[]): Promise<Transfer[]> {
  const rows = await db<TransferRow[]>`
    select id, debit_account_id, credit_account_id, amount, ledger, code, flags, pending_id, reference
    from transfers where id = any(${ids}::uuid[])`;
  return rows.map(transferFromRow);
}

async function selectResolutions(db: Queryable, pendingIds: string[]): Promise<Map<string, 'posted' | 'voided'>> {
  const rows = await db<{ pending_id: string; flags: number }[]>`
    select pending_id, flags from transfers where pending_id = any(${pendingIds}::uuid[])`;
  return new Map(rows.map((row) => [row.pending_id, row.flags === 2 ? 'posted' : 'voided']));
}

async function insertTransfers(tx: TransactionSql, transfers: Transfer[]): Promise<void> {
  const lines = new Array<string>(transfers.length);
  for (let i = 0; i < transfers.length; i++) {
    const t = transfers[i] as Transfer;
    lines[i] = `${t.id}\t${t.debitAccountId}\t${t.creditAccountId}\t${t.amount}\t${t.ledger}\t${copyText(t.code)}\t${flagsToBits(t.flags)}\t${t.pendingId ?? '\\N'}\t${t.reference === undefined ? '\\N' : copyText(t.reference)}\n`;
  }
  const stream = await tx`
    copy transfers (id, debit_account_id, credit_account_id, amount, ledger, code, flags, pending_id, reference)
    from stdin`.writable();
  await endStream(stream, lines.join(''));
}

async function updateAccounts(tx: TransactionSql, deltas: Map<bigint, AccountDelta>): Promise<void> {
  const ids: string[] = [];
  const dp: string[] = [];
  const dpo: string[] = [];
  const cp: string[] = [];
  const cpo: string[] = [];
  for (const [id, delta] of deltas) {
    ids.push(id.toString());
    dp.push(delta.debitsPending.toString());
    dpo.push(delta.debitsPosted.toString());
    cp.push(delta.creditsPending.toString());
    cpo.push(delta.creditsPosted.toString());
  }
  await tx`
    update accounts a set
      debits_pending = a.debits_pending + d.dp,
      debits_posted = a.debits_posted + d.dpo,
      credits_pending = a.credits_pending + d.cp,
      credits_posted = a.credits_posted + d.cpo
    from unnest(${ids}::int8[], ${dp}::numeric[], ${dpo}::numeric[], ${cp}::numeric[], ${cpo}::numeric[])
      as d (id, dp, dpo, cp, cpo)
    where a.id = d.id`;
}

/** COPY text format escapes backslash, tab, newline and carriage return. */
function copyText(value: string): string {
  if (!/[\\\t\n\r]/.test(value)) return value;
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

function endStream(stream: Writable, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('error', reject);
    stream.once('finish', resolve);
    stream.end(text);
  });
}
