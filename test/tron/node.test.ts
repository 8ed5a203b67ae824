// The loopback node serves real TRON transactions: tronweb builds and signs some, our fast
// builder the others, and both must be byte-for-byte what TRON expects.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as ecc from 'tiny-secp256k1';
import { TronWeb } from 'tronweb';
import { decodeBlock } from '../../src/chains/tron/decode.ts';
import { tronAddressFromBody, tronAddressToBodyHex } from '../../src/chains/tron/address.ts';
import { bodyOfPublicKey } from '../../src/chains/tron/derive.ts';
import type { CreditMatch } from '../../src/scan/types.ts';
import { startTronNode, type TronNode } from '../helpers/tron-node.ts';
import { encodeHeaderRaw, merkleRoot, sha256 } from '../helpers/tron-proto.ts';
import { accountFromSeed, REF_BLOCK, signTxId as signTxIdWith, trc20Transfer, tronwebTrc20Transfer, tronwebTrxTransfer, trxTransfer, USDT } from '../helpers/tron-txs.ts';

const alice = accountFromSeed(31);
const deposit = accountFromSeed(32);
let node: TronNode;
let tronWeb: TronWeb;
before(async () => {
  node = await startTronNode();
  tronWeb = new TronWeb({ fullHost: node.url });
});
after(() => node.close());

const sha256hex = (hex: string) => createHash('sha256').update(Buffer.from(hex, 'hex')).digest('hex');

test('tronweb-built transactions are real: txID = sha256(raw_data), signed by the owner', async () => {
  const trx = await tronwebTrxTransfer(tronWeb, alice, deposit.address, 1_500_000);
  const usdt = await tronwebTrc20Transfer(tronWeb, alice, USDT, deposit.address, 2_000_000n);
  for (const tx of [trx, usdt]) {
    const parsed = JSON.parse(tx.json) as { txID: string; raw_data_hex: string; signature: string[]; raw_data: unknown };
    assert.equal(parsed.txID, sha256hex(parsed.raw_data_hex));
    assert.equal(tronWeb.trx.ecRecover(parsed as never), alice.address);
  }
});

test('our builder produces the same bytes as tronweb for the same transaction, and valid signatures', async () => {
  const at = { timestampMs: REF_BLOCK.timestamp + 777 };
  const ours = trxTransfer(alice, deposit.address, 1_500_000n, at);
  const theirs = await tronWeb.transactionBuilder.sendTrx(deposit.address, 1_500_000, alice.address, { blockHeader: { ...REF_BLOCK, timestamp: at.timestampMs, expiration: at.timestampMs + 60_000 } });
  assert.equal((JSON.parse(ours.json) as { raw_data_hex: string }).raw_data_hex, theirs.raw_data_hex);
  assert.equal(ours.txID, theirs.txID);
  const oursUsdt = trc20Transfer(alice, USDT, deposit.address, 2_000_000n, at);
  const { transaction } = await tronWeb.transactionBuilder.triggerSmartContract(
    USDT, 'transfer(address,uint256)',
    { feeLimit: 100_000_000, callValue: 0, txLocal: true, blockHeader: { ...REF_BLOCK, timestamp: at.timestampMs, expiration: at.timestampMs + 60_000 } } as never,
    [{ type: 'address', value: deposit.address }, { type: 'uint256', value: '2000000' }], alice.address,
  );
  assert.equal((JSON.parse(oursUsdt.json) as { raw_data_hex: string }).raw_data_hex, transaction.raw_data_hex);
  for (const tx of [ours, oursUsdt]) assert.equal(tronWeb.trx.ecRecover(JSON.parse(tx.json) as never), alice.address);
});

test('mined blocks are real: txTrieRoot, blockID and witness signature check out, and parents link', () => {
  const txs = [trxTransfer(alice, deposit.address, 1n), trc20Transfer(alice, USDT, deposit.address, 2n)];
  const parent = node.head;
  const block = node.mine(txs);
  const json = JSON.parse(Buffer.concat(block.chunks).toString()) as { blockID: string; block_header: { raw_data: Record<string, number | string>; witness_signature: string } };
  const raw = json.block_header.raw_data;
  assert.equal(raw.txTrieRoot, merkleRoot(txs.map((tx) => sha256(tx.bytes))));
  assert.equal(raw.parentHash, parent.blockId);
  const header = { timestamp: raw.timestamp as number, txTrieRoot: raw.txTrieRoot as string, parentHash: raw.parentHash as string, number: raw.number as number, witnessAddress: raw.witness_address as string, version: raw.version as number };
  const digest = sha256(encodeHeaderRaw(header));
  assert.equal(json.blockID, `${block.number.toString(16).padStart(16, '0')}${digest.toString('hex').slice(16)}`);
  const sig = Buffer.from(json.block_header.witness_signature, 'hex');
  const publicKey = ecc.recover(digest, sig.subarray(0, 64), sig[64] as 0 | 1, false);
  assert.ok(publicKey !== null);
  assert.equal(`41${Buffer.from(bodyOfPublicKey(publicKey)).toString('hex')}`, raw.witness_address);
});

