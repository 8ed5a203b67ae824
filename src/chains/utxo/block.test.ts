// The parser on every real Bitcoin and Litecoin block of the shared fixtures: every byte consumed,
// block hash and merkle root recomputed, txids as the node reported them, MWEB extension parsed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockLayout, parseBlock, TX_HOGEX, TX_SEGWIT } from './block.ts';
import { allTxids, blockHashHex, merkleMatches, toHexReversed, txidHex } from './hash.ts';
import { scriptToAddress } from './address.ts';
import { addressParams } from './networks.ts';
import { readU64 } from './reader.ts';
import { parseAmount } from '../../amount.ts';
import {
  assembleGetblock,
  electrumxFixtures,
  fixturesSkip,
  framedBlocks,
  getblockFixtures,
  rawBlockFixtures,
} from '../../../test/helpers/utxo-fixtures.ts';

const skip = fixturesSkip();

test('parseBlock() consumes every byte of each raw fixture block and its txids give the header merkle root', { skip }, () => {
  for (const fixture of rawBlockFixtures()) {
    const layout = parseBlock(fixture.bytes, { mweb: fixture.coin === 'ltc' });
    assert.equal(blockHashHex(fixture.bytes), fixture.hash, fixture.name);
    assert.ok(merkleMatches(layout, allTxids(layout)), `${fixture.name}: merkle root`);
    assert.equal(layout.txEnd[layout.txCount - 1], fixture.coin === 'ltc' ? layout.mwebStart - 1 : fixture.bytes.length, `${fixture.name}: last tx ends where the block (or its MWEB part) does`);
  }
});

test('parseBlock() reads the Litecoin MWEB block 2265985: HogEx last, extension block height 2265985, all bytes consumed', { skip }, () => {
  const fixture = rawBlockFixtures().find((f) => f.height === 2265985);
  assert.ok(fixture);
  const layout = parseBlock(fixture.bytes, { mweb: true });
  assert.equal(layout.txCount, 58);
  assert.ok(((layout.txFlags[57] as number) & TX_HOGEX) !== 0, 'last transaction is the HogEx');
  assert.equal(layout.mwebHeight, 2265985);
  assert.equal(layout.mwebEnd, fixture.bytes.length);
  assert.ok(layout.mwebEnd - layout.mwebStart > 5000);
  // Without MWEB support the HogEx's flag 0x08 is refused, not misread.
  assert.throws(() => parseBlock(fixture.bytes, { mweb: false }), { name: 'BlockDecodeError', message: /unknown transaction flags 0x8/ });
});

test('parseBlock() reads blocks 1..255 from the framed file; each links to the previous one', { skip }, () => {
  const blocks = framedBlocks();
  assert.equal(blocks.length, 255);
  const layout = new BlockLayout();
  let previous = '00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048'; // block 1
  blocks.forEach((bytes, i) => {
    parseBlock(bytes, { mweb: false }, layout);
    assert.ok(merkleMatches(layout), `block ${i + 1} merkle`);
    const hash = blockHashHex(bytes);
    if (i === 0) assert.equal(hash, previous);
    else assert.equal(toHexReversed(bytes, 4, 32), previous, `block ${i + 1} parent`);
    previous = hash;
  });
  assert.equal(previous, '00000000d0a75c861fabf9ff7b92022f60e4afeed9331fe5aa073d8e4706fe3c');
});

test('txids of the electrumx fixtures equal the node-reported txids, in order', { skip }, () => {
  for (const fixture of electrumxFixtures()) {
    const bytes = new Uint8Array(Buffer.from(fixture.blockHex, 'hex'));
    const layout = parseBlock(bytes, { mweb: fixture.coin === 'ltc' });
    assert.equal(blockHashHex(bytes), fixture.hash);
    const txids = Array.from({ length: layout.txCount }, (_, tx) => txidHex(layout, tx));
    assert.deepEqual(txids, fixture.txids);
  }
});

test('Litecoin getblock fixtures: txids, merkle root, hash, values and addresses of every output equal the node JSON', { skip }, () => {
  const params = addressParams('ltc', 'mainnet');
  for (const block of getblockFixtures()) {
    const bytes = assembleGetblock(block);
    const layout = parseBlock(bytes, { mweb: true });
    assert.equal(blockHashHex(bytes), block.hash);
    assert.ok(merkleMatches(layout));
    assert.ok(((layout.txFlags[layout.txCount - 1] as number) & TX_HOGEX) !== 0);
    block.tx.forEach((tx, i) => {
      assert.equal(txidHex(layout, i), tx.txid);
      const first = layout.txFirstOutput[i] as number;
      assert.equal((layout.txFirstOutput[i + 1] as number) - first, tx.vout.length);
      for (const out of tx.vout) {
        const o = first + out.n;
        const at = layout.outputScriptAt[o] as number;
        assert.equal(Buffer.from(bytes.subarray(at, at + (layout.outputScriptLength[o] as number))).toString('hex'), out.scriptPubKey.hex);
        assert.equal(readU64(bytes, layout.outputValueAt[o] as number), parseAmount(out.value.toFixed(8), 8, { allowZero: true }));
        const expected = out.scriptPubKey.address ?? out.scriptPubKey.addresses?.[0] ?? null;
        assert.equal(scriptToAddress(bytes, at, layout.outputScriptLength[o] as number, params), expected, `${tx.txid}:${out.n}`);
      }
    });
  }
});

test('parseBlock() marks segwit transactions and keeps witness bytes out of the txid serialization', { skip }, () => {
  const fixture = rawBlockFixtures().find((f) => f.height === 951658);
  assert.ok(fixture);
  const layout = parseBlock(fixture.bytes, { mweb: false });
  let segwit = 0;
  for (let tx = 0; tx < layout.txCount; tx++) {
    if (((layout.txFlags[tx] as number) & TX_SEGWIT) === 0) continue;
    segwit++;
    assert.equal(layout.txBodyStart[tx], (layout.txStart[tx] as number) + 6, 'marker and flag skipped');
    assert.ok((layout.txBodyEnd[tx] as number) < (layout.txEnd[tx] as number) - 4, 'witness between outputs and locktime');
  }
  assert.equal(segwit, 369);
});
