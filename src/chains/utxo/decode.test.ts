// decodeBlock() returns header facts and only the matches: credits to watched scripts (with txid,
// output index, amount and address checked against bitcoinjs-lib) and spends of watched outpoints.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as bitcoin from 'bitcoinjs-lib';
import * as ecc from 'tiny-secp256k1';
import { AddressIndex, IndexView } from '../../scan/address-index.ts';
import type { CreditMatch, SpendMatch } from '../../scan/types.ts';
import { decodeBlock } from './decode.ts';
import { scriptToKey } from './script.ts';
import { assembleGetblock, fixturesSkip, getblockFixtures, rawBlockFixtures } from '../../../test/helpers/utxo-fixtures.ts';

const skip = fixturesSkip();
// bitcoinjs-lib needs a secp256k1 library to know Taproot outputs.
bitcoin.initEccLib(ecc);

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

test('decodeBlock() reports credits to watched scripts of every type, as bitcoinjs-lib reads them', { skip }, () => {
  const fixture = rawBlockFixtures().find((f) => f.height === 951658);
  assert.ok(fixture);
  const block = bitcoin.Block.fromBuffer(Buffer.from(fixture.bytes));
  const index = new AddressIndex({ outpoints: true });
  const expected: Array<Omit<CreditMatch, 'kind' | 'asset' | 'from'>> = [];
  const typesSeen = new Set<number>();
  for (const tx of block.transactions ?? []) {
    tx.outs.forEach((out, n) => {
      const key = scriptToKey(out.script);
      // One output per script type, plus every 40th keyed output.
      if (key === undefined || (typesSeen.has(key[0] as number) && (expected.length + n) % 40 !== 0)) return;
      typesSeen.add(key[0] as number);
      index.addKey(key);
      expected.push({ txid: tx.getId(), position: n, key: hex(key), address: bitcoin.address.fromOutputScript(out.script, bitcoin.networks.bitcoin), amount: BigInt(out.value) });
    });
  }
  assert.ok(typesSeen.size >= 4, `script types in the block: ${[...typesSeen]}`);
  const decoded = decodeBlock({ height: 951658, expectedHash: fixture.hash, parts: [fixture.bytes.slice().buffer] }, IndexView.from(index.handle()), { coin: 'btc', network: 'mainnet' });
  assert.equal(decoded.hash, fixture.hash);
  assert.equal(decoded.parentHash, '000000000000000000015c67a8b2c9ffe8350289b4a64cc44e85f4c6f3094432');
  assert.equal(decoded.timestampS, 1780112431);
  assert.equal(decoded.txCount, 374);
  // Every output paying a watched script is reported, including outputs reusing a script.
  const credits = decoded.matches.filter((m): m is CreditMatch => m.kind === 'credit');
  assert.equal(decoded.matches.length, credits.length, 'no outpoints watched: no spends');
  for (const want of expected) {
    const got = credits.find((c) => c.txid === want.txid && c.position === want.position);
    assert.deepEqual(got, { kind: 'credit', asset: 'native', ...want }, `${want.txid}:${want.position}`);
  }
  const watchedKeys = new Set(expected.map((e) => e.key));
  const allPaying = (block.transactions ?? []).flatMap((tx) => tx.outs.filter((out) => watchedKeys.has(hex(scriptToKey(out.script) ?? new Uint8Array()))));
  assert.equal(credits.length, allPaying.length);
});

test('decodeBlock() reports spends of watched outpoints with the spending txid and input index', { skip }, () => {
  const fixture = rawBlockFixtures().find((f) => f.height === 702861);
  assert.ok(fixture);
  const block = bitcoin.Block.fromBuffer(Buffer.from(fixture.bytes));
  const index = new AddressIndex({ outpoints: true });
  const expected: SpendMatch[] = [];
  (block.transactions ?? []).forEach((tx, t) => {
    if (t === 0 || t % 300 !== 7) return;
    const inputIndex = tx.ins.length - 1;
    const input = tx.ins[inputIndex] as { hash: Uint8Array; index: number };
    index.addOutpoint(input.hash, input.index);
    expected.push({ kind: 'spend', txid: tx.getId(), inputIndex, prevTxid: hex(Uint8Array.from(input.hash).reverse()), prevVout: input.index });
  });
  const decoded = decodeBlock({ height: 702861, parts: [fixture.bytes.slice().buffer] }, IndexView.from(index.handle()), { coin: 'btc', network: 'mainnet' });
  assert.deepEqual(decoded.matches, expected);
  assert.equal(expected.length, 9);
});

test('decodeBlock() rejects bytes that do not hash to the expected block hash', { skip }, () => {
  const fixture = rawBlockFixtures().find((f) => f.height === 300025);
  assert.ok(fixture);
  const index = IndexView.from(new AddressIndex().handle());
  assert.throws(
    () => decodeBlock({ height: 300025, expectedHash: '00'.repeat(32), parts: [fixture.bytes.slice().buffer] }, index, { coin: 'btc' }),
    { name: 'BlockDecodeError', message: /hashes to 0000000000000000821c4e0acc40f88bedbce3b73ba2358b5ade58a9022cc78c, expected 0000/ },
  );
});

test('decodeBlock() matches HogEx pegout outputs (vout ≥ 1) of a Litecoin MWEB block, with ltc addresses', { skip }, () => {
  const block = getblockFixtures().find((b) => b.height === 2383207);
  assert.ok(block);
  const hogEx = block.tx.at(-1);
  assert.ok(hogEx);
  // HogEx: version | 00 08 | vin (1 input, 42 bytes) | vout | mweb_tx_present=0 | locktime.
  // Add a pegout to a P2WPKH script; the merkle root no longer matches (not checked by default).
  const vin = hogEx.hex.slice(12, 12 + 84);
  const hogAddr = hogEx.hex.slice(12 + 84 + 2, hogEx.hex.length - 10);
  const pegoutScript = '0014' + '7e'.repeat(20);
  const pegout = '00e1f50500000000' + '16' + pegoutScript; // 1 LTC
  const txHexes = block.tx.map((tx) => tx.hex);
  txHexes[txHexes.length - 1] = `${hogEx.hex.slice(0, 12)}${vin}02${hogAddr}${pegout}0000000000`;
  const bytes = assembleGetblock(block, txHexes);
  const index = new AddressIndex();
  index.addKey(scriptToKey(Buffer.from(pegoutScript, 'hex')) as Uint8Array);
  const view = IndexView.from(index.handle());
  for (const [network, address] of [
    ['mainnet', bitcoin.address.toBech32(Buffer.alloc(20, 0x7e), 0, 'ltc')],
    ['testnet', bitcoin.address.toBech32(Buffer.alloc(20, 0x7e), 0, 'tltc')],
  ] as const) {
    assert.match(address, network === 'mainnet' ? /^ltc1q/ : /^tltc1q/);
    const decoded = decodeBlock({ height: 2383207, parts: [bytes.slice().buffer] }, view, { coin: 'ltc', network });
    assert.equal(decoded.matches.length, 1);
    const [credit] = decoded.matches as CreditMatch[];
    assert.equal(credit?.position, 1);
    assert.equal(credit?.amount, 100_000_000n);
    assert.equal(credit?.address, address);
    assert.equal(credit?.key, `03${'7e'.repeat(20)}`);
  }
});
