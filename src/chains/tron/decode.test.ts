import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBlock, type KeyLookup } from './decode.ts';
import { tronAddressToBodyHex } from './address.ts';
import { NonRetryableError, RetryableError } from '../../errors.ts';
import type { CreditMatch, DebitMatch, RawBlock } from '../../scan/types.ts';
import { startTronNode, type StoredBlock, type TronNode } from '../../../test/helpers/tron-node.ts';
import { accountFromSeed, transferLog, trc20Info, trc20Transfer, trxTransfer, USDT, type ChainTx } from '../../../test/helpers/tron-txs.ts';

const USDT_BODY = tronAddressToBodyHex(USDT);
const OTHER_TOKEN = 'TXLAQ63Xg1NAzckPwKHvzw7CSEmLMEqcdj'; // a real TRC-20 (USDC on TRON), not configured below
const options = { tokens: [USDT_BODY] };

const alice = accountFromSeed(1); // a customer
const deposit = accountFromSeed(2); // a watched deposit address
const hot = accountFromSeed(3); // a watched hot wallet
const stranger = accountFromSeed(4);

function indexOf(...addresses: string[]): KeyLookup {
  const keys = new Set(addresses.map(tronAddressToBodyHex));
  return { hasKey: (bytes, offset, length) => keys.has(Buffer.from(bytes.subarray(offset, offset + length)).toString('hex')) };
}
const watched = indexOf(deposit.address, hot.address);

function arrayBuffer(bytes: Buffer): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function rawOf(block: StoredBlock, infos: Buffer = block.infos()): RawBlock {
  return { height: block.number, parts: [arrayBuffer(Buffer.concat(block.chunks)), arrayBuffer(infos)] };
}

const nodes: TronNode[] = [];
async function node(keyOrder: 'mainnet' | 'shuffled' = 'mainnet'): Promise<TronNode> {
  const started = await startTronNode({ keyOrder });
  nodes.push(started);
  return started;
}
after(async () => {
  for (const n of nodes) await n.close();
});

test('a TRX transfer to a watched address is credited in sun, position -1, and a hot wallet spend is a debit', async () => {
  const n = await node();
  const pay = trxTransfer(alice, deposit.address, 12_345_678n);
  const spend = trxTransfer(hot, stranger.address, 5_000_000n);
  const unrelated = trxTransfer(alice, stranger.address, 1n);
  const block = n.mine([unrelated, pay, spend]);
  const decoded = decodeBlock(rawOf(block), watched, options);
  assert.equal(decoded.hash, block.blockId);
  assert.equal(decoded.parentHash, block.parentHash);
  assert.equal(decoded.height, block.number);
  assert.equal(decoded.txCount, 3);
  assert.equal(decoded.timestampS, block.timestampMs / 1000);
  assert.deepEqual(decoded.matches, [
    { kind: 'credit', txid: pay.txID, position: -1, asset: 'native', key: tronAddressToBodyHex(deposit.address), address: deposit.address, amount: 12_345_678n, from: alice.address },
    { kind: 'debit', txid: spend.txID, position: -1, asset: 'native', key: tronAddressToBodyHex(hot.address), address: hot.address, amount: 5_000_000n, to: stranger.address },
  ]);
});

test('a USDT-TRC20 transfer is credited from its Transfer log, with the log index in the block as position', async () => {
  const n = await node();
  const trx = trxTransfer(alice, stranger.address, 1n); // infos without logs still count in order
  const other = trc20Transfer(alice, USDT, stranger.address, 7n); // log 0
  const pay = trc20Transfer(alice, USDT, deposit.address, 250_000_000n); // log 1
  const decoded = decodeBlock(rawOf(n.mine([trx, other, pay])), watched, options);
  assert.deepEqual(decoded.matches, [
    { kind: 'credit', txid: pay.txID, position: 1, asset: USDT, key: tronAddressToBodyHex(deposit.address), address: deposit.address, amount: 250_000_000n, from: alice.address },
  ]);
});

