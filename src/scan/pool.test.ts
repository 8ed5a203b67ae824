// The decode pool: blocks are moved into worker threads, decoded by their family's decoder and
// come back as results in order; full queues make callers wait instead of failing; decoder errors
// come back as the same error classes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockDecodeError } from '../errors.ts';
import { AddressIndex } from './address-index.ts';
import { createDecodePool } from './pool.ts';
import type { CreditMatch, DecodeTask } from './types.ts';
import { scriptToKey } from '../chains/utxo/script.ts';
import { parseBlock } from '../chains/utxo/block.ts';
import { fixturesSkip, rawBlockFixtures } from '../../test/helpers/utxo-fixtures.ts';
import { startTronNode } from '../../test/helpers/tron-node.ts';
import { accountFromSeed, trxTransfer } from '../../test/helpers/tron-txs.ts';
import { tronAddressToBodyHex } from '../chains/tron/address.ts';

const skip = fixturesSkip();

/** A one-transaction block paying 5000 base units to the P2WPKH script of `hash`. */
function tinyBlock(hash: number): Uint8Array {
  const script = [0x00, 0x14, ...new Array<number>(20).fill(hash)];
  const tx = [1, 0, 0, 0, 1, ...new Array<number>(36).fill(0), 0, 0xff, 0xff, 0xff, 0xff, 1, 0x88, 0x13, 0, 0, 0, 0, 0, 0, script.length, ...script, 0, 0, 0, 0];
  return Uint8Array.from([...new Array<number>(80).fill(hash), 1, ...tx]);
}

function task(index: AddressIndex, blocks: Uint8Array[], coin = 'btc'): DecodeTask {
  return { family: 'utxo', chain: coin, blocks: blocks.map((bytes, i) => ({ height: i, parts: [bytes.slice().buffer] })), index: index.handle(), options: { coin, network: 'mainnet' } };
}

test('decode() moves the raw buffers into the worker and returns one result per block, in order', async () => {
  const pool = createDecodePool({ threads: 2, queueMax: 2 });
  try {
    const index = new AddressIndex();
    index.addKey(scriptToKey(Uint8Array.from([0x00, 0x14, ...new Array<number>(20).fill(7)])) as Uint8Array);
    const decodeTask = task(index, [5, 7, 9, 7].map(tinyBlock));
    const buffer = decodeTask.blocks[0]?.parts[0] as ArrayBuffer;
    const pending = pool.decode(decodeTask);
    assert.equal(buffer.byteLength, 0, 'transferred, not copied: the caller’s buffer is detached');
    const results = await pending;
    assert.deepEqual(results.map((r) => r.height), [0, 1, 2, 3]);
    assert.deepEqual(results.map((r) => r.matches.length), [0, 1, 0, 1]);
    assert.equal((results[1]?.matches[0] as CreditMatch).amount, 5000n);
  } finally {
    await pool.close();
  }
});

test('with recycle, the raw buffers come back intact after decoding, ready for the next blocks', async () => {
  const returned: ArrayBuffer[] = [];
  const pool = createDecodePool({ threads: 1, queueMax: 1, recycle: (buffers) => returned.push(...buffers) });
  try {
    const index = new AddressIndex();
    const blocks = [tinyBlock(3), tinyBlock(4)];
    const results = await pool.decode(task(index, blocks));
    assert.equal(results.length, 2);
    assert.equal(returned.length, 2);
    assert.deepEqual(returned.map((buffer) => new Uint8Array(buffer)), blocks, 'same bytes, moved back');
    // Errors give the buffers back too.
    await assert.rejects(pool.decode(task(index, [tinyBlock(5).subarray(0, 100)])), BlockDecodeError);
    assert.equal(returned.length, 3);
  } finally {
    await pool.close();
  }
});

test('a full queue makes callers wait (no "queue at limit" errors) and queueDepth() shows the backlog', async () => {
  const pool = createDecodePool({ threads: 1, queueMax: 1 });
  try {
    const index = new AddressIndex();
    const calls = Array.from({ length: 12 }, (_, i) => pool.decode(task(index, Array.from({ length: 50 }, () => tinyBlock(i)))));
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(pool.queueDepth() >= 10, `queue depth ${pool.queueDepth()}`);
    const results = await Promise.all(calls);
    assert.equal(results.length, 12);
    assert.ok(results.every((r) => r.length === 50));
    assert.equal(pool.queueDepth(), 0);
  } finally {
    await pool.close();
  }
});

