// The UTXO scanner end to end against a real litecoind regtest node: a payment to a derived
// address goes pending, then posted at the confirmation threshold; a reorg voids it and it is
// re-detected in its new block with nothing counted twice; a posted one is reversed; blocks past
// MWEB activation (HogEx and the extension block) scan. (A reorg past reorgDepthMax: deep-reorg.test.ts.)
// The ledger invariants are checked after every scenario.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { litecoindAvailable } from '../helpers/litecoind.ts';
import { litecoindSkipReason, startLtcTestChain, type LtcTestChain } from '../helpers/ltc-chain.ts';
import { startTestEngine, type TestEngine } from '../helpers/engine.ts';
import { waitFor } from '../helpers/wait.ts';
import { checkInvariants, formatViolations } from '../../src/ledger/invariants.ts';
import type { ChainRuntime } from '../../src/scan/runtime.ts';

const skip = litecoindSkipReason(litecoindAvailable());
let ltc: LtcTestChain | undefined;
let settle: TestEngine | undefined;
let runtime: ChainRuntime;
after(async () => {
  await settle?.stop();
  await ltc?.node.stop();
});

if (skip === undefined) {
  ltc = await startLtcTestChain();
  settle = await startTestEngine(import.meta.filename, { chains: ltc?.config() });
  runtime = settle.engine.chains.chains.get('ltc') as ChainRuntime;
}


interface PaymentRow { txid: string; height: bigint; block_hash: string; amount: bigint; confirmed_at: Date | null; orphaned_at: Date | null; owner: string | null }

async function paymentsTo(address: string): Promise<PaymentRow[]> {
  return settle!.db.sql<PaymentRow[]>`
    select txid, height, block_hash, amount, confirmed_at, orphaned_at, owner from payments where address = ${address} order by seen_at, height`;
}

async function merchantTotals(owner: string): Promise<{ pending: bigint; posted: bigint }> {
  const [row] = await settle!.db.sql<{ pending: bigint | null; posted: bigint | null }[]>`
    select sum(credits_pending) as pending, sum(credits_posted - debits_posted) as posted from accounts where code = 'merchant' and owner = ${owner}`;
  return { pending: row?.pending ?? 0n, posted: row?.posted ?? 0n };
}

async function scannedTo(height: number): Promise<void> {
  await waitFor(async () => ((runtime.scanner.status().tip?.height ?? -1) >= height ? true : undefined), { what: `the scanner to reach ${height}` });
}

async function assertLedgerConsistent(): Promise<void> {
  const violations = await checkInvariants(settle!.db.sql);
  assert.equal(violations.length, 0, formatViolations(violations));
}

async function depositAddress(owner: string): Promise<string> {
  assert.ok(runtime.keySpec !== undefined);
  const assigned = await settle!.engine.chains.addressPool.assign(runtime.keySpec, { chain: 'ltc', owner, reference: `test:${owner}` });
  assert.match(assigned.address, /^rltc1q[0-9a-z]{38}$/);
  return assigned.address;
}

test('a payment to a derived address is pending, then posted at the confirmation threshold', { skip }, async () => {
  const node = ltc!.node;
  const address = await depositAddress('m-basic');
  const txid = await node.send(address, '1.25');
  const [block] = await node.mine(1);
  const height = await node.height();
  await scannedTo(height);
  const [pending] = await waitFor(async () => {
    const rows = await paymentsTo(address);
    return rows.length > 0 ? rows : undefined;
  }, { what: 'the payment' });
  assert.equal(pending?.txid, txid);
  assert.equal(pending?.block_hash, block);
  assert.equal(pending?.amount, 125_000_000n);
  assert.equal(pending?.confirmed_at, null);
  assert.deepEqual(await merchantTotals('m-basic'), { pending: 125_000_000n, posted: 0n });

  await node.mine(1); // 2 confirmations: still pending
  await scannedTo(height + 1);
  assert.equal((await paymentsTo(address))[0]?.confirmed_at, null);
  await node.mine(1); // 3 confirmations: posted
  await scannedTo(height + 2);
  await waitFor(async () => ((await paymentsTo(address))[0]?.confirmed_at !== null ? true : undefined), { what: 'the payment to be posted' });
  assert.deepEqual(await merchantTotals('m-basic'), { pending: 0n, posted: 125_000_000n });
  await assertLedgerConsistent();
});

