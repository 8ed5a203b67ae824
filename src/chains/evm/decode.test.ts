import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getAddress } from 'ethers';
import { NonRetryableError } from '../../errors.ts';
import type { DecodedBlock, RawBlock } from '../../scan/types.ts';
import { decodeBlock, type KeyIndex } from './decode.ts';
import { TRANSFER_TOPIC } from './hex.ts';

const HASH = `0x${'ab'.repeat(32)}`;
const TOKEN = `0x${'70'.repeat(20)}`;
const OTHER_TOKEN = `0x${'71'.repeat(20)}`;
const WATCHED = `0x${'a1'.repeat(20)}`;
const HOT = `0x${'b2'.repeat(20)}`;
const STRANGER = `0x${'c3'.repeat(20)}`;

const watched: KeyIndex = {
  hasKey(bytes, offset, length) {
    const hex = Buffer.from(bytes.subarray(offset, offset + length)).toString('hex');
    return hex === WATCHED.slice(2) || hex === HOT.slice(2);
  },
};

function tx(i: number, from: string, to: string | null, value: bigint): Record<string, unknown> {
  return { blockHash: HASH, blockNumber: '0x64', from, hash: `0x${i.toString(16).padStart(64, '0')}`, to, transactionIndex: `0x${i.toString(16)}`, value: `0x${value.toString(16)}` };
}

function block(transactions: unknown[]): Record<string, unknown> {
  return { hash: HASH, number: '0x64', parentHash: `0x${'99'.repeat(32)}`, timestamp: '0x10', transactions };
}

function transferLog(logIndex: number, from: string, to: string, amount: bigint, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const pad = (address: string): string => `0x${'0'.repeat(24)}${address.slice(2)}`;
  return {
    address: TOKEN,
    topics: [TRANSFER_TOPIC, pad(from), pad(to)],
    data: `0x${amount.toString(16).padStart(64, '0')}`,
    blockNumber: '0x64',
    blockHash: HASH,
    transactionHash: `0x${'01'.padStart(64, '0')}`,
    transactionIndex: '0x1',
    logIndex: `0x${logIndex.toString(16)}`,
    removed: false,
    ...extra,
  };
}

function raw(blockJson: unknown, logs: unknown[] = [], extra: Partial<RawBlock> = {}): RawBlock {
  const bytes = (value: unknown): ArrayBuffer => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value)).buffer as ArrayBuffer;
  return { height: 100, parts: [bytes(blockJson), bytes(logs)], ...extra };
}

function decode(input: RawBlock): DecodedBlock {
  return decodeBlock(input, watched, { tokens: [TOKEN] });
}

test('decodeBlock() credits a native payment to a watched address and asks for its receipt', () => {
  const decoded = decode(raw(block([tx(0, STRANGER, WATCHED, 5n), tx(1, STRANGER, WATCHED, 0n), tx(2, STRANGER, STRANGER, 9n)])));
  assert.deepEqual(decoded.matches, [
    { kind: 'credit', txid: '0'.repeat(64), position: -1, asset: 'native', key: WATCHED.slice(2), address: getAddress(WATCHED), amount: 5n, from: getAddress(STRANGER) },
  ]);
  assert.deepEqual(decoded.needsReceipt, ['0'.repeat(64)]);
  assert.equal(decoded.txCount, 3);
  assert.equal(decoded.hash, 'ab'.repeat(32));
});

test('decodeBlock() debits a hot wallet\'s spends, including a contract creation with value', () => {
  const decoded = decode(raw(block([tx(0, HOT, STRANGER, 7n), tx(1, HOT, null, 3n)])));
  assert.deepEqual(
    decoded.matches.map((m) => (m.kind === 'debit' ? [m.txid.slice(-1), m.amount, m.to] : m.kind)),
    [['0', 7n, getAddress(STRANGER)], ['1', 3n, '']],
  );
});

