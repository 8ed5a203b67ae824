// Killing Settle (SIGKILL, no shutdown) in the middle of a catch-up from litecoind and starting it
// again loses no payment and counts none twice: blocks, payments, transfers and the cursor commit
// in one transaction per batch, and transfer ids derive from the payment.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { litecoindAvailable } from '../helpers/litecoind.ts';
import { litecoindSkipReason, startLtcTestChain, type LtcTestChain } from '../helpers/ltc-chain.ts';
import { testDatabase } from '../helpers/db.ts';
import { waitFor } from '../helpers/wait.ts';
import { loadConfig } from '../../src/config.ts';
import { createAddressPool } from '../../src/addresses/pool.ts';
import { createFamilyKeySpec } from '../../src/chains/families.ts';
import { checkInvariants, formatViolations } from '../../src/ledger/invariants.ts';

const BIN = fileURLToPath(new URL('../../bin/settle.mjs', import.meta.url));
const skip = litecoindSkipReason(litecoindAvailable());
const ltc: LtcTestChain | undefined = skip === undefined ? await startLtcTestChain() : undefined;
const db = await testDatabase(import.meta.filename);
const children: ChildProcess[] = [];

after(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await ltc?.node.stop();
});

function startSettle(configFile: string): ChildProcess {
  const child = spawn(process.execPath, [BIN, 'start', '--config', configFile], { stdio: ['ignore', 'ignore', 'inherit'], env: { PATH: process.env.PATH ?? '' } });
  children.push(child);
  return child;
}

async function appliedBlocks(): Promise<number> {
  const [row] = await db.sql<{ n: bigint }[]>`select count(*) as n from chain_blocks where chain = 'ltc' and orphaned_at is null`;
  return Number(row?.n ?? 0n);
}

// The test-level timeout only guards against a hang outside the waits (building the chain).
test('SIGKILL between batches of a catch-up, then a restart: every payment once, none lost', { skip, timeout: 30 * 60_000 }, async () => {
  const node = ltc!.node;
  const startHeight = (await node.height()) + 1;
  const chains = ltc!.config({ batchBlocksMax: 4, startHeight, pollIntervalMs: 100 });
  const settings = { database: { url: db.url }, http: { port: 0 }, log: { level: 'warn' as const }, chains };
  const configFile = join(mkdtempSync(join(tmpdir(), 'settle-restart-')), 'settle.json');
  writeFileSync(configFile, JSON.stringify(settings));

  // The deposit addresses exist (derived, stored, assigned) before any block pays them.
  const config = loadConfig({ env: {}, file: configFile });
  const keySpec = createFamilyKeySpec(config.chains.ltc!);
  assert.ok(keySpec !== undefined);
  const pool = createAddressPool(db.sql, pino({ level: 'silent' }));
  await pool.refill({ ...keySpec, lookAhead: 40 });
  const payments: Array<{ address: string; amount: bigint }> = [];
  for (let i = 0; i < 30; i++) {
    const { address } = await pool.assign(keySpec, { chain: 'ltc', owner: 'm-restart' });
    const amount = BigInt(1_000_000 + i * 10_000);
    await node.send(address, (Number(amount) / 1e8).toFixed(8));
    await node.mine(1);
    payments.push({ address, amount });
  }
  // Stay below height 431: past it litecoind needs an MWEB peg-in to mine the activation block.
  await node.mine(250);
  const tip = await node.height();
  const blocksTotal = tip - startHeight + 1;

  const first = startSettle(configFile);
  await waitFor(async () => (await appliedBlocks()) >= 8, { what: 'the first batches' });
  first.kill('SIGKILL');
  await new Promise((resolve) => first.once('exit', resolve));
  const appliedAtKill = await appliedBlocks();
  assert.ok(appliedAtKill < blocksTotal, `killed mid catch-up (${appliedAtKill} of ${blocksTotal} blocks applied)`);

  const second = startSettle(configFile);
  // Waited for by its progress: a slow machine gets the time it needs, a stalled catch-up fails.
  await waitFor(async () => (await appliedBlocks()) === blocksTotal, {
    what: `the catch-up to finish after the restart (${blocksTotal} blocks)`, progress: appliedBlocks, timeoutMs: 60_000, totalTimeoutMs: 20 * 60_000,
  });
  second.kill('SIGTERM');
  await waitFor(() => second.exitCode !== null || second.signalCode !== null, { what: 'settle to exit on SIGTERM' });

  const rows = await db.sql<{ txid: string; position: number; live: bigint; confirmed: bigint }[]>`
    select txid, position, count(*) filter (where orphaned_at is null) as live, count(*) filter (where confirmed_at is not null) as confirmed
    from payments where owner = 'm-restart' group by txid, position`;
  assert.equal(rows.length, payments.length, 'every payment found');
  assert.ok(rows.every((r) => r.live === 1n && r.confirmed === 1n), 'each exactly once, and posted');
  const [account] = await db.sql<{ posted: bigint; pending: bigint }[]>`
    select credits_posted as posted, credits_pending as pending from accounts where code = 'merchant' and owner = 'm-restart'`;
  assert.equal(account?.posted, payments.reduce((sum, p) => sum + p.amount, 0n));
  assert.equal(account?.pending, 0n);
  const violations = await checkInvariants(db.sql);
  assert.equal(violations.length, 0, formatViolations(violations));
});
