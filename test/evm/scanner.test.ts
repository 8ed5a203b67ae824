// The EVM scanner end to end on a real node (anvil), through the same follower, pool, applier and
// ledger as every chain: native and token payments, reverted transfers (never credited),
// unwatched recipients (ignored), many transfers in one block, reorgs by anvil_reorg and by
// evm_snapshot/evm_revert (voided, re-detected, counted once), the `finalized` tag, and a reorg
// past reorgDepthMax (the chain halts loudly). Ledger invariants hold after every scenario.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Wallet } from 'ethers';
import { anvilSkipReason, batchSenderInterface, tokenInterface } from '../helpers/anvil.ts';
import { startEvmTestChain, type EvmTestChain } from '../helpers/evm-chain.ts';
import { startTestEngine, type TestEngine } from '../helpers/engine.ts';
import { waitFor } from '../helpers/wait.ts';
import { checkInvariants, formatViolations } from '../../src/ledger/invariants.ts';
import type { ChainRuntime } from '../../src/scan/runtime.ts';

const skip = anvilSkipReason();
let chain: EvmTestChain | undefined;
let settle: TestEngine | undefined;
let eth: ChainRuntime;
let efinal: ChainRuntime;
after(async () => {
  await settle?.stop();
  await chain?.anvil.stop();
});

if (skip === undefined) {
  chain = await startEvmTestChain();
  const base = chain.config({ reorgDepthMax: 6 }) as Record<string, Record<string, unknown>>;
  // A second chain on the same node, trusting the node's `finalized` tag instead of a count.
  const finalXpub = (await import('ethers')).HDNodeWallet.fromPhrase('legal winner thank year wave sausage worth useful legal winner thank yellow', undefined, "m/44'/60'/0'").neuter().extendedKey;
  const chains = {
    ...base,
    efinal: {
      ...(base.eth as Record<string, unknown>),
      native: { code: 'ETH-F', symbol: 'ETH', decimals: 18 },
      tokens: [{ code: 'USDT-F', symbol: 'USDT', contract: chain.token, decimals: 6 }],
      xpub: finalXpub,
      finalizedTag: true,
      confirmations: 1_000,
    },
  };
  settle = await startTestEngine(import.meta.filename, { chains: chains as never });
  eth = settle.engine.chains.chains.get('eth') as ChainRuntime;
  efinal = settle.engine.chains.chains.get('efinal') as ChainRuntime;
}


async function deposit(runtime: ChainRuntime, owner: string): Promise<string> {
  assert.ok(runtime.keySpec !== undefined);
  return (await settle!.engine.chains.addressPool.assign(runtime.keySpec, { chain: runtime.chain, owner })).address;
}

async function caughtUp(runtime: ChainRuntime = eth): Promise<void> {
  const height = await chain!.anvil.blockNumber();
  await waitFor(async () => ((runtime.scanner.status().tip?.height ?? -1) >= height ? true : undefined), { what: `${runtime.chain} to reach ${height}` });
}

async function merchant(owner: string, ledgerCode = 'USDT-ERC20'): Promise<{ pending: bigint; posted: bigint }> {
  const [row] = await settle!.db.sql<{ pending: bigint | null; posted: bigint | null }[]>`
    select sum(a.credits_pending) as pending, sum(a.credits_posted - a.debits_posted) as posted
    from accounts a join ledgers l on l.id = a.ledger where a.code = 'merchant' and a.owner = ${owner} and l.code = ${ledgerCode}`;
  return { pending: row?.pending ?? 0n, posted: row?.posted ?? 0n };
}

async function payments(owner: string) {
  return settle!.db.sql<{ txid: string; block_hash: string; amount: bigint; orphaned_at: Date | null; confirmed_at: Date | null }[]>`
    select txid, block_hash, amount, orphaned_at, confirmed_at from payments where owner = ${owner} order by seen_at`;
}

async function assertLedgerConsistent(): Promise<void> {
  const violations = await checkInvariants(settle!.db.sql);
  assert.equal(violations.length, 0, formatViolations(violations));
}

test('native and token payments are pending, then posted at 3 confirmations', { skip }, async () => {
  const token = await deposit(eth, 'm-pay');
  const native = await deposit(eth, 'm-pay-eth');
  await chain!.payToken(token, 12_345_678n);
  await chain!.payNative(native, 10n ** 17n);
  await caughtUp();
  await waitFor(async () => ((await merchant('m-pay')).pending === 12_345_678n ? true : undefined), { what: 'the token payment' });
  assert.deepEqual(await merchant('m-pay-eth', 'ETH'), { pending: 10n ** 17n, posted: 0n });
  await chain!.anvil.mine(3);
  await caughtUp();
  await waitFor(async () => ((await merchant('m-pay')).posted === 12_345_678n ? true : undefined), { what: 'the token payment to be posted' });
  assert.deepEqual(await merchant('m-pay-eth', 'ETH'), { pending: 0n, posted: 10n ** 17n });
  await assertLedgerConsistent();
});

