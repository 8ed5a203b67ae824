// An invoice in LTC paid on a real litecoind regtest node, end to end over HTTP: the same path as
// on anvil, with the UTXO family's decoder and derivation.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { litecoindAvailable } from '../helpers/litecoind.ts';
import { litecoindSkipReason, startLtcTestChain, type LtcTestChain } from '../helpers/ltc-chain.ts';
import { startTestEngine, type TestEngine, type TestMerchant } from '../helpers/engine.ts';
import { waitFor } from '../helpers/wait.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';
import { verifySignature } from '../../src/webhooks/signature.ts';

const skip = litecoindSkipReason(litecoindAvailable());
let ltc: LtcTestChain | undefined;
let settle: TestEngine | undefined;
let receiver: WebhookReceiver | undefined;
let shop: TestMerchant;
after(async () => {
  await settle?.stop();
  await receiver?.close();
  await ltc?.node.stop();
});

if (skip === undefined) {
  ltc = await startLtcTestChain();
  receiver = await startWebhookReceiver();
  settle = await startTestEngine(import.meta.filename, { chains: ltc?.config({ confirmations: 2 }) });
  shop = await settle.merchant('LTC shop', receiver.url);
}


test('an LTC invoice paid on litecoind regtest becomes paid, with a signed webhook and the balance available', { skip }, async () => {
  const node = ltc!.node;
  const headers = { ...shop.auth, 'content-type': 'application/json' };
  const created = await fetch(`${settle!.url}/v1/invoices`, { method: 'POST', headers, body: JSON.stringify({ asset: 'LTC', amount: '0.015' }) })
    .then((r) => r.json() as Promise<{ id: string; address: string; payment_uri: string; network: string }>);
  assert.match(created.address, /^rltc1q/);
  assert.equal(created.payment_uri, `litecoin:${created.address}?amount=0.015`);
  assert.equal(created.network, 'Litecoin regtest');
  const txid = await node.send(created.address, '0.015');
  await node.mine(2);
  const paid = await waitFor(async () => {
    const invoice = await fetch(`${settle!.url}/v1/invoices/${created.id}`, { headers }).then((r) => r.json() as Promise<{ status: string; received_amount: string }>);
    return invoice.status === 'paid' ? invoice : undefined;
  }, { what: 'the LTC invoice to be paid' });
  assert.equal(paid.received_amount, '0.015');
  const hook = await waitFor(async () => receiver!.received.find((w) => w.json.data?.invoice_id === created.id && w.json.type === 'invoice.paid'), { what: 'the paid webhook' });
  assert.ok(verifySignature(shop.webhookSecret, hook.body, hook.headers['x-settle-signature'] as string, Math.floor(Date.now() / 1000)));
  assert.match(String(txid), /^[0-9a-f]{64}$/);
  assert.equal(hook.json.data.tx_hash, txid, 'a Litecoin txid stays bare hex, as the node and explorers show it');
  const balances = await fetch(`${settle!.url}/v1/balances`, { headers }).then((r) => r.json() as Promise<{ data: Array<{ asset: string; available: string }> }>);
  assert.equal(balances.data.find((b) => b.asset === 'LTC')?.available, '0.015');
});
