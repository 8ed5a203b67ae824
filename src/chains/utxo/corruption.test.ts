// Truncated, corrupted and hostile blocks end in BlockDecodeError naming a byte offset: never a
// crash (RangeError, TypeError), a hang, or a huge allocation from a count read out of the data.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockDecodeError } from '../../errors.ts';
import { AddressIndex, IndexView } from '../../scan/address-index.ts';
import { BlockLayout, parseBlock } from './block.ts';
import { decodeBlock } from './decode.ts';
import { fixturesSkip, rawBlockFixtures, type RawFixture } from '../../../test/helpers/utxo-fixtures.ts';

const skip = fixturesSkip();

/** Seeded generator (mulberry32) so a failure reproduces. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const index = IndexView.from(new AddressIndex({ outpoints: true }).handle());

function expectDecodeError(run: () => unknown, length: number, label: string): BlockDecodeError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof BlockDecodeError, `${label}: ${String(error)}`);
    assert.ok(error.offset >= 0 && error.offset <= length, `${label}: offset ${error.offset} within the ${length} bytes`);
    assert.match(error.message, /at byte offset \d+/);
    return error;
  }
  assert.fail(`${label}: no error`);
}

function fixture(height: number): RawFixture {
  const found = rawBlockFixtures().find((f) => f.height === height);
  assert.ok(found, `fixture ${height}`);
  return found;
}

test('a Litecoin MWEB block truncated at every offset is a BlockDecodeError', { skip }, () => {
  const { bytes } = fixture(2265985);
  const layout = new BlockLayout();
  for (let length = 0; length < bytes.length; length++) {
    expectDecodeError(() => parseBlock(bytes.subarray(0, length), { mweb: true }, layout), length, `truncated to ${length}`);
  }
});

test('Bitcoin blocks truncated at sampled offsets (segwit and legacy) are BlockDecodeErrors', { skip }, () => {
  const random = seededRandom(7);
  const layout = new BlockLayout();
  for (const height of [951658, 702861, 413567]) {
    const { bytes } = fixture(height);
    for (let i = 0; i < 400; i++) {
      const length = Math.floor(random() * bytes.length);
      expectDecodeError(() => parseBlock(bytes.subarray(0, length), { mweb: false }, layout), length, `${height} truncated to ${length}`);
    }
  }
});

test('random byte corruption decodes or fails with BlockDecodeError, never anything else', { skip }, () => {
  const random = seededRandom(42);
  let failed = 0;
  let decoded = 0;
  for (const { bytes, coin, height } of [fixture(2265985), fixture(951658)]) {
    for (let trial = 0; trial < 1500; trial++) {
      const copy = bytes.slice();
      const flips = 1 + Math.floor(random() * 8);
      for (let f = 0; f < flips; f++) copy[Math.floor(random() * copy.length)] = Math.floor(random() * 256);
      try {
        decodeBlock({ height, parts: [copy.buffer] }, index, { coin, network: 'mainnet' });
        decoded++;
      } catch (error) {
        assert.ok(error instanceof BlockDecodeError, `trial ${trial}: ${String(error)}`);
        failed++;
      }
    }
  }
  // Both outcomes happen: corruption of script or witness bytes still parses.
  assert.ok(failed > 100 && decoded > 100, `failed ${failed}, decoded ${decoded}`);
});

test('a corrupted header fails the expected-hash check; a corrupted output script fails the merkle check', { skip }, () => {
  const { bytes, hash, height } = fixture(951658);
  const header = bytes.slice();
  header[70] = (header[70] as number) ^ 1;
  const error = expectDecodeError(() => decodeBlock({ height, expectedHash: hash, parts: [header.buffer] }, index, { coin: 'btc' }), bytes.length, 'header');
  assert.match(error.message, /expected 0000/);

  const layout = parseBlock(bytes, { mweb: false });
  const script = bytes.slice();
  const at = layout.outputScriptAt[10] as number;
  script[at + 5] = (script[at + 5] as number) ^ 0xff;
  // Parses (scripts are opaque bytes) and matches nothing, but the txids no longer give the root.
  assert.doesNotThrow(() => decodeBlock({ height, parts: [script.slice().buffer] }, index, { coin: 'btc' }));
  expectDecodeError(() => decodeBlock({ height, parts: [script.buffer] }, index, { coin: 'btc', verifyMerkle: true } as never), bytes.length, 'merkle');
});

/** A minimal block: header, then the given bytes after the tx count. */
function craft(afterHeader: number[]): Uint8Array {
  return Uint8Array.from([...new Array<number>(80).fill(0), ...afterHeader]);
}

const TX_ONE_IN_ONE_OUT = [1, 0, 0, 0, 1, ...new Array<number>(36).fill(0), 0, 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

test('counts read from the data are bounded by the bytes left (no hang, no huge allocation)', () => {
  const cases: Array<[string, number[], RegExp]> = [
    ['tx count 2^32-1', [0xfe, 0xff, 0xff, 0xff, 0xff], /too large|cannot fit/],
    ['tx count 2^64-1', [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], /too large/],
    ['tx count 0', [0], /without transactions/],
    ['non-canonical tx count', [0xfd, 0x01, 0x00, ...TX_ONE_IN_ONE_OUT], /non-canonical/],
    ['input count 2^25', [1, 1, 0, 0, 0, 0xfe, 0x00, 0x00, 0x00, 0x02, ...new Array<number>(60).fill(0)], /cannot fit/],
    ['script length past the end', [1, 1, 0, 0, 0, 1, ...new Array<number>(36).fill(0), 0xfd, 0xff, 0xff, 0, 0, 0, 0], /truncated/],
    ['trailing bytes', [1, ...TX_ONE_IN_ONE_OUT, 0x00], /unexpected bytes/],
    ['segwit flag with empty witnesses', [1, 1, 0, 0, 0, 0, 1, ...TX_ONE_IN_ONE_OUT.slice(4, -4), 0, 0, 0, 0, 0], /superfluous witness/],
  ];
  for (const [label, body, message] of cases) {
    const bytes = craft(body);
    const error = expectDecodeError(() => parseBlock(bytes, { mweb: true }), bytes.length, label);
    assert.match(error.message, message, label);
  }
  assert.doesNotThrow(() => parseBlock(craft([1, ...TX_ONE_IN_ONE_OUT]), { mweb: false }), 'the well-formed base case parses');
});

test('MWEB flags are refused on Bitcoin, and a bad MWEB presence byte on Litecoin', () => {
  // version | 00 08 | one input | one output | mweb_tx_present | locktime
  const hogEx = [1, 0, 0, 0, 0, 0x08, ...TX_ONE_IN_ONE_OUT.slice(4, -4)];
  const coinbase = TX_ONE_IN_ONE_OUT;
  expectDecodeError(() => parseBlock(craft([2, ...coinbase, ...hogEx, 0, 0, 0, 0, 0, 0]), { mweb: false }), 200, 'btc');
  const twoPresent = craft([2, ...coinbase, ...hogEx, 2, 0, 0, 0, 0]);
  assert.throws(() => parseBlock(twoPresent, { mweb: true }), /invalid MWEB transaction presence byte 2/);
  // A HogEx with no MWEB block after it (presence 0) is well-formed.
  const layout = parseBlock(craft([2, ...coinbase, ...hogEx, 0, 0, 0, 0, 0, 0]), { mweb: true });
  assert.equal(layout.mwebStart, -1);
  assert.throws(() => parseBlock(craft([2, ...coinbase, ...hogEx, 0, 0, 0, 0, 0]), { mweb: true }), /MWEB presence byte missing/);
});
