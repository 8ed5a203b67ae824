// The shared AddressIndex: keys and outpoints added on the main thread are found by IndexViews
// straight from caller bytes, growth moves to new buffers without disturbing old handles, memory
// stays within budget, and a reader in another thread never sees a later key before an earlier.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { AddressIndex, IndexView } from './address-index.ts';
import { capacityFor, sharedSetBytes } from './shared-set.ts';

function key(type: number, length: number): Uint8Array {
  const bytes = new Uint8Array(randomBytes(length));
  bytes[0] = type;
  return bytes;
}

test('added keys of 20, 21 and 33 bytes are found; near misses are not', () => {
  const index = new AddressIndex();
  const keys = [key(3, 21), key(4, 33), key(0xab, 20)];
  for (const k of keys) index.addKey(k);
  index.addKey(keys[0] as Uint8Array);
  assert.equal(index.size, 3, 'adding twice is idempotent');
  const view = IndexView.from(index.handle());
  for (const k of keys) {
    assert.ok(index.hasKey(k));
    // Embedded in a larger buffer at an odd offset: looked up in place.
    const buffer = new Uint8Array(100);
    buffer.set(k, 37);
    assert.ok(view.hasKey(buffer, 37, k.length));
    assert.ok(!view.hasKey(buffer, 36, k.length));
    assert.ok(!view.hasKey(buffer, 37, k.length - 1), 'a prefix is another key');
    for (const at of [0, 5, k.length - 1]) {
      const other = k.slice();
      other[at] = (other[at] as number) ^ 0x01;
      assert.ok(!index.hasKey(other), `one bit changed at ${at}`);
    }
  }
});

test('typed lookups find [type, ...hash] from the hash inside a script', () => {
  const index = new AddressIndex();
  const hash = new Uint8Array(randomBytes(20));
  index.addKey(Uint8Array.from([3, ...hash]));
  const script = Uint8Array.from([0x00, 0x14, ...hash]);
  const view = IndexView.from(index.handle());
  assert.ok(view.hasTypedKey(3, script, 2, 20));
  assert.ok(!view.hasTypedKey(1, script, 2, 20), 'the same hash as another script type is another key');
  assert.ok(!view.hasTypedKey(3, script, 1, 20));
});

test('outpoints are added, found by txid bytes and vout, and removed', () => {
  const index = new AddressIndex({ outpoints: true });
  const txid = new Uint8Array(randomBytes(32));
  index.addOutpoint(txid, 0);
  index.addOutpoint(txid, 0xffff_ffff);
  index.addOutpoint(txid, 7);
  const input = new Uint8Array(80);
  input.set(txid, 11);
  const view = IndexView.from(index.handle());
  assert.ok(view.watchesOutpoints());
  assert.ok(view.hasOutpoint(input, 11, 0));
  assert.ok(view.hasOutpoint(input, 11, 7));
  assert.ok(view.hasOutpoint(input, 11, 0xffff_ffff));
  assert.ok(!view.hasOutpoint(input, 11, 1));
  assert.ok(!view.hasOutpoint(input, 12, 0));
  assert.equal(index.removeOutpoint(txid, 7), true);
  assert.equal(index.removeOutpoint(txid, 7), false);
  assert.ok(!view.hasOutpoint(input, 11, 7), 'the removal is visible through existing views');
  assert.ok(view.hasOutpoint(input, 11, 0));
  index.addOutpoint(txid, 7);
  assert.ok(index.hasOutpoint(txid, 7), 'added again after removal');
  assert.equal(index.outpointCount, 3);
  assert.ok(!IndexView.from(new AddressIndex().handle()).watchesOutpoints());
  assert.throws(() => new AddressIndex().addOutpoint(txid, 0), /without outpoints/);
});

test('the index grows into new buffers: new handles see every key, old handles keep their snapshot', () => {
  const index = new AddressIndex({ capacity: 10 });
  const first = Array.from({ length: 40 }, () => key(3, 21));
  for (const k of first) index.addKey(k);
  const oldHandle = index.handle();
  const oldView = IndexView.from(oldHandle);
  const bytesBefore = index.bytes;
  const more = Array.from({ length: 20_000 }, () => key(5, 33));
  for (const k of more) index.addKey(k);
  assert.equal(index.size, 20_040);
  assert.notEqual(index.handle().keys, oldHandle.keys);
  assert.ok(index.bytes > bytesBefore);
  const newView = IndexView.from(index.handle());
  for (const k of [...first, ...more]) assert.ok(newView.hasKey(k, 0, k.length));
  for (const k of first) assert.ok(oldView.hasKey(k, 0, k.length));
  assert.ok(!oldView.hasKey(more[19_999] as Uint8Array, 0, 33), 'keys added after growth are not in the old buffer');
  assert.equal(IndexView.from(index.handle()), newView, 'views are cached per buffer');
});

test('removed outpoints are compacted away: memory stays bounded under churn', () => {
  const index = new AddressIndex({ outpoints: true, outpointCapacity: 100 });
  const txid = new Uint8Array(32);
  const bytesAtStart = index.bytes;
  for (let i = 0; i < 50_000; i++) {
    new DataView(txid.buffer).setUint32(0, i);
    index.addOutpoint(txid, i % 3);
    if (i >= 50) {
      new DataView(txid.buffer).setUint32(0, i - 50);
      assert.ok(index.removeOutpoint(txid, (i - 50) % 3));
    }
  }
  assert.equal(index.outpointCount, 50);
  assert.ok(index.bytes <= bytesAtStart * 2, `${index.bytes} bytes after churn, ${bytesAtStart} at start`);
});

test('1,000,000 watched scripts fit in 200 MB of shared memory in total', () => {
  const keysBytes = sharedSetBytes(capacityFor(1_000_000), 33);
  assert.ok(keysBytes <= 200e6, `${keysBytes} bytes`);
  const index = new AddressIndex({ capacity: 1_000_000, outpoints: true });
  assert.ok(index.bytes <= 200e6, `${index.bytes} bytes`);
  for (let i = 0; i < 1_000; i++) index.addKey(key(3, 21));
  assert.equal(index.handle().keys.byteLength, keysBytes, 'no growth below the configured capacity');
});

test('keys outside 9..33 bytes are refused', () => {
  const index = new AddressIndex();
  assert.throws(() => index.addKey(new Uint8Array(34)), /key length 34/);
  assert.throws(() => index.addKey(new Uint8Array(8)), /key length 8/);
});

test('a reader thread never sees a key before the keys added ahead of it', async () => {
  const count = 200_000;
  const index = new AddressIndex({ capacity: count });
  const keys = new Uint8Array(count * 21);
  keys.set(randomBytes(keys.length));
  const worker = new Worker(new URL('../../test/helpers/index-reader-worker.mjs', import.meta.url), { workerData: { handle: index.handle(), keys } });
  const result = new Promise<{ violations: number; seenPresent: number; seenAbsent: number }>((resolve, reject) => {
    worker.on('message', (message: unknown) => {
      if (message !== 'ready') resolve(message as { violations: number; seenPresent: number; seenAbsent: number });
    });
    worker.on('error', reject);
  });
  await new Promise<void>((resolve) => worker.once('message', () => resolve()));
  for (let i = 0; i < count; i++) index.addKey(keys.subarray(i * 21, (i + 1) * 21));
  const { violations, seenPresent, seenAbsent } = await result;
  console.log(`# reader saw ${seenPresent} present and ${seenAbsent} absent keys while the writer added them`);
  await worker.terminate();
  assert.equal(violations, 0);
  assert.ok(seenPresent > 0);
});
