import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testDatabase } from '../helpers/db.ts';
import { createLedgerWriter, TRANSFERS_PER_BATCH_MAX } from '../../src/ledger/transfers.ts';
import { ensureAccounts, ensureLedger, getAccounts } from '../../src/ledger/accounts.ts';
import { checkInvariants } from '../../src/ledger/invariants.ts';
import { transferId } from '../../src/ledger/ids.ts';
import type { TransferInput } from '../../src/ledger/types.ts';

const { sql } = await testDatabase(import.meta.filename);
const writer = createLedgerWriter(sql);

let counter = 0;
async function fixture(decimals = 8) {
  counter += 1;
  const ledger = await ensureLedger(sql, { code: `T${counter}`, chain: 'test', asset: 'T', decimals });
  const [world, merchant, suspense] = await ensureAccounts(sql, [
    { ledger: ledger.id, code: 'world' },
    { ledger: ledger.id, code: 'merchant', owner: 'm1', flags: ['debits_must_not_exceed_credits'] },
    { ledger: ledger.id, code: 'suspense' },
  ]);
  const id = (...parts: string[]) => transferId(`T${counter}`, ...parts);
  const base = (over: Partial<TransferInput> & { id: string }): TransferInput => ({
    debitAccountId: world as bigint, creditAccountId: merchant as bigint, amount: 100n, ledger: ledger.id, code: 'deposit', ...over,
  });
  return { ledger: ledger.id, world: world as bigint, merchant: merchant as bigint, suspense: suspense as bigint, id, base };
}

async function totals(id: bigint) {
  const [account] = await getAccounts(sql, [id]);
  assert.ok(account);
  return [account.debitsPending, account.debitsPosted, account.creditsPending, account.creditsPosted];
}

async function assertInvariants() {
  assert.deepEqual(await checkInvariants(sql), []);
}

test('a single transfer posts at once and a re-submission is `exists`, never counted twice', async () => {
  const f = await fixture();
  const t = f.base({ id: f.id('a') });
  assert.deepEqual(await writer.createTransfers([t]), ['created']);
  assert.deepEqual(await writer.createTransfers([t, { ...t }]), ['exists', 'exists']);
  assert.deepEqual(await totals(f.world), [0n, 100n, 0n, 0n]);
  assert.deepEqual(await totals(f.merchant), [0n, 0n, 0n, 100n]);
  await assertInvariants();
});

test('a re-submission that differs names the first differing field and changes nothing', async () => {
  const f = await fixture();
  const t = f.base({ id: f.id('a'), reference: 'payment:1' });
  await writer.createTransfers([t]);
  const results = await writer.createTransfers([
    { ...t, amount: 101n },
    { ...t, code: 'payout' },
    { ...t, reference: 'payment:2' },
    { ...t, flags: 'pending' },
    { ...t, debitAccountId: f.suspense },
    { ...t, creditAccountId: f.suspense },
  ]);
  assert.deepEqual(results, [
    'exists_with_different_amount',
    'exists_with_different_code',
    'exists_with_different_reference',
    'exists_with_different_flags',
    'exists_with_different_debit_account_id',
    'exists_with_different_credit_account_id',
  ]);
  assert.deepEqual(await totals(f.merchant), [0n, 0n, 0n, 100n]);
  const [row] = await sql<{ count: bigint }[]>`select count(*) as count from transfers where ledger = ${f.ledger}`;
  assert.equal(row?.count, 1n);
});

test('shape errors are results, not exceptions, and create nothing', async () => {
  const f = await fixture();
  const other = await fixture();
  const results = await writer.createTransfers([
    f.base({ id: f.id('same'), creditAccountId: f.world }),
    f.base({ id: f.id('zero'), amount: 0n }),
    f.base({ id: f.id('neg'), amount: -1n }),
    f.base({ id: f.id('nodebit'), debitAccountId: 987_654_321n }),
    f.base({ id: f.id('nocredit'), creditAccountId: 987_654_321n }),
    f.base({ id: f.id('cross'), creditAccountId: other.merchant }),
    f.base({ id: f.id('wrongledger'), ledger: other.ledger }),
    f.base({ id: f.id('pid'), pendingId: f.id('x') }),
    f.base({ id: f.id('post'), flags: 'post_pending' }),
    f.base({ id: f.id('nocode'), code: '' }),
  ]);
  assert.deepEqual(results, [
    'accounts_must_be_different', 'amount_must_be_positive', 'amount_must_be_positive', 'debit_account_not_found',
    'credit_account_not_found', 'ledger_mismatch', 'ledger_mismatch', 'pending_id_must_be_empty', 'pending_id_required', 'code_required',
  ]);
  assert.deepEqual(await totals(f.world), [0n, 0n, 0n, 0n]);
});