test('a reorg voids the payment, which is re-detected in its new block, counted once', { skip }, async () => {
  const node = ltc!.node;
  const address = await depositAddress('m-reorg');
  const txid = await node.send(address, '0.5');
  const [oldBlock] = await node.mine(1);
  await scannedTo(await node.height());
  await waitFor(async () => ((await paymentsTo(address)).length === 1 ? true : undefined), { what: 'the payment' });
  assert.deepEqual(await merchantTotals('m-reorg'), { pending: 50_000_000n, posted: 0n });

  // Take the block out; the transaction goes back to the mempool. Mine a competing chain to
  // another address (so its blocks differ), one block longer: it includes the transaction again.
  await node.call('invalidateblock', [oldBlock]);
  const other = await node.newAddress('legacy');
  await node.mine(2, other);
  const tip = await node.height();
  await scannedTo(tip);
  const rows = await waitFor(async () => {
    const found = await paymentsTo(address);
    return found.length === 2 ? found : undefined;
  }, { what: 'the re-detected payment' });
  const [orphaned, live] = rows;
  assert.equal(orphaned?.block_hash, oldBlock);
  assert.notEqual(orphaned?.orphaned_at, null);
  assert.equal(live?.txid, txid);
  assert.notEqual(live?.block_hash, oldBlock);
  assert.equal(live?.orphaned_at, null);
  // The old pending transfer is voided and the new one pending: the coins count once.
  assert.deepEqual(await merchantTotals('m-reorg'), { pending: 50_000_000n, posted: 0n });
  const [reorgs] = await settle!.db.sql<{ n: bigint }[]>`select count(*) as n from chain_blocks where chain = 'ltc' and orphaned_at is not null and hash = ${oldBlock as string}`;
  assert.equal(reorgs?.n, 1n, 'the orphaned block is flagged, not deleted');
  const metrics = await settle!.common.metrics.getSingleMetricAsString('settle_scanner_reorgs_total');
  assert.match(metrics, /settle_scanner_reorgs_total\{chain="ltc"\} [1-9]/);

  await node.mine(3);
  await scannedTo(await node.height());
  await waitFor(async () => ((await merchantTotals('m-reorg')).posted === 50_000_000n ? true : undefined), { what: 'the re-detected payment to be posted' });
  assert.deepEqual(await merchantTotals('m-reorg'), { pending: 0n, posted: 50_000_000n });
  await assertLedgerConsistent();
});

test('a reorg of an already posted payment reverses it with a correcting transfer', { skip }, async () => {
  const node = ltc!.node;
  const address = await depositAddress('m-deep');
  await node.send(address, '0.3');
  const [paidIn] = await node.mine(1);
  await node.mine(2);
  await scannedTo(await node.height());
  await waitFor(async () => ((await merchantTotals('m-deep')).posted === 30_000_000n ? true : undefined), { what: 'the payment to be posted' });
  // Replace the last three blocks (within reorgDepthMax 6) without the payment.
  await node.call('invalidateblock', [paidIn]);
  const mempool = await node.call<string[]>('getrawmempool');
  for (const tx of mempool) await node.call('prioritisetransaction', [tx, 0, -1_000_000_000]); // keep it out of the next blocks
  await node.mine(4, await node.newAddress('legacy'));
  await scannedTo(await node.height());
  await waitFor(async () => ((await merchantTotals('m-deep')).posted === 0n ? true : undefined), { what: 'the posted payment to be reversed' });
  const [reversal] = await settle!.db.sql<{ code: string }[]>`select code from transfers where code = 'deposit_reversal'`;
  assert.equal(reversal?.code, 'deposit_reversal', 'history grows: a reversal, nothing updated or deleted');
  await assertLedgerConsistent();
  for (const tx of mempool) await node.call('prioritisetransaction', [tx, 0, 1_000_000_000]);
});

// The test-level timeout only guards against a hang; each wait below has its own deadline.
test('blocks past MWEB activation (HogEx, extension block) are scanned, and payments in them found', { skip, timeout: 10 * 60_000 }, async () => {
  const node = ltc!.node;
  const height = await node.height();
  if (height < 431) await node.mine(431 - height);
  // The activation block needs a peg-in: send to an MWEB address.
  const mweb = await node.newAddress('mweb');
  assert.match(mweb, /^tmweb1/);
  await node.send(mweb, '1');
  await node.mine(1);
  const info = await node.call<{ softforks: { mweb?: { active: boolean } } }>('getblockchaininfo');
  assert.equal(info.softforks.mweb?.active, true, 'MWEB is active');
  const best = await node.call<string>('getbestblockhash');
  const block = await node.call<{ tx: Array<{ vout: unknown[] }>; mweb?: unknown }>('getblock', [best, 2]);
  assert.ok(block.mweb !== undefined, 'the tip block carries an MWEB extension block');

  const address = await depositAddress('m-mweb');
  await node.send(address, '0.75');
  await node.mine(3);
  await scannedTo(await node.height());
  await waitFor(async () => ((await merchantTotals('m-mweb')).posted === 75_000_000n ? true : undefined), { what: 'the post-MWEB payment to be posted' });
  assert.equal(runtime.scanner.status().halted, undefined, 'no block failed to decode');
  await assertLedgerConsistent();
});
