// Catching up over 2,000 anvil blocks (40 batches) into the ledger, stopped between batches and
// restarted on the same database: every payment found once and posted, nothing duplicated. Prints
// the end-to-end catch-up rate (blocks/s from node to ledger) as a diagnostic line; throughput
// itself is measured by bench:evm, not here. The chain is sized so that building it (anvil mines
// empty blocks at a few hundred a second, ten on a loaded 2-core machine) does not dominate, and
// the waits follow the scanner's progress rather than a fixed deadline.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { anvilSkipReason } from '../helpers/anvil.ts';
import { startEvmTestChain, type EvmTestChain } from '../helpers/evm-chain.ts';
import { startTestEngine, type TestEngine } from '../helpers/engine.ts';
import { waitFor } from '../helpers/wait.ts';
import { checkInvariants, formatViolations } from '../../src/ledger/invariants.ts';
import type { ChainRuntime } from '../../src/scan/runtime.ts';

const skip = anvilSkipReason();
const BLOCKS = 2_000;
const PAYMENTS = 20;
const BATCH_BLOCKS = 50;
/** A catch-up that makes no progress for this long has stalled. */
const STALL_MS = 60_000;
/** The bound on each half of the catch-up however steadily it advances: it cannot hang the run. */
const HALF_MS_MAX = 15 * 60_000;
let chain: EvmTestChain | undefined;
let settle: TestEngine | undefined;
if (skip === undefined) chain = await startEvmTestChain();

after(async () => {
  await settle?.stop();
  await chain?.anvil.stop();
});

// The test-level timeout is only a guard against a hang outside the waits below (building the chain).
test(`catch-up over ${BLOCKS} blocks, stopped and restarted between batches, finds every payment once`, { skip, timeout: 45 * 60_000 }, async () => {
  const anvil = chain!.anvil;
  const startHeight = (await anvil.blockNumber()) + 1;
  const overrides = { chains: chain!.config({ startHeight, batchBlocksMax: BATCH_BLOCKS, prefetchBlocksMax: 2 * BATCH_BLOCKS, pollIntervalMs: 50, addressLookAhead: PAYMENTS + 5 }) };
  settle = await startTestEngine(import.meta.filename, overrides);
  let runtime = settle.engine.chains.chains.get('eth') as ChainRuntime;
  const addresses: string[] = [];
  for (let i = 0; i < PAYMENTS; i++) addresses.push((await settle.engine.chains.addressPool.assign(runtime.keySpec!, { chain: 'eth', owner: 'm-catchup' })).address);
  // Keep the scanner away while the chain is built: stop it, build, then catch up from startHeight.
  await settle.stop();
  const amounts = addresses.map((_, i) => BigInt(1_000_000 + i));
  for (let i = 0; i < PAYMENTS; i++) {
    await chain!.payToken(addresses[i] as string, amounts[i] as bigint);
    await anvil.mine(BLOCKS / PAYMENTS - 2);
  }
  const head = await anvil.blockNumber();
  const blocks = head - startHeight + 1;
  assert.ok(blocks >= BLOCKS);

  const started = performance.now();
  settle = await startTestEngine(import.meta.filename, overrides, settle.db);
  runtime = settle.engine.chains.chains.get('eth') as ChainRuntime;
  const halfway = startHeight + Math.floor(blocks / 2);
  const scanned = () => runtime.scanner.status().tip?.height ?? 0;
  await waitFor(() => scanned() >= halfway, { what: `half the catch-up (height ${halfway})`, progress: scanned, timeoutMs: STALL_MS, totalTimeoutMs: HALF_MS_MAX });
  await settle.stop(); // between batches: shutdown waits for the batch in flight to commit
  const stoppedAt = runtime.scanner.status().tip?.height ?? 0;
  assert.ok(stoppedAt < head, 'stopped before the end');

  settle = await startTestEngine(import.meta.filename, overrides, settle.db);
  runtime = settle.engine.chains.chains.get('eth') as ChainRuntime;
  await waitFor(() => scanned() >= head, { what: `the catch-up to finish (height ${head})`, progress: scanned, timeoutMs: STALL_MS, totalTimeoutMs: HALF_MS_MAX });
  const seconds = (performance.now() - started) / 1000;
  console.log(`# evm catch-up: ${blocks} blocks from anvil into the ledger in ${seconds.toFixed(1)} s (${Math.round(blocks / seconds)} blocks/s, one restart)`);

  const rows = await settle.db.sql<{ amount: bigint; live: bigint; confirmed: bigint }[]>`
    select amount, count(*) filter (where orphaned_at is null) as live, count(*) filter (where confirmed_at is not null) as confirmed
    from payments where owner = 'm-catchup' group by txid, position, amount order by amount`;
  assert.deepEqual(rows.map((r) => r.amount), amounts);
  assert.ok(rows.every((r) => r.live === 1n && r.confirmed === 1n), 'each payment once, and posted');
  const violations = await checkInvariants(settle.db.sql);
  assert.equal(violations.length, 0, formatViolations(violations));
});
