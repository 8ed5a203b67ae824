import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { indexLogs, joinLogs, LogSchema, parseLogs } from './standardize.ts';

const LOG = {
  address: '0xDAC17F958D2ee523a2206206994597C13D831ec7',
  topics: ['0xDDF252AD1BE2C89B69C2B068FC378DAA952BA7F163C4A11628F55A4DF523B3EF', `0x${'0'.repeat(24)}${'Ab'.repeat(20)}`],
  data: '0x00ff',
  blockNumber: '0x101dead',
  blockHash: `0x${'CD'.repeat(32)}`,
  transactionHash: `0x${'ef'.repeat(32)}`,
  transactionIndex: '0x0',
  logIndex: '0x1a',
  removed: false,
  extra: 'ignored',
};

test('parseLogs() gives what LogSchema gives, on its fast path and on zod\'s', () => {
  const variants = [LOG, { ...LOG, removed: undefined }, { ...LOG, blockNumber: '0x0001' }, { ...LOG, logIndex: '0x1fffffffffffff' }];
  for (const variant of variants) {
    assert.deepEqual(parseLogs([variant], 'test'), z.array(LogSchema).parse([variant]));
  }
});

test('parseLogs() rejects a malformed log with zod\'s description of it', () => {
  assert.throws(() => parseLogs([LOG, { ...LOG, blockHash: '0x12' }], 'eth_getLogs'), /eth_getLogs: log 1: blockHash must be a 0x 32-byte hex hash/);
  assert.throws(() => parseLogs([{ ...LOG, topics: [...LOG.topics, ...LOG.topics, LOG.topics[0]] }], 'x'), /topics/);
  assert.throws(() => parseLogs([{ ...LOG, data: '0x0' }], 'x'), /data must be 0x hex bytes/);
  assert.throws(() => parseLogs({}, 'x'), /expected array/);
});

function logJson(record: { source: Uint8Array; start: number; end: number }): unknown {
  return JSON.parse(Buffer.from(record.source.subarray(record.start, record.end)).toString('utf8'));
}

test('indexLogs() reads logs where they are in the text, the same as parsing them', () => {
  const logs = [LOG, { ...LOG, logIndex: '0x1b', removed: true }, { ...LOG, topics: [] }];
  const compact = new TextEncoder().encode(JSON.stringify(logs));
  const spaced = new TextEncoder().encode(JSON.stringify(logs, null, 2).replace('"0x00ff"', '"0x\\u0030\\u0030ff"'));
  for (const bytes of [compact, spaced]) {
    const records = indexLogs(bytes, 'test');
    assert.deepEqual(records.map((r) => [r.blockNumber, r.blockHash, r.transactionIndex, r.logIndex]), logs.map((log) => [0x101dead, LOG.blockHash.toLowerCase(), 0, Number.parseInt(log.logIndex, 16)]));
    assert.deepEqual(records.map(logJson), JSON.parse(JSON.stringify(logs)));
  }
  assert.deepEqual(JSON.parse(Buffer.from(joinLogs(indexLogs(compact, 'test'))).toString()), JSON.parse(JSON.stringify(logs)));
  assert.deepEqual(Buffer.from(joinLogs([])).toString(), '[]');
});

test('indexLogs() rejects malformed facts on its fast path, and malformed logs of any other shape with LogSchema\'s description', () => {
  const bytes = (logs: unknown[], spaced = false): Uint8Array => new TextEncoder().encode(spaced ? JSON.stringify(logs, null, 1).replace('"0x00ff"', '"0x\\u0030\\u0030ff"') : JSON.stringify(logs));
  for (const [bad, message] of [
    [{ ...LOG, blockHash: '0x12' }, /blockHash must be a 0x 32-byte hex hash/],
    [{ ...LOG, logIndex: 'one' }, /logIndex/],
    [{ ...LOG, blockNumber: undefined }, /blockNumber/],
  ] as const) {
    assert.throws(() => indexLogs(bytes([LOG, bad]), 'eth_getLogs'), message);
    assert.throws(() => indexLogs(bytes([LOG, bad], true), 'eth_getLogs'), message);
  }
  for (const [bad, message] of [
    [{ ...LOG, topics: ['0x12'] }, /topics/],
    [{ ...LOG, removed: 'no' }, /removed/],
  ] as const) {
    assert.throws(() => indexLogs(bytes([LOG, bad], true), 'eth_getLogs'), message);
  }
});
