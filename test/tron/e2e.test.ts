// TRON through the whole engine on our loopback node: an USDT-TRC20 invoice paid end to end over
// the API (signed webhook, balance), settlement at the solidified block, a restart without loss,
// and a reorg deeper than reorgDepthMax halting the chain loudly (last: the chain stays halted).

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { BIP32Factory } from 'bip32';
import * as ecc from 'tiny-secp256k1';
import { Mnemonic } from 'ethers';
import { checkInvariants, formatViolations } from '../../src/ledger/invariants.ts';
import type { ChainRuntime } from '../../src/scan/runtime.ts';
import { tronAddressToBodyHex } from '../../src/chains/tron/address.ts';
import { verifySignature } from '../../src/webhooks/signature.ts';
import { startTestEngine, type TestEngine } from '../helpers/engine.ts';
import { waitFor } from '../helpers/wait.ts';
import { startWebhookReceiver } from '../helpers/webhook-receiver.ts';
import { startTronNode } from '../helpers/tron-node.ts';
import { accountFromSeed, trc20Transfer, trxTransfer, USDT } from '../helpers/tron-txs.ts';

const seed = Buffer.from(Mnemonic.fromPhrase('legal winner thank year wave sausage worth useful legal winner thank yellow').computeSeed().slice(2), 'hex');
const xpub = BIP32Factory(ecc).fromSeed(seed).derivePath("m/44'/195'/0'").neutered().toBase58();
const node = await startTronNode({ tokens: [{ hex: `41${tronAddressToBodyHex(USDT)}`, name: 'TetherToken', decimals: 6 }] });
node.mineEmpty(3);
const receiver = await startWebhookReceiver();
const overrides = {
  chains: {
    tron: {
      family: 'tron', network: 'private', rpc: { url: node.url },
      tokens: [{ code: 'USDT-TRC20', symbol: 'USDT', contract: USDT, decimals: 6 }],
      xpub, reorgDepthMax: 6, pollIntervalMs: 100, addressLookAhead: 20,
      // The default, as the seeds state for TRC-20: 19 confirmations, or the solidified block.
    },
  },
} as never;
let settle: TestEngine = await startTestEngine(import.meta.filename, overrides);
const payer = accountFromSeed(61);
after(async () => {
  await settle.stop();
  await receiver.close();
  await node.close();
});

const tron = () => settle.engine.chains.chains.get('tron') as ChainRuntime;

async function caughtUp(): Promise<void> {
  const height = node.head.number;
  await waitFor(async () => ((tron().scanner.status().tip?.height ?? -1) >= height ? true : undefined), { what: `tron to reach ${height}` });
}

async function assertLedgerConsistent(): Promise<void> {
  const violations = await checkInvariants(settle.db.sql);
  assert.equal(violations.length, 0, formatViolations(violations));
}

test('an USDT-TRC20 invoice is paid end to end over the API, settled at the solidified block', async () => {
  const shop = await settle.merchant('TRON shop', receiver.url);
  const headers = { ...shop.auth, 'content-type': 'application/json' };
  const invoice = await fetch(`${settle.url}/v1/invoices`, { method: 'POST', headers, body: JSON.stringify({ asset: 'USDT-TRC20', amount_usd: '50' }) })
    .then((r) => r.json() as Promise<{ id: string; address: string; amount: string; confirmations: { required: number }; network: string }>);
  assert.match(invoice.address, /^T[1-9A-HJ-NP-Za-km-z]{33}$/);
  assert.equal(invoice.amount, '50');
  assert.equal(invoice.confirmations.required, 19, 'TRC-20 needs 19 confirmations by default');
  assert.equal(invoice.network, 'TRON');
  await caughtUp();
  node.mine([trc20Transfer(payer, USDT, invoice.address, 50_000_000n)]);
  const paidAt = node.head.number;
  node.mineEmpty(2);
  await caughtUp();
  const get = () => fetch(`${settle.url}/v1/invoices/${invoice.id}`, { headers }).then((r) => r.json() as Promise<{ status: string; confirmations: { received: number } }>);
  await waitFor(async () => ((await get()).status === 'confirming' ? true : undefined), { what: 'confirming' });
  assert.equal((await get()).confirmations.received, 3, 'three blocks, far from 19');
  node.solidify(paidAt); // the block is now irreversible: no need to wait for 19
  node.mineEmpty(1);
  await caughtUp();
  await waitFor(async () => ((await get()).status === 'paid' ? true : undefined), { what: 'paid at the solidified block' });
  const hook = await waitFor(async () => receiver.received.find((w) => w.json.data?.invoice_id === invoice.id && w.json.type === 'invoice.paid'), { what: 'the paid webhook' });
  assert.ok(verifySignature(shop.webhookSecret, hook.body, hook.headers['x-settle-signature'] as string, Math.floor(Date.now() / 1000)));
  assert.match(String(hook.json.data.tx_hash), /^[0-9a-f]{64}$/, 'a TRON txid stays bare hex, as TRON explorers show it');
  const balances = await fetch(`${settle.url}/v1/balances`, { headers }).then((r) => r.json() as Promise<{ data: Array<{ asset: string; available: string }> }>);
  assert.equal(balances.data.find((b) => b.asset === 'USDT-TRC20')?.available, '50');
  await assertLedgerConsistent();
});

test('a restart loses no payment and counts none twice', async () => {
  const address = (await settle.engine.chains.addressPool.assign(tron().keySpec!, { chain: 'tron', owner: 'm-tron-restart' })).address;
  await caughtUp();
  await settle.stop();
  const db = settle.db;
  // While Settle is down: payments, and enough blocks for them to be solidified.
  node.mine([trxTransfer(payer, address, 1_000_000n)]);
  node.mine([trc20Transfer(payer, USDT, address, 2_000_000n), trxTransfer(payer, address, 3_000_000n)]);
  node.mineEmpty(5);
  node.solidify(node.head.number - 2);
  settle = await startTestEngine(import.meta.filename, overrides, db);
  await caughtUp();
  const rows = await waitFor(async () => {
    const found = await db.sql<{ amount: bigint; confirmed_at: Date | null }[]>`select amount, confirmed_at from payments where owner = 'm-tron-restart' and orphaned_at is null order by amount`;
    return found.length === 3 && found.every((r) => r.confirmed_at !== null) ? found : undefined;
  }, { what: 'the three payments, posted' });
  assert.deepEqual(rows.map((r) => r.amount), [1_000_000n, 2_000_000n, 3_000_000n]);
  await settle.stop();
  settle = await startTestEngine(import.meta.filename, overrides, db);
  await caughtUp();
  const [count] = await db.sql<{ n: bigint }[]>`select count(*) as n from payments where owner = 'm-tron-restart'`;
  assert.equal(count?.n, 3n, 'a second restart adds nothing');
  await assertLedgerConsistent();
});

test('a fork deeper than reorgDepthMax halts the chain with a clear error and a metric', async () => {
  node.mineEmpty(10);
  await caughtUp();
  node.fork(8, [[], [], [], [], [], [], [], [], [], []]);
  const status = await waitFor(async () => {
    const s = tron().scanner.status();
    return s.halted !== undefined ? s : undefined;
  }, { what: 'the tron scanner to halt' });
  assert.match(status.halted ?? '', /unrecoverable reorg[\s\S]*reorgDepthMax 6/);
  const metric = await settle.common.metrics.getSingleMetricAsString('settle_scanner_halted');
  assert.match(metric, /settle_scanner_halted\{chain="tron"\} 1/);
  const health = await fetch(`${settle.url}/health`);
  assert.equal(health.status, 503);
  await assertLedgerConsistent();
});