test('a failed TRC-20 transfer is never credited, whichever of block and info says it failed', async () => {
  const n = await node();
  const reverted = trc20Transfer(alice, USDT, deposit.address, 10n, { result: 'REVERT' });
  const outOfEnergy = trc20Transfer(alice, USDT, deposit.address, 11n, { result: 'OUT_OF_ENERGY' });
  // Inconsistent answers: the block says SUCCESS but the info says FAILED, and the other way round.
  const base = trc20Transfer(alice, USDT, deposit.address, 12n);
  const infoFailed: ChainTx = { ...base, info: (h, t) => trc20Info(base.txID, h, t, USDT_BODY, 'REVERT', []).replace('"receipt":', `"log":[${transferLog(USDT_BODY, Buffer.from(alice.body).toString('hex'), tronAddressToBodyHex(deposit.address), 12n)}],"receipt":`) };
  const base2 = trc20Transfer(alice, USDT, deposit.address, 13n);
  const blockFailed: ChainTx = { ...base2, json: base2.json.replace('"contractRet":"SUCCESS"', '"contractRet":"REVERT"') };
  const ok = trc20Transfer(alice, USDT, deposit.address, 14n);
  const decoded = decodeBlock(rawOf(n.mine([reverted, outOfEnergy, infoFailed, blockFailed, ok])), watched, options);
  assert.deepEqual(decoded.matches.map((m) => (m as CreditMatch).amount), [14n]);
  // Positions count the logs present in the response, failed transactions' included.
  assert.equal(decoded.matches[0]?.kind === 'credit' && decoded.matches[0].position, 2);
});

test('only Transfer logs of configured tokens count, and a watched sender is a debit', async () => {
  const n = await node();
  const otherToken = trc20Transfer(alice, OTHER_TOKEN, deposit.address, 99n);
  const approval = trc20Transfer(alice, USDT, deposit.address, 98n);
  const approvalTx: ChainTx = { ...approval, info: (h, t) => approval.info(h, t).replace(/ddf252ad[0-9a-f]{56}/, '8c5be1e5ebec7d5bd14f71427d1e84f3dd0314c0f7b2291e5b200ac8c7c3b925') };
  const fromHot = trc20Transfer(hot, USDT, stranger.address, 1_000n);
  const decoded = decodeBlock(rawOf(n.mine([otherToken, approvalTx, fromHot])), watched, options);
  assert.deepEqual(decoded.matches, [
    { kind: 'debit', txid: fromHot.txID, position: 2, asset: USDT, key: tronAddressToBodyHex(hot.address), address: hot.address, amount: 1_000n, to: stranger.address },
  ]);
  assert.deepEqual(decodeBlock(rawOf(n.mine([otherToken])), watched, { tokens: [USDT_BODY, tronAddressToBodyHex(OTHER_TOKEN)] }).matches.map((m) => (m as CreditMatch).asset), [OTHER_TOKEN]);
});

test('amounts beyond 2^53 are exact: TRX in sun and TRC-20 up to 2^256 - 1', async () => {
  const n = await node();
  const bigTrx = trxTransfer(alice, deposit.address, 9_007_199_254_740_993n);
  const maxTrx = trxTransfer(alice, deposit.address, 2n ** 63n - 1n);
  const bigToken = trc20Transfer(alice, USDT, deposit.address, 2n ** 256n - 1n);
  const decoded = decodeBlock(rawOf(n.mine([bigTrx, maxTrx, bigToken])), watched, options);
  assert.deepEqual(decoded.matches.map((m) => (m as CreditMatch).amount), [9_007_199_254_740_993n, 2n ** 63n - 1n, 2n ** 256n - 1n]);
});

test('key order does not matter: a block printed in another order decodes the same', async () => {
  const txs = [trxTransfer(alice, deposit.address, 5n), trc20Transfer(alice, USDT, deposit.address, 6n), trxTransfer(hot, alice.address, 7n)];
  const [a, b] = [await node('mainnet'), await node('shuffled')];
  const decodedA = decodeBlock(rawOf(a.mine(txs)), watched, options);
  const decodedB = decodeBlock(rawOf(b.mine(txs)), watched, options);
  assert.notEqual(Buffer.concat(a.head.chunks).toString(), Buffer.concat(b.head.chunks).toString());
  assert.deepEqual(decodedB, decodedA);
  assert.equal(decodedA.matches.length, 3);
});

test('an empty block decodes with no matches, and genesis-style `{}` infos are accepted', async () => {
  const n = await node();
  const block = n.mine([]);
  assert.deepEqual(decodeBlock(rawOf(block), watched, options).matches, []);
  assert.equal(decodeBlock(rawOf(block, Buffer.from('{}\n')), watched, options).txCount, 0);
});

