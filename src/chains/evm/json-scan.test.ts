import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scanBlockHeader, splitBatchResults, splitFlatObjects, splitSingleResult } from './json-scan.ts';

const BLOCK = { hash: `0x${'aa'.repeat(32)}`, parentHash: `0x${'bb'.repeat(32)}`, number: '0x1b4', timestamp: '0x5f5e100', transactions: [{ hash: `0x${'cc'.repeat(32)}` }] };

function slices(body: string, count: number): string[] | undefined {
  const b = Buffer.from(body);
  return splitBatchResults(b, count)?.map((s) => `${s.id}:${b.toString('latin1', s.start, s.end)}`);
}

test('splitBatchResults() slices each result out of a batch response, whatever the envelope key order', () => {
  const a = JSON.stringify(BLOCK);
  assert.deepEqual(slices(`[{"jsonrpc":"2.0","id":7,"result":${a}},{"jsonrpc":"2.0","id":8,"result":null}]`, 2), [`7:${a}`, '8:null']);
  assert.deepEqual(slices(`[{"jsonrpc":"2.0","result":${a},"id":3},{"result":{"x":{"y":[1]}},"jsonrpc":"2.0","id":4}]`, 2), [`3:${a}`, '4:{"x":{"y":[1]}}']);
  assert.deepEqual(slices(`[\n  {"id": 2, "jsonrpc": "2.0", "result": ${a}} ,\n  {"id": 1, "result": {} }\n]\n`, 2), [`2:${a}`, '1:{}']);
});

test('splitBatchResults() declines what it cannot slice safely: errors, counts, non-object results, string ids', () => {
  const a = JSON.stringify(BLOCK);
  assert.equal(slices(`[{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"x"}},{"jsonrpc":"2.0","id":2,"result":${a}}]`, 2), undefined);
  assert.equal(slices(`[{"jsonrpc":"2.0","id":1,"result":${a}}]`, 2), undefined);
  assert.equal(slices(`[{"jsonrpc":"2.0","id":1,"result":"0x10"}]`, 1), undefined);
  assert.equal(slices(`[{"jsonrpc":"2.0","id":"1","result":${a}}]`, 1), undefined);
  assert.equal(slices(`{"jsonrpc":"2.0","id":1,"result":${a}}`, 1), undefined);
  assert.equal(slices(`[{"jsonrpc":"2.0","id":1,"result":${a}} junk]`, 1), undefined);
});

test('scanBlockHeader() reads number, hash, parent and timestamp written before the transactions', () => {
  const text = Buffer.from(JSON.stringify(BLOCK));
  assert.deepEqual(scanBlockHeader(text, 0, text.length), {
    hash: BLOCK.hash,
    parentHash: BLOCK.parentHash,
    number: 436,
    timestampS: 100_000_000,
    transactionsAt: text.indexOf('"transactions":'),
  });
});

test('scanBlockHeader() declines a block whose header follows its transactions (a transaction hash would be read)', () => {
  const { transactions, ...header } = BLOCK;
  const text = Buffer.from(JSON.stringify({ transactions, ...header }));
  assert.equal(scanBlockHeader(text, 0, text.length), undefined);
  const noHash = Buffer.from(JSON.stringify({ ...BLOCK, hash: '0x12' }));
  assert.equal(scanBlockHeader(noHash, 0, noHash.length), undefined);
});

test('splitSingleResult() slices the result of one response, checking its id', () => {
  const single = (body: string, id: number): string | undefined => {
    const b = Buffer.from(body);
    const slice = splitSingleResult(b, id);
    return slice === undefined ? undefined : b.toString('latin1', slice.start, slice.end);
  };
  assert.equal(single('{"jsonrpc":"2.0","id":5,"result":[{"a":["0x1"]},{"b":2}]}', 5), '[{"a":["0x1"]},{"b":2}]');
  assert.equal(single('{"jsonrpc":"2.0","result":{"x":{}} ,"id":6}\n', 6), '{"x":{}}');
  assert.equal(single('{"jsonrpc":"2.0","id":7,"result":null}', 7), 'null');
  assert.equal(single('{"jsonrpc":"2.0","id":7,"result":null}', 8), undefined);
  assert.equal(single('{"jsonrpc":"2.0","id":7,"result":"0x1"}', 7), undefined);
  assert.equal(single('{"jsonrpc":"2.0","id":7,"error":{"code":-32000,"message":"x"}}', 7), undefined);
});

test('splitFlatObjects() finds each object of an array of flat objects, and declines nesting', () => {
  const objects = (text: string): string[] | undefined => {
    const b = Buffer.from(text);
    return splitFlatObjects(b)?.map((o) => b.toString('latin1', o.start, o.end));
  };
  assert.deepEqual(objects(' [ {"a":["x","y"]} , {"b":1} ] '), ['{"a":["x","y"]}', '{"b":1}']);
  assert.deepEqual(objects('[]'), []);
  assert.equal(objects('[{"a":{"b":1}}]'), undefined);
  assert.equal(objects('[{"a":"\\u007d"}]'), undefined);
  assert.equal(objects('[{"a":1}] x'), undefined);
});
