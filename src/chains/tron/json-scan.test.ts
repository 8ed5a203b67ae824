import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ascii, JsonCursor, JsonScanError, parseJsonExact } from './json-scan.ts';

const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'));

/** A small seeded generator, so a failure replays. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomValue(random: () => number, depth: number): unknown {
  const pick = Math.floor(random() * (depth > 4 ? 4 : 7));
  const strings = ['', 'a', 'SUCCESS', 'quote " inside', 'back\\slash\\', 'ends with \\', 'ünïcödé ✓', '{"not":"json"}', '\n\t', '"]}'];
  switch (pick) {
    case 0: return strings[Math.floor(random() * strings.length)];
    case 1: return Math.floor(random() * 1e12);
    case 2: return [true, false, null][Math.floor(random() * 3)];
    case 3: return -Math.floor(random() * 1000) / 8;
    case 4: return Array.from({ length: Math.floor(random() * 4) }, () => randomValue(random, depth + 1));
    default: {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < Math.floor(random() * 5); i += 1) out[strings[Math.floor(random() * strings.length)] + String(i)] = randomValue(random, depth + 1);
      return out;
    }
  }
}

function spaced(text: string, random: () => number): string {
  // Whitespace between tokens only: re-serialize with a random indent.
  return random() < 0.5 ? text : JSON.stringify(JSON.parse(text), null, 1 + Math.floor(random() * 3));
}

test('parseJsonExact() equals JSON.parse on 2,000 random documents with escapes and whitespace', () => {
  const random = seeded(7);
  for (let i = 0; i < 2000; i += 1) {
    const text = spaced(JSON.stringify(randomValue(random, 0)), random);
    assert.deepEqual(parseJsonExact(bytes(text)), JSON.parse(text), text);
  }
});

test('skipValue() lands exactly after each value of an array, whatever the value', () => {
  const random = seeded(11);
  for (let i = 0; i < 500; i += 1) {
    const items = Array.from({ length: 1 + Math.floor(random() * 5) }, () => randomValue(random, 0));
    const text = spaced(JSON.stringify(items), random);
    const c = new JsonCursor(bytes(text));
    c.openArray();
    let count = 0;
    while (c.nextItem()) {
      c.skipValue();
      count += 1;
    }
    c.finish();
    assert.equal(count, items.length, text);
  }
});

test('integers beyond 2^53 are read exactly, never rounded', () => {
  const text = '{"amount":9007199254740993,"big":"123456789012345678901234567890","n":42}';
  assert.deepEqual(parseJsonExact(bytes(text)), { amount: 9007199254740993n, big: '123456789012345678901234567890', n: 42 });
  const c = new JsonCursor(bytes(text));
  c.openObject();
  assert.ok(c.nextKey());
  assert.ok(c.is(ascii('amount')));
  assert.equal(c.readBigInt(), 9_007_199_254_740_993n);
  assert.ok(c.nextKey());
  assert.equal(c.readBigInt(), 123456789012345678901234567890n, 'int64_as_string form');
  assert.ok(c.nextKey());
  assert.equal(c.readSafeInteger(), 42);
  assert.equal(c.nextKey(), false);
});

test('readDigits() refuses signs, fractions and exponents rather than rounding them', () => {
  for (const value of ['-1', '1.5', '1e6', '1E6', '"1.0"', '""', 'true']) {
    const c = new JsonCursor(bytes(`[${value}]`));
    c.openArray();
    c.nextItem();
    assert.throws(() => c.readDigits(), JsonScanError, value);
  }
  const big = new JsonCursor(bytes('1234567890123456'));
  assert.throws(() => big.readSafeInteger(), /too large/);
});

test('malformed input fails with the byte position, never loops or reads past the end', () => {
  const cases = ['{"a":1', '{"a" 1}', '{"a":1 "b":2}', '[1,]x', '[1 2]', '{"a":[}', '{"a":"open}', '[{]', '{"a":{"b":[1,2}}}', '[' + '['.repeat(80) + ']'.repeat(81)];
  for (const text of cases) {
    assert.throws(() => parseJsonExact(bytes(text)), (e: unknown) => e instanceof JsonScanError && /at byte \d+/.test(e.message), text);
  }
  const skipping = new JsonCursor(bytes('[{"a":[1,2}]'));
  skipping.openArray();
  skipping.nextItem();
  assert.throws(() => skipping.skipValue(), /mismatched bracket/);
});

test('a cursor over a slice reads only the slice', () => {
  const text = 'xx{"a":"b"}yy';
  const c = new JsonCursor(bytes(text), 2, 11);
  c.openObject();
  assert.ok(c.nextKey());
  c.readString();
  assert.equal(c.text(), 'b');
  assert.equal(c.nextKey(), false);
  c.finish();
});