test('debits_must_not_exceed_credits allows spending exactly the balance and refuses one unit more', async () => {
  const f = await fixture();
  await writer.createTransfers([f.base({ id: f.id('in'), amount: 500n })]);
  const out = (id: string, amount: bigint, flags?: 'pending') =>
    f.base({ id: f.id(id), debitAccountId: f.merchant, creditAccountId: f.world, amount, code: 'payout', flags });
  assert.deepEqual(await writer.createTransfers([out('reserve', 200n, 'pending'), out('over', 301n), out('exact', 300n), out('one', 1n)]), [
    'created', 'exceeds_credits', 'created', 'exceeds_credits',
  ]);
  assert.deepEqual(await totals(f.merchant), [200n, 300n, 0n, 500n]);
  await assertInvariants();
});

test('posting a pending transfer may post less than was pending and releases the rest', async () => {
  const f = await fixture();
  const pending = f.base({ id: f.id('p'), flags: 'pending', amount: 1000n });
  const post = { id: f.id('post'), debitAccountId: 0n, creditAccountId: 0n, ledger: 0, code: 'confirm', flags: 'post_pending' as const, pendingId: pending.id, amount: 700n };
  assert.deepEqual(await writer.createTransfers([pending]), ['created']);
  assert.deepEqual(await totals(f.merchant), [0n, 0n, 1000n, 0n]);
  assert.deepEqual(await writer.createTransfers([{ ...post, amount: 1001n }]), ['exceeds_pending_transfer_amount']);
  assert.deepEqual(await writer.createTransfers([post]), ['created']);
  assert.deepEqual(await totals(f.merchant), [0n, 0n, 0n, 700n]);
  assert.deepEqual(await totals(f.world), [0n, 700n, 0n, 0n]);
  const again = await writer.createTransfers([
    post,
    { ...post, id: f.id('post2') },
    { ...post, id: f.id('void'), flags: 'void_pending', amount: undefined },
  ]);
  assert.deepEqual(again, ['exists', 'pending_already_posted', 'pending_already_posted']);
  await assertInvariants();
});

test('voiding releases the whole pending amount and only once', async () => {
  const f = await fixture();
  const pending = f.base({ id: f.id('p'), flags: 'pending', amount: 250n });
  const voiding = { id: f.id('v'), debitAccountId: 0n, creditAccountId: 0n, ledger: 0, code: 'reorg', flags: 'void_pending' as const, pendingId: pending.id };
  assert.deepEqual(await writer.createTransfers([pending, { ...voiding, amount: 100n }, voiding, { ...voiding, id: f.id('v2') }, { ...voiding, id: f.id('p2'), flags: 'post_pending' as const }]), [
    'created', 'pending_transfer_has_different_amount', 'created', 'pending_already_voided', 'pending_already_voided',
  ]);
  assert.deepEqual(await totals(f.merchant), [0n, 0n, 0n, 0n]);
  const [row] = await sql<{ amount: bigint }[]>`select amount from transfers where id = ${voiding.id}`;
  assert.equal(row?.amount, 250n, 'a void records the amount it released');
  await assertInvariants();
});

test('a post or void checks the pending transfer it names', async () => {
  const f = await fixture();
  const single = f.base({ id: f.id('s') });
  const pending = f.base({ id: f.id('p'), flags: 'pending' });
  await writer.createTransfers([single, pending]);
  const post = (over: Partial<TransferInput>): TransferInput => ({
    id: f.id(`post-${JSON.stringify(over, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`),
    debitAccountId: 0n, creditAccountId: 0n, ledger: 0, code: 'confirm', flags: 'post_pending', pendingId: pending.id, ...over,
  });
  assert.deepEqual(await writer.createTransfers([
    post({ pendingId: f.id('missing') }),
    post({ pendingId: single.id }),
    post({ debitAccountId: f.suspense }),
    post({ creditAccountId: f.suspense }),
    post({ ledger: 999 }),
    post({ amount: 0n }),
    post({ id: pending.id }),
    post({ debitAccountId: f.world, creditAccountId: f.merchant, ledger: f.ledger }),
  ]), [
    'pending_not_found', 'pending_transfer_not_pending', 'pending_transfer_has_different_debit_account_id',
    'pending_transfer_has_different_credit_account_id', 'pending_transfer_has_different_ledger', 'amount_must_be_positive',
    'id_must_not_be_pending_id', 'created',
  ]);
  await assertInvariants();
});