test('reverted transfers are never credited; unwatched recipients are ignored', { skip }, async () => {
  const anvil = chain!.anvil;
  const payer = anvil.accounts[2] as string;
  const blocked = await deposit(eth, 'm-revert');
  await anvil.send({ from: payer, to: chain!.token, data: tokenInterface.encodeFunctionData('mint', [payer, 5_000_000n]) });
  await anvil.send({ from: payer, to: chain!.token, data: tokenInterface.encodeFunctionData('setBlocked', [blocked, true]) });
  const failed = await anvil.send({ from: payer, to: chain!.token, data: tokenInterface.encodeFunctionData('transfer', [blocked, 5_000_000n]), gas: 200_000n });
  assert.equal((await anvil.receipt(failed)).status, '0x0', 'the token transfer reverted on chain');

  // A watched address that is a contract refusing ether: the native transfer is mined and reverts.
  const rejector = await anvil.deploy('EtherRejector');
  await settle!.db.sql`
    insert into addresses (key_id, derivation_index, address, index_key, assigned_at, assigned_chain, owner)
    values (${eth.keySpec!.id}, 900000, ${rejector}, decode(${rejector.slice(2).toLowerCase()}, 'hex'), now(), 'eth', 'm-revert')`;
  await anvil.mine(1); // the scanner loads the new address before the next block it decodes
  await caughtUp();
  const native = await anvil.send({ from: payer, to: rejector, value: 10n ** 16n, gas: 100_000n });
  assert.equal((await anvil.receipt(native)).status, '0x0', 'the native transfer reverted on chain');

  const stranger = Wallet.createRandom().address;
  await chain!.payToken(stranger, 7_000_000n);
  await chain!.payNative(stranger, 10n ** 16n);
  await anvil.mine(3);
  await caughtUp();
  assert.equal((await payments('m-revert')).length, 0, 'no payment for reverted transfers');
  // The contract's address is watched: a token transfer to it (which cannot revert) is credited.
  await chain!.payToken(rejector, 1_000_000n);
  await caughtUp();
  const credited = await waitFor(async () => {
    const rows = await payments('m-revert');
    return rows.length > 0 ? rows : undefined;
  }, { what: 'the token payment to the watched contract' });
  assert.deepEqual(credited.map((p) => p.amount), [1_000_000n], 'only the successful token transfer, not the reverted ether');
  const [unwatched] = await settle!.db.sql<{ n: bigint }[]>`select count(*) as n from payments where address = ${stranger}`;
  assert.equal(unwatched?.n, 0n);
  await assertLedgerConsistent();
});

test('many token transfers in one block are each credited, with their log positions', { skip }, async () => {
  const anvil = chain!.anvil;
  const payer = anvil.accounts[3] as string;
  const sender = await anvil.deploy('BatchSender');
  const recipients = await Promise.all(Array.from({ length: 12 }, (_, i) => deposit(eth, `m-batch-${i % 3}`)));
  const values = recipients.map((_, i) => BigInt(1_000_000 + i));
  const total = values.reduce((a, b) => a + b, 0n);
  await anvil.send({ from: payer, to: chain!.token, data: tokenInterface.encodeFunctionData('mint', [payer, total]) });
  await anvil.send({ from: payer, to: chain!.token, data: tokenInterface.encodeFunctionData('approve', [sender, total]) });
  const tx = await anvil.send({ from: payer, to: sender, data: batchSenderInterface.encodeFunctionData('sendTokens', [chain!.token, recipients, values]), gas: 2_000_000n });
  assert.equal((await anvil.receipt(tx)).status, '0x1');
  await caughtUp();
  const rows = await waitFor(async () => {
    const found = await settle!.db.sql<{ position: number; amount: bigint }[]>`select position, amount from payments where txid = ${tx.slice(2)} order by position`;
    return found.length === recipients.length ? found : undefined;
  }, { what: 'the batch payments' });
  assert.deepEqual(rows.map((r) => r.amount).sort((a, b) => (a < b ? -1 : 1)), values);
  assert.equal(new Set(rows.map((r) => r.position)).size, recipients.length, 'one payment per log');
  const owners = await Promise.all([0, 1, 2].map((i) => merchant(`m-batch-${i}`)));
  assert.equal(owners.reduce((sum, o) => sum + o.pending, 0n), total);
  await assertLedgerConsistent();
});