test('decodeBlock() credits token Transfers of configured tokens to watched addresses, by log index, exact amount', () => {
  const amount = 2n ** 200n + 1n;
  const logs = [
    transferLog(3, STRANGER, WATCHED, amount),
    transferLog(4, STRANGER, STRANGER, 1n),
    transferLog(5, STRANGER, WATCHED, 2n, { address: OTHER_TOKEN }),
    transferLog(6, STRANGER, WATCHED, 3n, { removed: true, blockHash: `0x${'ee'.repeat(32)}` }),
    // ERC-721 Transfer: same topic0, the token id as a fourth topic, no data.
    { ...transferLog(7, STRANGER, WATCHED, 0n), topics: [TRANSFER_TOPIC, `0x${'0'.repeat(64)}`, `0x${'0'.repeat(24)}${WATCHED.slice(2)}`, `0x${'0'.repeat(63)}1`], data: '0x' },
    transferLog(8, WATCHED, HOT, 10n),
  ];
  const decoded = decode(raw(block([tx(0, STRANGER, STRANGER, 0n), tx(1, STRANGER, STRANGER, 0n)]), logs));
  assert.deepEqual(
    decoded.matches.map((m) => (m.kind === 'spend' ? m.kind : [m.kind, m.position, m.asset, m.key, m.amount])),
    [
      ['credit', 3, TOKEN, WATCHED.slice(2), amount],
      ['credit', 8, TOKEN, HOT.slice(2), 10n],
      ['debit', 8, TOKEN, WATCHED.slice(2), 10n],
    ],
  );
  assert.deepEqual(decoded.needsReceipt, [], 'logs exist only for successful executions');
});

test('decodeBlock() reads JSON with escapes or another key order the same way (full parse)', () => {
  const transactions = [tx(0, STRANGER, WATCHED, 5n), tx(1, HOT, STRANGER, 6n)];
  const plain = decode(raw(block(transactions)));
  const escaped = JSON.stringify(block(transactions)).replace('"timestamp"', '"timest\\u0061mp"');
  assert.deepEqual(decode(raw(escaped)), plain);
  const { transactions: txs, ...header } = block(transactions);
  assert.deepEqual(decode(raw({ transactions: txs, ...header })), plain);
});

test('decodeBlock() rejects blocks fetched without full transactions', () => {
  assert.throws(() => decode(raw(block([`0x${'01'.repeat(32)}`]))), (error: unknown) => error instanceof NonRetryableError && /full transactions/.test(error.message));
});

test('decodeBlock() rejects a block that is not the one asked for', () => {
  assert.throws(() => decode(raw(block([]), [], { height: 101 })), /returned block 100/);
  assert.throws(() => decode(raw(block([]), [], { expectedHash: 'cd'.repeat(32) })), /not the expected/);
  assert.doesNotThrow(() => decode(raw(block([]), [], { expectedHash: 'ab'.repeat(32) })));
});

test('decodeBlock() rejects transactions and logs of another block, and duplicate log indexes', () => {
  const stray = { ...tx(0, STRANGER, WATCHED, 5n), blockHash: `0x${'ee'.repeat(32)}` };
  assert.throws(() => decode(raw(block([stray]))), /blockHash/);
  assert.throws(() => decode(raw(block([]), [transferLog(1, STRANGER, WATCHED, 1n, { blockNumber: '0x65' })])), /belongs to block 0x65/);
  assert.throws(() => decode(raw(block([]), [transferLog(1, STRANGER, STRANGER, 1n, { blockHash: `0x${'ee'.repeat(32)}` })])), /belongs to block/);
  assert.throws(() => decode(raw(block([tx(0, STRANGER, STRANGER, 0n), tx(1, STRANGER, STRANGER, 0n)]), [transferLog(1, STRANGER, WATCHED, 1n), transferLog(1, STRANGER, STRANGER, 2n)])), /duplicate log index/);
  // A log must name a transaction of the block, watched or not.
  const txs = [tx(0, STRANGER, STRANGER, 1n), tx(1, STRANGER, STRANGER, 1n)];
  assert.throws(() => decode(raw(block(txs), [transferLog(1, STRANGER, STRANGER, 1n, { transactionIndex: '0x2' })])), /transaction index 0x2; the block has 2/);
  assert.doesNotThrow(() => decode(raw(block(txs), [transferLog(1, STRANGER, STRANGER, 1n, { transactionIndex: '0x1' })])));
});

test('decodeBlock() rejects malformed JSON and malformed fields with a NonRetryableError', () => {
  assert.throws(() => decode(raw('{"hash":')), (error: unknown) => error instanceof NonRetryableError && /not valid JSON/.test(error.message));
  assert.throws(() => decode(raw(block([{ ...tx(0, STRANGER, WATCHED, 1n), value: '12' }]))), /malformed/);
  assert.throws(() => decode(raw({ ...block([]), hash: '0x12' })), /hash or parentHash/);
});