test('one batch can create a pending transfer and post it; a duplicate id in the batch is `exists`', async () => {
  const f = await fixture();
  const pending = f.base({ id: f.id('p'), flags: 'pending', amount: 40n });
  const results = await writer.createTransfers([
    pending,
    pending,
    { id: f.id('post'), debitAccountId: 0n, creditAccountId: 0n, ledger: 0, code: 'confirm', flags: 'post_pending', pendingId: pending.id },
  ]);
  assert.deepEqual(results, ['created', 'exists', 'created']);
  assert.deepEqual(await totals(f.merchant), [0n, 0n, 0n, 40n]);
});

test('amounts up to 78 digits are exact; a total past numeric(78,0) is refused as an overflow', async () => {
  const f = await fixture(18);
  const huge = 10n ** 77n * 6n;
  assert.deepEqual(await writer.createTransfers([f.base({ id: f.id('a'), amount: huge }), f.base({ id: f.id('b'), amount: huge })]), ['created', 'overflows_debits']);
  assert.deepEqual(await totals(f.merchant), [0n, 0n, 0n, huge]);
});

// Overflow tests: 9·10^77 twice passes numeric(78,0) (10^78 − 1).
const NEAR_MAX = 10n ** 77n * 9n;

async function plainAccounts(ledger: number, count: number): Promise<bigint[]> {
  return ensureAccounts(sql, Array.from({ length: count }, (_, i) => ({ ledger, code: 'user', owner: `plain${i}` })));
}

test('overflows are named in TigerBeetle\'s order: pending totals, posted totals, then sums, debit before credit at each step', async () => {
  const f = await fixture(18);
  const [d1, c1, d2, c2, d3, c3, ...others] = await plainAccounts(f.ledger, 12) as bigint[] as [bigint, bigint, bigint, bigint, bigint, bigint, ...bigint[]];
  const move = (name: string, debit: bigint, credit: bigint, flags?: 'pending') =>
    f.base({ id: f.id(name), debitAccountId: debit, creditAccountId: credit, amount: NEAR_MAX, flags });
  const other = (i: number) => others[i] as bigint;
  assert.deepEqual(await writer.createTransfers([
    move('d1-posted', d1, other(0)), move('c1-pending', other(1), c1, 'pending'),
    move('d2-pending', d2, other(2), 'pending'), move('c2-posted', other(3), c2),
    move('d3-posted', d3, other(4)), move('c3-posted', other(5), c3),
  ]), Array(6).fill('created'));
  assert.deepEqual(await writer.createTransfers([
    // Pending: c1's pending total overflows before d1's posted total and sum are looked at.
    move('t1', d1, c1, 'pending'),
    // Single: c2's posted total overflows before d2's sum (its pending part) is looked at.
    move('t2', d2, c2),
    // Single: both posted totals overflow; the debit side comes first.
    move('t3', d3, c3),
  ]), ['overflows_credits', 'overflows_credits', 'overflows_debits']);
  await assertInvariants();
});

test('a transfer overflowing both sides is overflows_debits even when only its credit account is read for another transfer\'s limit', async () => {
  const f = await fixture(18);
  const [sink, source] = await plainAccounts(f.ledger, 2) as [bigint, bigint];
  assert.deepEqual(await writer.createTransfers([
    f.base({ id: f.id('world-debits'), debitAccountId: f.world, creditAccountId: sink, amount: NEAR_MAX }),
    f.base({ id: f.id('merchant-credits'), debitAccountId: source, creditAccountId: f.merchant, amount: NEAR_MAX }),
  ]), ['created', 'created']);
  assert.deepEqual(await writer.createTransfers([
    // The merchant's limit on debits makes the writer read the merchant's totals…
    f.base({ id: f.id('payout'), debitAccountId: f.merchant, creditAccountId: f.suspense, amount: 1n, code: 'payout' }),
    // …but the world account (no limit) would overflow first.
    f.base({ id: f.id('both'), debitAccountId: f.world, creditAccountId: f.merchant, amount: NEAR_MAX }),
  ]), ['created', 'overflows_debits']);
  assert.deepEqual(await totals(f.world), [0n, NEAR_MAX, 0n, 0n]);
  await assertInvariants();
});

