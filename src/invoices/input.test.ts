import { test } from 'node:test';
import assert from 'node:assert/strict';
import { instantInRange, jsonProblem, textProblem } from './input.ts';

test('textProblem() refuses NUL and lone surrogates but keeps paired surrogates and other text', () => {
  assert.match(textProblem('ORD\u00001') ?? '', /NUL/);
  assert.match(textProblem('\ud800') ?? '', /surrogate/);
  assert.match(textProblem('a\udc00b') ?? '', /surrogate/);
  assert.match(textProblem('\ud83d') ?? '', /surrogate/, 'a high surrogate at the end');
  assert.equal(textProblem('ORD-001 😀 ü \t\n'), undefined);
});

test('jsonProblem() finds a NUL or lone surrogate in any key or string, with its path', () => {
  assert.deepEqual(jsonProblem({ a: { b: ['x', 'y\u0000'] } }, 32)?.path, ['a', 'b', '1']);
  assert.deepEqual(jsonProblem({ a: { 'k\u0000': 1 } }, 32)?.path, ['a']);
  assert.match(jsonProblem({ 'k\ud800': 1 }, 32)?.message ?? '', /key .*surrogate/);
  assert.equal(jsonProblem({ a: [1, true, null, 'ok', { b: '😀' }] }, 32), undefined);
  assert.equal(jsonProblem({ a: 'y\u0000' }, 32, true), undefined, 'depthOnly looks at nesting only');
});

test('jsonProblem() bounds nesting without recursion, even 100,000 levels deep', () => {
  const nest = (levels: number): unknown => {
    let value: unknown = {};
    for (let i = 1; i < levels; i++) value = { a: value };
    return value;
  };
  assert.equal(jsonProblem(nest(32), 32), undefined);
  assert.match(jsonProblem(nest(33), 32)?.message ?? '', /deeper than 32/);
  assert.match(jsonProblem(nest(100_000), 32)?.message ?? '', /deeper than 32/);
  let array: unknown = [];
  for (let i = 0; i < 100_000; i++) array = [array];
  assert.match(jsonProblem(array, 64, true)?.message ?? '', /deeper than 64/);
});

test('instantInRange() accepts the years 0001..9999 only', () => {
  assert.equal(instantInRange(Date.parse('0001-01-01T00:00:00Z')), true);
  assert.equal(instantInRange(Date.parse('9999-12-31T23:59:59.999Z')), true);
  assert.equal(instantInRange(Date.parse('2026-12-02T17:00:00Z')), true);
  assert.equal(instantInRange(Date.parse('0000-01-01T00:00:00Z')), false);
  assert.equal(instantInRange(Date.parse('-100000-01-01T00:00:00Z')), false);
  assert.equal(instantInRange(Date.parse('+200000-01-01T00:00:00Z')), false);
  assert.equal(instantInRange(Number.NaN), false);
});