test('a decoder error comes back as a BlockDecodeError with the byte offset; the pool keeps working', async () => {
  const pool = createDecodePool({ threads: 1, queueMax: 2 });
  try {
    const index = new AddressIndex();
    const broken = tinyBlock(1).subarray(0, 120);
    const rejection = await pool.decode(task(index, [tinyBlock(1), broken])).then(
      () => assert.fail('no error'),
      (error: unknown) => error,
    );
    assert.ok(rejection instanceof BlockDecodeError, String(rejection));
    assert.ok(rejection.offset > 80 && rejection.offset <= 120);
    assert.equal(rejection.details.chain, 'btc');
    await assert.rejects(pool.decode({ ...task(index, [tinyBlock(1)]), family: 'nope' as never }), /decode worker failed/);
    assert.equal((await pool.decode(task(index, [tinyBlock(2)]))).length, 1);
  } finally {
    await pool.close();
  }
  await assert.rejects(pool.decode(task(new AddressIndex(), [tinyBlock(1)])), /closed/);
});

test('real Bitcoin and Litecoin blocks decode through the pool, hash-checked, with matches', { skip }, async () => {
  const pool = createDecodePool({ threads: 2, queueMax: 4 });
  try {
    for (const fixture of rawBlockFixtures().filter((f) => f.height === 2265985 || f.height === 702861)) {
      const index = new AddressIndex();
      const layout = parseBlock(fixture.bytes, { mweb: fixture.coin === 'ltc' });
      const at = layout.outputScriptAt[0] as number;
      index.addKey(scriptToKey(fixture.bytes.subarray(at, at + (layout.outputScriptLength[0] as number))) as Uint8Array);
      const [decoded] = await pool.decode({ ...task(index, [], fixture.coin), blocks: [{ height: fixture.height, expectedHash: fixture.hash, parts: [fixture.bytes.slice().buffer] }] });
      assert.equal(decoded?.hash, fixture.hash);
      assert.equal(decoded?.txCount, layout.txCount);
      assert.ok((decoded?.matches.length ?? 0) >= 1, 'the coinbase output is watched');
      assert.deepEqual(decoded?.matches[0], { ...decoded?.matches[0], kind: 'credit', position: 0 });
    }
  } finally {
    await pool.close();
  }
});

test('a raw range (TRON: one getblockbylimitnext answer) gives one result per block it holds, in order', async () => {
  const node = await startTronNode();
  const pool = createDecodePool({ threads: 1, queueMax: 1 });
  try {
    const payer = accountFromSeed(31);
    const deposit = accountFromSeed(32);
    const blocks = [node.mine([]), node.mine([trxTransfer(payer, deposit.address, 77n)]), node.mine([])];
    const own = (bytes: Uint8Array) => Uint8Array.from(bytes).buffer as ArrayBuffer;
    const range = Buffer.from(`{"block":[${blocks.map((b) => Buffer.concat(b.chunks).toString()).join(',')}]}`);
    const index = new AddressIndex();
    index.addKey(Buffer.from(tronAddressToBodyHex(deposit.address), 'hex'));
    const results = await pool.decode({
      family: 'tron',
      chain: 'tron',
      blocks: [
        { height: blocks[0]!.number, count: 3, parts: [own(range), ...blocks.map((b) => own(b.infos()))] },
        { height: blocks[2]!.number, parts: [own(Buffer.concat(blocks[2]!.chunks)), own(blocks[2]!.infos())] },
      ],
      index: index.handle(),
      options: { tokens: [] },
    });
    assert.deepEqual(results.map((r) => r.height), [...blocks.map((b) => b.number), blocks[2]!.number]);
    assert.deepEqual(results.map((r) => r.matches.length), [0, 1, 0, 0]);
    assert.equal((results[1]?.matches[0] as CreditMatch).amount, 77n);
  } finally {
    await pool.close();
    await node.close();
  }
});
