// Randomized model test: seeded sequences of transfers (single, pending, post, partial post, void,
// duplicates, conflicting re-submissions, invalid ones, and pairs of batches run concurrently)
// are applied to Postgres and to the in-memory model. After every step the results, every
// account's four totals and the SQL invariants must agree.
//
// Replay a failure with LEDGER_SEED=<seed> (and LEDGER_STEPS=<n>), printed in the failure message.
// Sweep many seeds with LEDGER_SEEDS=<first>-<last>: each seed is a subtest, so every failing seed
// is named, not only the first.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testDatabase } from '../helpers/db.ts';
import { createLedgerWriter } from '../../src/ledger/transfers.ts';
import { ensureAccounts, ensureLedger } from '../../src/ledger/accounts.ts';
import { checkInvariants, formatViolations } from '../../src/ledger/invariants.ts';
import type { AccountFlag, CreateTransferResult, TransferFlag, TransferInput } from '../../src/ledger/types.ts';
import type { Sql } from '../../src/db/client.ts';
import { LedgerModel } from './model.ts';
import { seededRandom } from '../../src/common.ts';

const db = await testDatabase(import.meta.filename, { poolMax: 4 });
const writer = createLedgerWriter(db.sql);


class Workload {
  readonly next: () => number;
  readonly submitted: TransferInput[] = [];
  readonly pendingIds: string[] = [];
  readonly singleIds: string[] = [];

  readonly ledgers: number[];

  constructor(seed: number, readonly accounts: Map<number, bigint[]>, readonly missingAccount: bigint) {
    this.ledgers = [...accounts.keys()];
    this.next = seededRandom(seed);
  }