test('infos that do not belong to the block are refused as retryable', async () => {
  const n = await node();
  const block = n.mine([trxTransfer(alice, deposit.address, 5n), trc20Transfer(alice, USDT, deposit.address, 6n)]);
  const other = n.mine([trxTransfer(alice, deposit.address, 8n), trxTransfer(alice, deposit.address, 9n)]);
  const retryable = (code: string) => (e: unknown) => e instanceof RetryableError && e.code === code;
  assert.throws(() => decodeBlock(rawOf(block, Buffer.from('[]')), watched, options), retryable('tron_infos_incomplete'), 'history switch off');
  assert.throws(() => decodeBlock(rawOf(block, other.infos()), watched, options), retryable('tron_infos_mismatch'));
  const one = Buffer.from(`[${(block.txs[0] as ChainTx).info(block.number, 0)}]`);
  assert.throws(() => decodeBlock(rawOf(block, one), watched, options), retryable('tron_infos_incomplete'));
  const extra = Buffer.from(`[${block.txs.map((tx) => tx.info(block.number, 0)).join(',')},${(block.txs[0] as ChainTx).info(block.number, 0)}]`);
  assert.throws(() => decodeBlock(rawOf(block, extra), watched, options), retryable('tron_infos_incomplete'));
  const wrongNumber = Buffer.from(`[${block.txs.map((tx) => tx.info(block.number + 1, 0)).join(',')}]`);
  assert.throws(() => decodeBlock(rawOf(block, wrongNumber), watched, options), retryable('tron_infos_mismatch'));
});

test('a block that is not the one asked for, or whose blockID does not match its header, is refused', async () => {
  const n = await node();
  const block = n.mine([trxTransfer(alice, deposit.address, 5n)]);
  assert.throws(() => decodeBlock({ ...rawOf(block), height: block.number + 1 }, watched, options), /asked for tron block/);
  assert.throws(() => decodeBlock({ ...rawOf(block), expectedHash: 'ff'.repeat(32) }, watched, options), RetryableError);
  const tampered = Buffer.from(Buffer.concat(block.chunks).toString().replace(`"timestamp":${block.timestampMs}}`, `"timestamp":${block.timestampMs + 1}}`));
  assert.throws(() => decodeBlock({ height: block.number, parts: [arrayBuffer(tampered), arrayBuffer(block.infos())] }, watched, options), /does not match its header/);
});

function twoContracts(blockText: string): string {
  const block = JSON.parse(blockText) as { transactions: Array<{ raw_data: { contract: unknown[] } }> };
  const raw = block.transactions[0]!.raw_data;
  raw.contract = [raw.contract[0], raw.contract[0]];
  return JSON.stringify(block);
}

test('malformed blocks are refused with a NonRetryableError that says where', async () => {
  const n = await node();
  const block = n.mine([trxTransfer(alice, deposit.address, 5n)]);
  const text = Buffer.concat(block.chunks).toString();
  const cases: Array<[string, RegExp]> = [
    [text.slice(0, text.length - 10), /at byte/],
    [text.replace(/"to_address":"41/, '"to_address":"42'), /42 hex digits starting with 41/],
    [text.replace(/"amount":5/, '"amount":5.5'), /fraction/],
    [text.replace(/"amount":5/, '"amount":-5'), /non-negative integer/],
    [text.replace(/"txID":"[0-9a-f]{64}",/, ''), /without txID/],
    [twoContracts(text), /exactly one/],
  ];
  for (const [bad, message] of cases) {
    assert.throws(
      () => decodeBlock({ height: block.number, parts: [arrayBuffer(Buffer.from(bad)), arrayBuffer(block.infos())] }, watched, options),
      (e: unknown) => e instanceof NonRetryableError && message.test(e.message),
      String(message),
    );
  }
  assert.throws(() => decodeBlock({ height: block.number, parts: [arrayBuffer(Buffer.from(text))] }, watched, options), /expected \[block, transactionInfos\]/);
  assert.throws(() => decodeBlock(rawOf(block), watched, { tokens: [`41${USDT_BODY}`] }), /40 digits, no 41/);
});

test('debit and credit both come out of a transfer between two watched addresses', async () => {
  const n = await node();
  const sweep = trc20Transfer(deposit, USDT, hot.address, 77n);
  const decoded = decodeBlock(rawOf(n.mine([sweep])), watched, options);
  assert.deepEqual(decoded.matches.map((m) => [m.kind, (m as CreditMatch | DebitMatch).address]), [['credit', hot.address], ['debit', deposit.address]]);
});
