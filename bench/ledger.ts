// npm run bench:ledger — ledger write throughput with durable commits (synchronous_commit on).
//   spread:   batches of transfers between random accounts among 100,000
//   hot:      every transfer credits one hot account
//   baseline: the usual approach, one database transaction per posting (lock both accounts,
//             insert the transfer, update the two accounts, commit), on the same database
// Last line: {"bench":"ledger","transfers_per_s":…,"hot_transfers_per_s":…,"baseline_transfers_per_s":…,"ratio":…}

import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { benchDatabase, round, seededRandom } from './harness.ts';
import { createLedgerWriter } from '../src/ledger/transfers.ts';
import { ensureLedger } from '../src/ledger/accounts.ts';
import { checkInvariants } from '../src/ledger/invariants.ts';
import type { TransferInput } from '../src/ledger/types.ts';
import type { Sql } from '../src/db/client.ts';

const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 100_000);
const TRANSFERS = Number(process.env.BENCH_TRANSFERS ?? 200_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 20_000);
const BASELINE_SECONDS = Number(process.env.BENCH_BASELINE_SECONDS ?? 10);

const db = await benchDatabase('ledger');
const { sql } = db;
const writer = createLedgerWriter(sql);
const random = seededRandom(42);

const syncCommit = (await sql<{ synchronous_commit: string }[]>`show synchronous_commit`)[0]?.synchronous_commit;
const fsync = (await sql<{ fsync: string }[]>`show fsync`)[0]?.fsync;

const ledger = await ensureLedger(sql, { code: 'BENCH', chain: 'bench', asset: 'B', decimals: 8 });
const accountIds = await createAccounts(sql, ledger.id, ACCOUNTS);
const [hot] = await sql<{ id: bigint }[]>`insert into accounts (ledger, code, owner) values (${ledger.id}, 'hot', '') returning id`;

function pick(): bigint {
  return accountIds[Math.floor(random() * accountIds.length)] as bigint;
}

function spreadTransfer(): TransferInput {
  const debit = pick();
  let credit = pick();
  while (credit === debit) credit = pick();
  return { id: randomUUID(), debitAccountId: debit, creditAccountId: credit, amount: BigInt(1 + Math.floor(random() * 1e6)), ledger: ledger.id, code: 'bench' };
}

function hotTransfer(): TransferInput {
  return { id: randomUUID(), debitAccountId: pick(), creditAccountId: hot!.id, amount: BigInt(1 + Math.floor(random() * 1e6)), ledger: ledger.id, code: 'bench' };
}

async function runBatches(make: () => TransferInput): Promise<number> {
  const batches: TransferInput[][] = [];
  for (let done = 0; done < TRANSFERS; done += BATCH) {
    batches.push(Array.from({ length: Math.min(BATCH, TRANSFERS - done) }, make));
  }
  const started = performance.now();
  for (const batch of batches) {
    const results = await writer.createTransfers(batch);
    if (results.some((r) => r !== 'created')) throw new Error(`unexpected results ${results.find((r) => r !== 'created')}`);
  }
  return TRANSFERS / ((performance.now() - started) / 1000);
}

/** The usual approach: one transaction per posting. */
async function runBaseline(): Promise<{ perSecond: number; count: number }> {
  const deadline = performance.now() + BASELINE_SECONDS * 1000;
  const started = performance.now();
  let count = 0;
  while (performance.now() < deadline) {
    const t = spreadTransfer();
    const amount = t.amount as bigint;
    await sql.begin(async (tx) => {
      const locked = await tx<{ id: bigint; flags: number; debits_posted: bigint; credits_posted: bigint }[]>`
        select id, flags, debits_posted, credits_posted from accounts
        where id in (${t.debitAccountId.toString()}, ${t.creditAccountId.toString()}) order by id for update`;
      if (locked.length !== 2) throw new Error('account missing');
      await tx`insert into transfers (id, debit_account_id, credit_account_id, amount, ledger, code, flags)
        values (${t.id}, ${t.debitAccountId.toString()}, ${t.creditAccountId.toString()}, ${amount.toString()}, ${t.ledger}, ${t.code}, 0)`;
      await tx`update accounts set debits_posted = debits_posted + ${amount.toString()} where id = ${t.debitAccountId.toString()}`;
      await tx`update accounts set credits_posted = credits_posted + ${amount.toString()} where id = ${t.creditAccountId.toString()}`;
    });
    count += 1;
  }
  return { perSecond: count / ((performance.now() - started) / 1000), count };
}

async function createAccounts(db: Sql, ledgerId: number, count: number): Promise<bigint[]> {
  const rows = await db<{ id: bigint }[]>`
    insert into accounts (ledger, code, owner)
    select ${ledgerId}, 'user', 'u' || g from generate_series(1, ${count}) g
    returning id`;
  return rows.map((row) => row.id);
}

console.log(`# ledger bench: ${ACCOUNTS} accounts, ${TRANSFERS} transfers per run in batches of ${BATCH}; synchronous_commit=${syncCommit}, fsync=${fsync}`);
const spread = await runBatches(spreadTransfer);
console.log(`# spread: ${round(spread)} transfers/s`);
const hotRate = await runBatches(hotTransfer);
console.log(`# hot account: ${round(hotRate)} transfers/s`);
const baseline = await runBaseline();
console.log(`# baseline (one transaction per posting): ${round(baseline.perSecond)} transfers/s over ${baseline.count} postings`);
const violations = await checkInvariants(sql);
if (violations.length > 0) throw new Error(`invariants broken after the bench: ${JSON.stringify(violations.map((v) => v.invariant))}`);
await db.close();

console.log(JSON.stringify({
  bench: 'ledger',
  transfers_per_s: round(spread),
  hot_transfers_per_s: round(hotRate),
  baseline_transfers_per_s: round(baseline.perSecond),
  ratio: round(spread / baseline.perSecond, 2),
  accounts: ACCOUNTS,
  batch: BATCH,
  synchronous_commit: syncCommit,
}));