  int(max: number): number {
    return Math.floor(this.next() * max);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  uuid(): string {
    const hex = Array.from({ length: 32 }, () => this.int(16).toString(16)).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  }

  amount(): bigint {
    const roll = this.int(100);
    if (roll < 3) return 0n;
    if (roll < 5) return -5n;
    if (roll < 7) return 10n ** 77n * 9n; // near the numeric(78,0) limit: overflows when added twice
    return BigInt(1 + this.int(roll < 60 ? 50 : 5000));
  }

  account(ledger: number): bigint {
    const roll = this.int(100);
    if (roll < 3) return this.missingAccount;
    const otherLedger = roll < 6;
    const other = this.ledgers.find((id) => id !== ledger) as number;
    const ids = this.accounts.get(otherLedger ? other : ledger) as bigint[];
    return this.pick(ids);
  }

  transfer(): TransferInput {
    const roll = this.int(100);
    let input: TransferInput;
    if (roll < 10 && this.submitted.length > 0) return { ...this.pick(this.submitted) }; // exact duplicate
    if (roll < 18 && this.submitted.length > 0) input = this.conflicting(this.pick(this.submitted));
    else if (roll < 45) input = this.fresh(undefined);
    else if (roll < 70) input = this.fresh('pending');
    else input = this.resolution(roll < 88 ? 'post_pending' : 'void_pending');
    this.submitted.push(input);
    return input;
  }

  fresh(flags: TransferFlag | undefined): TransferInput {
    const ledger = this.pick(this.ledgers);
    const input: TransferInput = {
      id: this.uuid(),
      debitAccountId: this.account(ledger),
      creditAccountId: this.account(ledger),
      amount: this.amount(),
      ledger,
      code: this.pick(['deposit', 'payout', 'fee']),
      flags,
      reference: this.int(2) === 0 ? undefined : `ref:${this.int(1000)}`,
    };
    if (this.int(50) === 0) input.pendingId = this.uuid(); // pending_id_must_be_empty
    (flags === 'pending' ? this.pendingIds : this.singleIds).push(input.id);
    return input;
  }

  resolution(flags: 'post_pending' | 'void_pending'): TransferInput {
    const roll = this.int(100);
    let pendingId: string | undefined;
    if (roll < 4) pendingId = this.uuid(); // pending_not_found
    else if (roll < 8 && this.singleIds.length > 0) pendingId = this.pick(this.singleIds); // not pending
    else if (roll < 10) pendingId = undefined; // pending_id_required
    else pendingId = this.pendingIds.length > 0 ? this.pick(this.pendingIds) : this.uuid();
    const amountRoll = this.int(100);
    let amount: bigint | undefined;
    if (amountRoll < 50) amount = undefined;
    else if (amountRoll < 80) amount = BigInt(1 + this.int(40));
    else if (amountRoll < 85) amount = 0n;
    else amount = BigInt(this.int(6000));
    const wrongAccount = this.int(20) === 0;
    return {
      id: this.uuid(),
      debitAccountId: wrongAccount ? this.account(this.ledgers[0] as number) : 0n,
      creditAccountId: 0n,
      amount,
      ledger: this.int(25) === 0 ? (this.ledgers[1] as number) : 0,
      code: this.int(30) === 0 ? '' : 'settle',
      flags,
      pendingId,
    };
  }

  conflicting(original: TransferInput): TransferInput {
    const copy: TransferInput = { ...original };
    switch (this.int(6)) {
      case 0: copy.amount = (copy.amount ?? 1n) + 1n; break;
      case 1: copy.code = copy.code === 'deposit' ? 'payout' : 'deposit'; break;
      case 2: copy.reference = `${copy.reference ?? ''}x`; break;
      case 3: copy.flags = copy.flags === undefined ? 'pending' : undefined; copy.pendingId = undefined; break;
      case 4: copy.creditAccountId = this.account(copy.ledger || (this.ledgers[0] as number)); break;
      default: copy.debitAccountId = this.account(copy.ledger || (this.ledgers[0] as number)); break;
    }
    return copy;
  }
}

let runs = 0;

async function setUp(sql: Sql, model: LedgerModel, seed: number): Promise<Map<number, bigint[]>> {
  const accounts = new Map<number, bigint[]>();
  runs += 1; // the same seed may run twice in one database (the regression test and a replay)
  for (const [name, decimals] of [['A', 8], ['B', 18]] as const) {
    const code = `M${seed}-${runs}-${name}`;
    const ledger = await ensureLedger(sql, { code, chain: 'test', asset: name, decimals });
    const specs: Array<{ code: string; flags: AccountFlag[] }> = [
      { code: 'world', flags: [] },
      { code: 'world_b', flags: [] },
      { code: 'merchant', flags: ['debits_must_not_exceed_credits'] },
      { code: 'merchant_b', flags: ['debits_must_not_exceed_credits'] },
      { code: 'suspense', flags: [] },
      { code: 'fees', flags: ['credits_must_not_exceed_debits'] },
    ];
    const ids = await ensureAccounts(sql, specs.map((s) => ({ ledger: ledger.id, code: s.code, flags: s.flags })));
    ids.forEach((id, i) => {
      const flags = specs[i]?.flags ?? [];
      model.accounts.set(id, {
        ledger: ledger.id,
        limitDebits: flags.includes('debits_must_not_exceed_credits'),
        limitCredits: flags.includes('credits_must_not_exceed_debits'),
        dp: 0n, dpo: 0n, cp: 0n, cpo: 0n,
      });
    });
    accounts.set(ledger.id, ids);
  }
  return accounts;
}

async function assertAgrees(sql: Sql, model: LedgerModel, context: string): Promise<void> {
  const rows = await sql<{ id: bigint; debits_pending: bigint; debits_posted: bigint; credits_pending: bigint; credits_posted: bigint }[]>`
    select id, debits_pending, debits_posted, credits_pending, credits_posted from accounts
    where id = any(${[...model.accounts.keys()].map(String)}::int8[])`;
  for (const row of rows) {
    const expected = model.accounts.get(row.id);
    assert.ok(expected, `${context}: account ${row.id} unknown to the model`);
    assert.deepEqual(
      [row.debits_pending, row.debits_posted, row.credits_pending, row.credits_posted],
      [expected.dp, expected.dpo, expected.cp, expected.cpo],
      `${context}: totals of account ${row.id}`,
    );
  }
  const violations = await checkInvariants(sql);
  assert.equal(violations.length, 0, `${context}: invariants broken:\n${formatViolations(violations)}`);
}

async function runSeed(seed: number, steps: number): Promise<Record<string, number>> {
  const { sql } = db;
  const model = new LedgerModel();
  const accounts = await setUp(sql, model, seed);
  const workload = new Workload(seed, accounts, 9_999_999n);
  const seen: Record<string, number> = {};
  const count = (results: CreateTransferResult[]) => {
    for (const r of results) seen[r] = (seen[r] ?? 0) + 1;
  };

  for (let step = 0; step < steps; step++) {
    const context = `seed ${seed} step ${step}`;
    if (workload.int(4) === 0) {
      // Two batches at once on two connections; the outcome must equal one of the two serial orders.
      const a = Array.from({ length: 1 + workload.int(25) }, () => workload.transfer());
      const b = Array.from({ length: 1 + workload.int(25) }, () => workload.transfer());
      const [ra, rb] = await Promise.all([writer.createTransfers(a), writer.createTransfers(b)]);
      const ab = model.clone();
      const abResults = [ab.createBatch(a), ab.createBatch(b)];
      const ba = model.clone();
      const baResults = [[] as CreateTransferResult[], ba.createBatch(b)];
      baResults[0] = ba.createBatch(a);
      const matchesAb = JSON.stringify([ra, rb]) === JSON.stringify(abResults);
      const matchesBa = JSON.stringify([ra, rb]) === JSON.stringify(baResults);
      assert.ok(matchesAb || matchesBa, `${context}: concurrent batches match no serial order\n got ${JSON.stringify([ra, rb])}\n a,b ${JSON.stringify(abResults)}\n b,a ${JSON.stringify(baResults)}`);
      const chosen = matchesAb ? ab : ba;
      model.accounts = chosen.accounts;
      model.transfers = chosen.transfers;
      model.resolution = chosen.resolution;
      count(ra);
      count(rb);
    } else {
      const batch = Array.from({ length: 1 + workload.int(40) }, () => workload.transfer());
      const results = await writer.createTransfers(batch);
      const expected = model.createBatch(batch);
      assert.deepEqual(results, expected, `${context}: results`);
      count(results);
    }
    await assertAgrees(sql, model, context);
  }
  return seen;
}

/** LEDGER_SEED=<n> replays one seed; LEDGER_SEEDS=<first>-<last> sweeps a range. */
function seedsFromEnvironment(): number[] {
  const { LEDGER_SEED: one, LEDGER_SEEDS: range } = process.env;
  if (one !== undefined) return [Number(one)];
  if (range !== undefined) {
    const match = /^(\d+)-(\d+)$/.exec(range);
    assert.ok(match, `LEDGER_SEEDS must be <first>-<last>, not ${range}`);
    const [first, last] = [Number(match[1]), Number(match[2])];
    return Array.from({ length: last - first + 1 }, (_, i) => first + i);
  }
  return [1, 2, 3, 4, Date.now() % 1_000_000];
}

const seeds = seedsFromEnvironment();
const steps = Number(process.env.LEDGER_STEPS ?? 60);

async function runSeedForReplay(seed: number, stepCount: number): Promise<Record<string, number>> {
  try {
    return await runSeed(seed, stepCount);
  } catch (error) {
    (error as Error).message = `[replay with LEDGER_SEED=${seed} LEDGER_STEPS=${stepCount}] ${(error as Error).message}`;
    throw error;
  }
}

test('the Postgres ledger and the in-memory model agree on seeded random workloads', async (t) => {
  const seen: Record<string, number> = {};
  for (const seed of seeds) {
    await t.test(`seed ${seed}, ${steps} steps`, async () => {
      const counts = await runSeedForReplay(seed, steps);
      for (const [k, v] of Object.entries(counts)) seen[k] = (seen[k] ?? 0) + v;
    });
  }
  // The workload must actually exercise the outcomes it is meant to compare.
  for (const outcome of [
    'created', 'exists', 'exists_with_different_amount', 'exists_with_different_code', 'exists_with_different_flags',
    'accounts_must_be_different', 'amount_must_be_positive', 'debit_account_not_found', 'ledger_mismatch',
    'exceeds_credits', 'exceeds_debits', 'overflows_debits', 'pending_not_found', 'pending_transfer_not_pending',
    'pending_already_posted', 'pending_already_voided', 'exceeds_pending_transfer_amount',
  ]) {
    assert.ok((seen[outcome] ?? 0) > 0, `the workload never produced ${outcome}: ${JSON.stringify(seen)}`);
  }
});

// Issue 10: a batch read the credit account of a transfer (another transfer of the batch needed
// it for a limit) but not its debit account, and answered `overflows_credits` for a transfer
// whose debit side overflows first: TigerBeetle's precedence, and the model, say `overflows_debits`.
test('seed 848387 (60 steps): an overflow on both sides is named in TigerBeetle\'s order even when one account had no limit', async () => {
  const seen = await runSeedForReplay(848387, 60);
  assert.ok((seen.overflows_debits ?? 0) > 0, `the seed still produces overflows_debits: ${JSON.stringify(seen)}`);
});