test('a transfer that overflows before a later release in the same batch is refused, though the batch\'s final totals fit', async () => {
  const f = await fixture(18);
  const [a, b, c] = await plainAccounts(f.ledger, 3) as [bigint, bigint, bigint];
  const pending = f.base({ id: f.id('p'), debitAccountId: a, creditAccountId: b, amount: NEAR_MAX, flags: 'pending' });
  const release = (name: string, pendingId: string) =>
    ({ id: f.id(name), debitAccountId: 0n, creditAccountId: 0n, ledger: 0, code: 'reorg', flags: 'void_pending' as const, pendingId });
  assert.deepEqual(await writer.createTransfers([pending]), ['created']);
  // a's debits: 9·10^77 pending, so one more 9·10^77 overflows until the void releases it.
  assert.deepEqual(await writer.createTransfers([
    f.base({ id: f.id('too-early'), debitAccountId: a, creditAccountId: c, amount: NEAR_MAX }),
    release('void', pending.id),
  ]), ['overflows_debits', 'created']);
  assert.deepEqual(await totals(a), [0n, 0n, 0n, 0n]);
  // The same with the pending transfer created in the batch itself.
  const inBatch = f.base({ id: f.id('p2'), debitAccountId: a, creditAccountId: b, amount: NEAR_MAX, flags: 'pending' });
  assert.deepEqual(await writer.createTransfers([
    inBatch,
    f.base({ id: f.id('too-early-2'), debitAccountId: a, creditAccountId: c, amount: NEAR_MAX }),
    release('void-2', inBatch.id),
    f.base({ id: f.id('after'), debitAccountId: a, creditAccountId: c, amount: NEAR_MAX }),
  ]), ['created', 'overflows_debits', 'created', 'created']);
  assert.deepEqual(await totals(a), [0n, NEAR_MAX, 0n, 0n]);
  await assertInvariants();
});

test('transfers are append-only: UPDATE, DELETE and TRUNCATE are refused by the database', async () => {
  const f = await fixture();
  await writer.createTransfers([f.base({ id: f.id('a') })]);
  await assert.rejects(sql`update transfers set amount = 1 where ledger = ${f.ledger}`, /append-only/);
  await assert.rejects(sql`delete from transfers where ledger = ${f.ledger}`, /append-only/);
  await assert.rejects(sql`truncate transfers cascade`, /append-only/);
  await assert.rejects(sql`delete from accounts where id = ${f.world.toString()}`, /append-only/);
});

test('concurrent batches over shared accounts never deadlock and lose nothing', async () => {
  const f = await fixture();
  const extra = await ensureAccounts(sql, Array.from({ length: 30 }, (_, i) => ({ ledger: f.ledger, code: 'user', owner: `u${i}` })));
  const writers = 8;
  const rounds = 6;
  let expectedTotal = 0n;
  const batches: TransferInput[][] = [];
  for (let w = 0; w < writers; w++) {
    for (let r = 0; r < rounds; r++) {
      const batch: TransferInput[] = [];
      // Each writer walks the shared accounts in a different order: a naive writer would deadlock.
      const order = w % 2 === 0 ? [...extra] : [...extra].reverse();
      for (const [i, account] of order.entries()) {
        batch.push(f.base({ id: f.id(`w${w}r${r}i${i}`), debitAccountId: f.world, creditAccountId: account, amount: BigInt(1 + i) }));
        expectedTotal += BigInt(1 + i);
      }
      batches.push(batch);
    }
  }
  const results = await Promise.all(batches.map((batch) => writer.createTransfers(batch)));
  assert.ok(results.every((r) => r.every((x) => x === 'created')));
  assert.deepEqual(await totals(f.world), [0n, expectedTotal, 0n, 0n]);
  await assertInvariants();
});

test('applyTransfers() joins the caller\'s transaction: a rollback leaves no trace', async () => {
  const f = await fixture();
  await assert.rejects(
    sql.begin(async (tx) => {
      assert.deepEqual(await writer.applyTransfers(tx, [f.base({ id: f.id('a') })]), ['created']);
      throw new Error('the block failed to apply');
    }),
    /the block failed to apply/,
  );
  assert.deepEqual(await totals(f.merchant), [0n, 0n, 0n, 0n]);
  assert.deepEqual(await writer.createTransfers([f.base({ id: f.id('a') })]), ['created']);
});

test('a batch above the bound is a programmer error', async () => {
  const f = await fixture();
  const batch = Array.from({ length: TRANSFERS_PER_BATCH_MAX + 1 }, (_, i) => f.base({ id: f.id(String(i)) }));
  await assert.rejects(writer.createTransfers(batch), /at most/);
});

test('the invariant check names each broken invariant with the accounts involved', async () => {
  const f = await fixture();
  await writer.createTransfers([f.base({ id: f.id('a') })]);
  assert.deepEqual(await checkInvariants(sql), []);
  // Corrupt a total behind the ledger's back, as a buggy writer would.
  await sql`update accounts set credits_posted = credits_posted + 1 where id = ${f.merchant.toString()}`;
  const violations = await checkInvariants(sql);
  const kinds = violations.map((v) => v.invariant).sort();
  assert.deepEqual(kinds, ['account_totals_mismatch', 'ledger_unbalanced']);
  assert.ok(violations.find((v) => v.invariant === 'account_totals_mismatch')?.accountIds.includes(f.merchant));
  await sql`update accounts set credits_posted = credits_posted - 1 where id = ${f.merchant.toString()}`;
  assert.deepEqual(await checkInvariants(sql), []);
});
