// Catching up from litecoind regtest into the ledger: 300 blocks, a payment to a deposit address in
// every tenth, through the REST block fetch, the worker pool and the applier. Prints the
// end-to-end rate (node → ledger) as a diagnostic line.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { litecoindAvailable } from '../helpers/litecoind.ts';
import { litecoindSkipReason, startLtcTestChain, type LtcTestChain } from '../helpers/ltc-chain.ts';
import { startTestEngine, type TestEngine } from '../helpers/engine.ts';
import { waitFor } from '../helpers/wait.ts';
import type { ChainRuntime } from '../../src/scan/runtime.ts';

const skip = litecoindSkipReason(litecoindAvailable());
let ltc: LtcTestChain | undefined;
let settle: TestEngine | undefined;
after(async () => {
  await settle?.stop();
  await ltc?.node.stop();
});
if (skip === undefined) ltc = await startLtcTestChain();

// The test-level timeout only guards against a hang outside the waits (building the chain).
test('a catch-up of 300 blocks from litecoind finds every payment, once', { skip, timeout: 30 * 60_000 }, async () => {
  const node = ltc!.node;
  const startHeight = (await node.height()) + 1;
  const overrides = { chains: ltc!.config({ startHeight, batchBlocksMax: 100, prefetchBlocksMax: 64, addressLookAhead: 40 }) };
  settle = await startTestEngine(import.meta.filename, overrides);
  const runtime = settle.engine.chains.chains.get('ltc') as ChainRuntime;
  const addresses: string[] = [];
  for (let i = 0; i < 30; i++) addresses.push((await settle.engine.chains.addressPool.assign(runtime.keySpec!, { chain: 'ltc', owner: 'm-ltc-catchup' })).address);
  await settle.stop();
  for (const address of addresses) {
    await node.send(address, '0.01');
    await node.mine(10);
  }
  const head = await node.height();
  settle = await startTestEngine(import.meta.filename, overrides, settle.db);
  const started = performance.now();
  const restarted = settle.engine.chains.chains.get('ltc') as ChainRuntime;
  // Waited for by its progress: a slow machine gets the time it needs, a stalled catch-up fails.
  const scanned = () => restarted.scanner.status().tip?.height ?? 0;
  await waitFor(() => scanned() >= head, { what: `the catch-up to height ${head}`, progress: scanned, timeoutMs: 60_000, totalTimeoutMs: 20 * 60_000 });
  const seconds = (performance.now() - started) / 1000;
  const blocks = head - startHeight + 1;
  console.log(`# ltc catch-up: ${blocks} regtest blocks from litecoind (REST) into the ledger in ${seconds.toFixed(1)} s (${Math.round(blocks / seconds)} blocks/s, from the engine's start to the head)`);
  const [row] = await settle.db.sql<{ n: bigint; confirmed: bigint }[]>`
    select count(*) as n, count(*) filter (where confirmed_at is not null) as confirmed from payments where owner = 'm-ltc-catchup' and orphaned_at is null`;
  assert.equal(row?.n, 30n);
  assert.equal(row?.confirmed, 30n);
});
