// inspectBlock(): the report of `settle inspect block`, checked against the node data of the
// fixtures (electrumx txids, Litecoin getblock values and addresses, bitcoinjs-lib outputs).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as bitcoin from 'bitcoinjs-lib';
import * as ecc from 'tiny-secp256k1';
import { parseAmount } from '../../amount.ts';
import { blockBytesFromFile, inspectBlock, inspectBlockFile } from './inspect.ts';
import { electrumxFixtures, fixturesSkip, framedBlocks, getblockFixtures, assembleGetblock, rawBlockFixtures } from '../../../test/helpers/utxo-fixtures.ts';

const skip = fixturesSkip();
bitcoin.initEccLib(ecc);

test('inspect of the electrumx fixtures: hash, BIP34 height, merkle, and txids equal the node’s', { skip }, () => {
  for (const fixture of electrumxFixtures()) {
    const report = inspectBlock(new Uint8Array(Buffer.from(fixture.blockHex, 'hex')), { coin: fixture.coin });
    assert.equal(report.hash, fixture.hash);
    assert.equal(report.height, fixture.height);
    assert.equal(report.merkle_ok, true);
    assert.equal(report.tx_count, fixture.txids.length);
    assert.deepEqual(report.txids, fixture.txids);
  }
});

test('inspect lists every output with its value in base units and its mainnet address, as bitcoinjs-lib does', { skip }, () => {
  const fixture = rawBlockFixtures().find((f) => f.height === 702861);
  assert.ok(fixture);
  const report = inspectBlock(fixture.bytes, { coin: 'btc' });
  const block = bitcoin.Block.fromBuffer(Buffer.from(fixture.bytes));
  const expected = (block.transactions ?? []).flatMap((tx) =>
    tx.outs.map((out, vout) => {
      let address: string | null;
      try {
        address = bitcoin.address.fromOutputScript(out.script, bitcoin.networks.bitcoin);
      } catch {
        address = null;
      }
      return { txid: tx.getId(), vout, value: out.value.toString(), address };
    }),
  );
  assert.deepEqual(report.outputs, expected);
  assert.equal(report.height, 702861);
});

test('inspect of Litecoin blocks: addresses (L…, M…, ltc1…) and values equal getblock’s', { skip }, () => {
  for (const block of getblockFixtures()) {
    const report = inspectBlock(assembleGetblock(block), { coin: 'ltc' });
    assert.equal(report.hash, block.hash);
    assert.equal(report.height, block.height);
    const expected = block.tx.flatMap((tx) =>
      tx.vout.map((out) => ({ txid: tx.txid, vout: out.n, value: parseAmount(out.value.toFixed(8), 8, { allowZero: true }).toString(), address: out.scriptPubKey.address ?? out.scriptPubKey.addresses?.[0] ?? null })),
    );
    assert.deepEqual(report.outputs, expected);
  }
});

test('inspect of a pre-BIP34 block reports height null', { skip }, () => {
  const report = inspectBlock(framedBlocks()[0] as Uint8Array, { coin: 'btc' });
  assert.equal(report.height, null);
  assert.equal(report.hash, '00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048');
  assert.equal(report.outputs[0]?.value, '5000000000');
  // The output is P2PK: no address.
  assert.equal(report.outputs[0]?.address, null);
});

test('inspect reads a block file given raw or as hex text (with line breaks)', { skip }, () => {
  const fixture = rawBlockFixtures().find((f) => f.height === 2265985);
  assert.ok(fixture);
  const dir = mkdtempSync(join(tmpdir(), 'settle-inspect-'));
  try {
    const hex = Buffer.from(fixture.bytes).toString('hex');
    writeFileSync(join(dir, 'block.bin'), fixture.bytes);
    writeFileSync(join(dir, 'block.hex'), `${hex.slice(0, 1000)}\n${hex.slice(1000).toUpperCase()}\n`);
    const fromRaw = inspectBlockFile(join(dir, 'block.bin'), { coin: 'ltc' });
    const fromHex = inspectBlockFile(join(dir, 'block.hex'), { coin: 'ltc' });
    assert.deepEqual(fromHex, fromRaw);
    assert.equal(fromRaw.hash, fixture.hash);
    assert.equal(fromRaw.merkle_ok, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => blockBytesFromFile(new TextEncoder().encode('abc')), /odd number of hex digits/);
});