test('tronweb reads our node as it reads java-tron: blocks, transactions, transaction infos', async () => {
  const usdt = await tronwebTrc20Transfer(tronWeb, alice, USDT, deposit.address, 3_000_000n);
  const block = node.mine([usdt]);
  const fetched = await tronWeb.trx.getBlockByNumber(block.number);
  assert.equal(fetched.blockID, block.blockId);
  assert.equal((await tronWeb.trx.getTransaction(usdt.txID)).txID, usdt.txID);
  // tronweb reads transaction infos from the solidity API: only solidified blocks have one there.
  assert.deepEqual(await tronWeb.trx.getTransactionInfo(usdt.txID), {});
  node.solidify(block.number);
  const info = await tronWeb.trx.getTransactionInfo(usdt.txID);
  assert.equal(info.blockNumber, block.number);
  const infos = (await tronWeb.fullNode.request('wallet/gettransactioninfobyblocknum', { num: block.number }, 'post')) as Array<{ log: Array<{ address: string }> }>;
  assert.equal(infos[0]?.log[0]?.address, tronAddressToBodyHex(USDT));
});

test('payments made with tronweb are credited by the decoder', async () => {
  const trx = await tronwebTrxTransfer(tronWeb, alice, deposit.address, 4_000_000);
  const usdt = await tronwebTrc20Transfer(tronWeb, alice, USDT, deposit.address, 5_000_000n);
  const reverted = await tronwebTrc20Transfer(tronWeb, alice, USDT, deposit.address, 6_000_000n, 'REVERT');
  const block = node.mine([trx, usdt, reverted]);
  const own = (b: Uint8Array) => Uint8Array.from(b).buffer as ArrayBuffer;
  const key = tronAddressToBodyHex(deposit.address);
  const decoded = decodeBlock(
    { height: block.number, parts: [own(Buffer.concat(block.chunks)), own(block.infos())] },
    { hasKey: (b, o, l) => Buffer.from(b.subarray(o, o + l)).toString('hex') === key },
    { tokens: [tronAddressToBodyHex(USDT)] },
  );
  assert.deepEqual(decoded.matches.map((m) => [(m as CreditMatch).asset, (m as CreditMatch).amount, m.txid]), [
    ['native', 4_000_000n, trx.txID],
    [USDT, 5_000_000n, usdt.txID],
  ]);
  assert.equal(tronAddressFromBody(deposit.body), deposit.address);
});

test('a transaction broadcast with tronweb is checked, mined by mine() and credited', async () => {
  const unsigned = await tronWeb.transactionBuilder.sendTrx(deposit.address, 8_000_000, alice.address, { blockHeader: { ...REF_BLOCK, timestamp: REF_BLOCK.timestamp + 999 } });
  const signed = await tronWeb.trx.sign(unsigned, Buffer.from(alice.privateKey).toString('hex'));
  assert.deepEqual(await tronWeb.trx.sendRawTransaction(signed), { result: true, txid: signed.txID, transaction: signed });
  const again = (await tronWeb.trx.sendRawTransaction(signed)) as unknown as { code: string };
  assert.equal(again.code, 'DUP_TRANSACTION_ERROR');
  const forged = { ...signed, signature: [signTxIdWith(signed.txID, accountFromSeed(99).privateKey)] };
  assert.equal(((await tronWeb.trx.sendRawTransaction(forged as never)) as unknown as { code: string }).code, 'SIGERROR');
  const block = node.mine();
  assert.deepEqual(block.txs.map((tx) => tx.txID), [signed.txID]);
  const own = (b: Uint8Array) => Uint8Array.from(b).buffer as ArrayBuffer;
  const key = tronAddressToBodyHex(deposit.address);
  const decoded = decodeBlock({ height: block.number, parts: [own(Buffer.concat(block.chunks)), own(block.infos())] }, { hasKey: (b, o, l) => Buffer.from(b.subarray(o, o + l)).toString('hex') === key }, { tokens: [] });
  assert.deepEqual(decoded.matches.map((m) => [m.txid, (m as CreditMatch).amount]), [[signed.txID, 8_000_000n]]);
});
