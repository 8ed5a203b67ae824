// The TRON scanner end to end on our loopback TRON node, through the same follower, decode pool,
// applier and ledger as every chain: TRX and USDT-TRC20 payments to derived deposit addresses,
// reverted TRC-20 transfers (never credited), unwatched recipients (ignored), a fork that moves a
// payment to another block (voided, re-detected, counted once). Ledger invariants hold after each.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { BIP32Factory } from 'bip32';
import * as ecc from 'tiny-secp256k1';
import { Mnemonic } from 'ethers';
import { checkInvariants, formatViolations } from '../../src/ledger/invariants.ts';
import type { ChainRuntime } from '../../src/scan/runtime.ts';
import { tronAddressToBodyHex } from '../../src/chains/tron/address.ts';
import { startTestEngine } from '../helpers/engine.ts';
import { waitFor } from '../helpers/wait.ts';
import { startTronNode } from '../helpers/tron-node.ts';
import { accountFromSeed, trc20Transfer, trxTransfer, USDT } from '../helpers/tron-txs.ts';

const seed = Buffer.from(Mnemonic.fromPhrase('abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about').computeSeed().slice(2), 'hex');
const xpub = BIP32Factory(ecc).fromSeed(seed).derivePath("m/44'/195'/0'").neutered().toBase58();
const node = await startTronNode({ tokens: [{ hex: `41${tronAddressToBodyHex(USDT)}`, name: 'TetherToken', decimals: 6 }] });
node.mineEmpty(3);
const settle = await startTestEngine(import.meta.filename, {
  chains: {
    tron: {
      family: 'tron',
      network: 'private',
      rpc: { url: node.url },
      tokens: [{ code: 'USDT-TRC20', symbol: 'USDT', contract: USDT, decimals: 6 }],
      xpub,
      confirmations: 3,
      reorgDepthMax: 6,
      pollIntervalMs: 100,
      addressLookAhead: 20,
    },
  },
} as never);
const tron = settle.engine.chains.chains.get('tron') as ChainRuntime;
const payer = accountFromSeed(51);

after(async () => {
  await settle.stop();
  await node.close();
});

async function deposit(owner: string): Promise<string> {
  assert.ok(tron.keySpec !== undefined);
  return (await settle.engine.chains.addressPool.assign(tron.keySpec, { chain: 'tron', owner })).address;
}

async function caughtUp(): Promise<void> {
  const height = node.head.number;
  await waitFor(async () => ((tron.scanner.status().tip?.height ?? -1) >= height ? true : undefined), { what: `tron to reach ${height}` });
}

async function merchant(owner: string, ledgerCode: string): Promise<{ pending: bigint; posted: bigint }> {
  const [row] = await settle.db.sql<{ pending: bigint | null; posted: bigint | null }[]>`
    select sum(a.credits_pending) as pending, sum(a.credits_posted - a.debits_posted) as posted
    from accounts a join ledgers l on l.id = a.ledger where a.code = 'merchant' and a.owner = ${owner} and l.code = ${ledgerCode}`;
  return { pending: row?.pending ?? 0n, posted: row?.posted ?? 0n };
}

async function payments(owner: string) {
  return settle.db.sql<{ txid: string; block_hash: string; amount: bigint; position: number; orphaned_at: Date | null }[]>`
    select txid, block_hash, amount, position, orphaned_at from payments where owner = ${owner} order by seen_at`;
}

async function assertLedgerConsistent(): Promise<void> {
  const violations = await checkInvariants(settle.db.sql);
  assert.equal(violations.length, 0, formatViolations(violations));
}

test('TRX and USDT-TRC20 payments are pending, then posted at 3 confirmations', async () => {
  const trxAddress = await deposit('m-trx');
  const usdtAddress = await deposit('m-usdt');
  assert.match(trxAddress, /^T/);
  await caughtUp();
  const usdt = trc20Transfer(payer, USDT, usdtAddress, 25_000_000n);
  node.mine([trxTransfer(payer, trxAddress, 7_500_000n), usdt]);
  await caughtUp();
  await waitFor(async () => ((await merchant('m-usdt', 'USDT-TRC20')).pending === 25_000_000n ? true : undefined), { what: 'the USDT payment' });
  assert.deepEqual(await merchant('m-trx', 'TRX'), { pending: 7_500_000n, posted: 0n });
  const [row] = await payments('m-usdt');
  assert.equal(row?.txid, usdt.txID);
  assert.equal(row?.position, 0, 'the first log of the block');
  node.mineEmpty(2);
  await caughtUp();
  await waitFor(async () => ((await merchant('m-usdt', 'USDT-TRC20')).posted === 25_000_000n ? true : undefined), { what: 'the USDT payment posted' });
  assert.deepEqual(await merchant('m-trx', 'TRX'), { pending: 0n, posted: 7_500_000n });
  await assertLedgerConsistent();
});

test('a reverted TRC-20 transfer is never credited; unwatched recipients are ignored', async () => {
  const address = await deposit('m-failed');
  await caughtUp();
  node.mine([
    trc20Transfer(payer, USDT, address, 9_000_000n, { result: 'REVERT' }),
    trc20Transfer(payer, USDT, accountFromSeed(52).address, 9_000_000n),
    trxTransfer(payer, accountFromSeed(53).address, 1_000_000n),
  ]);
  node.mineEmpty(3);
  await caughtUp();
  node.mine([trc20Transfer(payer, USDT, address, 1_000_000n)]);
  await caughtUp();
  const credited = await waitFor(async () => {
    const rows = await payments('m-failed');
    return rows.length > 0 ? rows : undefined;
  }, { what: 'the successful payment' });
  assert.deepEqual(credited.map((p) => p.amount), [1_000_000n], 'only the transfer that succeeded');
  await assertLedgerConsistent();
});

test('a fork moves a payment to another block: voided, re-detected once, then posted', async () => {
  const address = await deposit('m-fork');
  await caughtUp();
  const pay = trc20Transfer(payer, USDT, address, 3_000_000n);
  node.mine([pay]);
  node.mine([]);
  await caughtUp();
  const [first] = await waitFor(async () => {
    const rows = await payments('m-fork');
    return rows.length === 1 ? rows : undefined;
  }, { what: 'the payment' });
  // The payment's block and the next are replaced; the payment lands one block later.
  node.fork(2, [[], [pay], []]);
  await caughtUp();
  const rows = await waitFor(async () => {
    const found = await payments('m-fork');
    return found.length === 2 ? found : undefined;
  }, { what: 'the re-detected payment' });
  assert.equal(rows[0]?.block_hash, first?.block_hash);
  assert.notEqual(rows[0]?.orphaned_at, null);
  assert.notEqual(rows[1]?.block_hash, first?.block_hash);
  assert.equal(rows[1]?.orphaned_at, null);
  assert.deepEqual(await merchant('m-fork', 'USDT-TRC20'), { pending: 3_000_000n, posted: 0n });
  node.mineEmpty(2);
  await caughtUp();
  await waitFor(async () => ((await merchant('m-fork', 'USDT-TRC20')).posted === 3_000_000n ? true : undefined), { what: 'the payment posted' });
  await assertLedgerConsistent();
});
