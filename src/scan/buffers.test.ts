// The raw-block buffer recycler: buffers come back by size class and are handed out again; what
// must not be reused (a buffer given twice, a detached one, one beyond the bound) is not.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferRecycler, partBytes } from './buffers.ts';

test('take() gives a buffer of the size class at or above the size asked for, and reuses one given back', () => {
  const recycler = new BufferRecycler();
  const first = recycler.take(300_000);
  assert.equal(first.byteLength, 512 * 1024);
  assert.equal(recycler.take(1).byteLength, 64 * 1024, 'the smallest class is 64 KB');
  assert.equal(recycler.take(64 * 1024 + 1).byteLength, 128 * 1024);
  recycler.give([first]);
  assert.equal(recycler.kept, 512 * 1024);
  assert.notEqual(recycler.take(200_000), first, 'a request of the 256 KB class does not take the 512 KB buffer');
  const again = recycler.take(400_000);
  assert.equal(again, first, 'the same ArrayBuffer, not a new one');
  assert.equal(recycler.kept, 0);
  assert.equal(recycler.reused, 1);
});

test('give() drops detached buffers, odd sizes and anything beyond the bound, and refuses a buffer given twice', () => {
  const recycler = new BufferRecycler(256 * 1024);
  const moved = recycler.take(100_000);
  structuredClone(moved, { transfer: [moved] });
  assert.equal(moved.byteLength, 0);
  recycler.give([moved, new ArrayBuffer(100_000)]);
  assert.equal(recycler.kept, 0, 'a detached buffer and a 100,000-byte one are not kept');
  const a = recycler.take(128 * 1024);
  const b = recycler.take(128 * 1024);
  const c = recycler.take(128 * 1024);
  recycler.give([a, b, c]);
  assert.equal(recycler.kept, 256 * 1024, 'the third does not fit the bound');
  assert.throws(() => recycler.give([a]), /given back twice/);
});

test('partBytes() reads the used length of a part, and refuses a length beyond the buffer', () => {
  const buffer = new ArrayBuffer(16);
  new Uint8Array(buffer).set([1, 2, 3, 4]);
  assert.deepEqual([...partBytes([buffer], [3], 0)], [1, 2, 3]);
  assert.equal(partBytes([buffer], undefined, 0).length, 16, 'without lengths, the whole buffer');
  assert.throws(() => partBytes([buffer], [17], 0), RangeError);
  assert.throws(() => partBytes([buffer], [2], 1), RangeError);
});