test('anvil_reorg: the payment\'s block is replaced; it is voided and re-detected in its new block, once', { skip }, async () => {
  const anvil = chain!.anvil;
  const payer = anvil.accounts[4] as string;
  const address = await deposit(eth, 'm-anvil-reorg');
  await anvil.send({ from: payer, to: chain!.token, data: tokenInterface.encodeFunctionData('mint', [payer, 3_000_000n]) });
  await anvil.send({ from: payer, to: chain!.token, data: tokenInterface.encodeFunctionData('transfer', [address, 3_000_000n]) });
  await caughtUp();
  const [first] = await waitFor(async () => {
    const rows = await payments('m-anvil-reorg');
    return rows.length === 1 ? rows : undefined;
  }, { what: 'the payment' });
  // Replace the last block with one holding the same transfer again.
  await anvil.reorg(1, [[{ from: payer, to: chain!.token, data: tokenInterface.encodeFunctionData('transfer', [address, 3_000_000n]) }, 0]]);
  await anvil.mine(1);
  await caughtUp();
  const rows = await waitFor(async () => {
    const found = await payments('m-anvil-reorg');
    return found.length === 2 ? found : undefined;
  }, { what: 'the re-detected payment' });
  assert.equal(rows[0]?.block_hash, first?.block_hash);
  assert.notEqual(rows[0]?.orphaned_at, null);
  assert.notEqual(rows[1]?.block_hash, first?.block_hash);
  assert.equal(rows[1]?.orphaned_at, null);
  assert.deepEqual(await merchant('m-anvil-reorg'), { pending: 3_000_000n, posted: 0n });
  await anvil.mine(3);
  await caughtUp();
  await waitFor(async () => ((await merchant('m-anvil-reorg')).posted === 3_000_000n ? true : undefined), { what: 'the new payment posted' });
  assert.deepEqual(await merchant('m-anvil-reorg'), { pending: 0n, posted: 3_000_000n });
  await assertLedgerConsistent();
});

test('evm_snapshot/evm_revert: the chain goes back under a payment; it is voided, and counted once when sent again', { skip }, async () => {
  const anvil = chain!.anvil;
  const address = await deposit(eth, 'm-revert-chain');
  const snapshot = await anvil.snapshot();
  await chain!.payToken(address, 4_000_000n);
  await caughtUp();
  await waitFor(async () => ((await merchant('m-revert-chain')).pending === 4_000_000n ? true : undefined), { what: 'the payment' });
  assert.equal(await anvil.revert(snapshot), true);
  await anvil.mine(3); // a different, longer chain without the payment
  await caughtUp();
  await waitFor(async () => ((await merchant('m-revert-chain')).pending === 0n ? true : undefined), { what: 'the payment to be voided' });
  assert.equal((await payments('m-revert-chain')).every((p) => p.orphaned_at !== null), true);
  await chain!.payToken(address, 4_000_000n);
  await anvil.mine(3);
  await caughtUp();
  await waitFor(async () => ((await merchant('m-revert-chain')).posted === 4_000_000n ? true : undefined), { what: 'the new payment posted' });
  assert.deepEqual(await merchant('m-revert-chain'), { pending: 0n, posted: 4_000_000n });
  await assertLedgerConsistent();
});

test('the finalized tag: a chain trusting it posts a payment once its block is final, not before', { skip }, async () => {
  const address = await deposit(efinal, 'm-final');
  await chain!.payToken(address, 2_000_000n);
  await chain!.anvil.mine(10);
  await caughtUp(efinal);
  await waitFor(async () => ((await merchant('m-final', 'USDT-F')).pending === 2_000_000n ? true : undefined), { what: 'the payment' });
  const finalized = await efinal.adapter.finalizedHeight();
  const [row] = await settle!.db.sql<{ height: bigint }[]>`select height from payments where owner = 'm-final'`;
  assert.ok(finalized !== undefined && finalized < Number(row?.height), 'its block is not final yet');
  assert.equal((await merchant('m-final', 'USDT-F')).posted, 0n, 'not posted: 11 of 1,000 confirmations and not final');
  await chain!.anvil.mine(70); // anvil finalizes 64 blocks behind the head
  await caughtUp(efinal);
  await waitFor(async () => ((await merchant('m-final', 'USDT-F')).posted === 2_000_000n ? true : undefined), { what: 'the payment posted at finality' });
  await assertLedgerConsistent();
});

test('a reorg deeper than reorgDepthMax halts the chain loudly', { skip }, async () => {
  const anvil = chain!.anvil;
  const snapshot = await anvil.snapshot();
  await anvil.mine(10);
  await caughtUp();
  await anvil.revert(snapshot);
  await anvil.mine(12);
  const status = await waitFor(async () => {
    const s = eth.scanner.status();
    return s.halted !== undefined ? s : undefined;
  }, { what: 'the eth scanner to halt' });
  assert.match(status.halted ?? '', /unrecoverable reorg[\s\S]*reorgDepthMax 6/);
  const metric = await settle!.common.metrics.getSingleMetricAsString('settle_scanner_halted');
  assert.match(metric, /settle_scanner_halted\{chain="eth"\} 1/);
  const health = (await (await fetch(`${settle!.url}/health`)).json()) as { status: string; components: Record<string, { status: string }> };
  assert.equal(health.status, 'down');
  assert.equal(health.components['scanner:eth']?.status, 'down');
  await assertLedgerConsistent();
});
