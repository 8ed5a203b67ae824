import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { systemClock } from '../../src/common.ts';
import { ChainSchema, type TronChainConfig } from '../../src/config.ts';
import { NonRetryableError, RetryableError } from '../../src/errors.ts';
import { createTronAdapter } from '../../src/chains/tron/index.ts';
import { decodeBlock, decodeRange, type KeyLookup } from '../../src/chains/tron/decode.ts';
import { tronAddressToBodyHex } from '../../src/chains/tron/address.ts';
import { rawBuffers } from '../../src/scan/buffers.ts';
import type { CreditMatch, RawBlock } from '../../src/scan/types.ts';
import { startTronNode, type TronNode, type TronNodeOptions } from '../helpers/tron-node.ts';
import { accountFromSeed, trc20Transfer, trxTransfer, USDT } from '../helpers/tron-txs.ts';

const USDT_TOKEN = { hex: `41${tronAddressToBodyHex(USDT)}`, name: 'TetherToken', decimals: 6 };
const alice = accountFromSeed(11);
const deposit = accountFromSeed(12);
const deposit2 = accountFromSeed(13);
const index: KeyLookup = (() => {
  const keys = new Set([deposit.address, deposit2.address].map(tronAddressToBodyHex));
  return { hasKey: (b, o, l) => keys.has(Buffer.from(b.subarray(o, o + l)).toString('hex')) };
})();

const nodes: TronNode[] = [];
after(async () => {
  for (const n of nodes) await n.close();
});

async function setup(nodeOptions: TronNodeOptions = {}, config: Record<string, unknown> = {}) {
  const node = await startTronNode({ tokens: [USDT_TOKEN], ...nodeOptions });
  nodes.push(node);
  const chain = ChainSchema.parse({
    family: 'tron',
    network: 'private',
    rpc: { url: node.url },
    tokens: [{ code: 'USDT-TRC20', symbol: 'USDT', contract: USDT, decimals: 6 }],
    rpcAttemptsMax: 3,
    ...config,
  }) as TronChainConfig;
  const adapter = createTronAdapter('tron', chain, { logger: pino({ level: 'silent' }), clock: systemClock, signal: new AbortController().signal });
  return { node, adapter };
}

/** What the decode pool does with the adapter's raw blocks: ranges are read in the worker. */
function decodeAll(adapter: ReturnType<typeof createTronAdapter>, raw: RawBlock[]) {
  return raw.flatMap((block) => (block.count === undefined ? [decodeBlock(block, index, adapter.decodeOptions())] : decodeRange(block, index, adapter.decodeOptions())));
}

test('verify() accepts a full node whose token has the configured decimals', async () => {
  const { node, adapter } = await setup();
  node.mine([trc20Transfer(alice, USDT, deposit.address, 1n)]);
  node.solidify(node.head.number);
  node.mineEmpty(2);
  await adapter.verify();
  assert.deepEqual(adapter.decodeOptions(), { tokens: [tronAddressToBodyHex(USDT)] });
});

test('verify() refuses wrong token decimals, a missing token contract and a node without history', async () => {
  const wrongDecimals = await setup({}, { tokens: [{ code: 'USDT-TRC20', symbol: 'USDT', contract: USDT, decimals: 18 }] });
  await assert.rejects(wrongDecimals.adapter.verify(), (e: unknown) => e instanceof NonRetryableError && /6 decimals on chain, the configuration says 18/.test(e.message));
  const missing = await setup({ tokens: [] });
  await assert.rejects(missing.adapter.verify(), (e: unknown) => e instanceof NonRetryableError && e.code === 'tron_token_missing');
  const noHistory = await setup({ historyOff: true });
  noHistory.node.mine([trxTransfer(alice, deposit.address, 1n)]);
  noHistory.node.solidify(noHistory.node.head.number);
  await assert.rejects(noHistory.adapter.verify(), (e: unknown) => (e as { code?: string }).code === 'tron_infos_incomplete');
  const evmContract = ChainSchema.parse({ family: 'tron', network: 'private', rpc: { url: 'http://127.0.0.1:1' }, tokens: [{ code: 'X', symbol: 'X', contract: '0xdAC17F958D2ee523a2206206994597C13D831ec7', decimals: 6 }] }) as TronChainConfig;
  assert.throws(() => createTronAdapter('tron', evmContract, { logger: pino({ level: 'silent' }), clock: systemClock, signal: new AbortController().signal }), /not a TRON base58 address/);
});

test('head(), finalizedHeight() and blockRef() follow the node, solidified block included', async () => {
  const { node, adapter } = await setup();
  node.mineEmpty(5);
  node.solidify(node.head.number - 3);
  assert.deepEqual(await adapter.head(), { height: node.head.number, hash: node.head.blockId });
  assert.equal(await adapter.finalizedHeight(), node.head.number - 3);
  const middle = node.block(node.head.number - 1)!;
  assert.deepEqual(await adapter.blockRef(middle.number), { height: middle.number, hash: middle.blockId, parentHash: middle.parentHash });
  assert.equal(await adapter.blockRef(node.head.number + 1), undefined);
});

test('fetchBlocks() + decode: a TRX payment, a USDT-TRC20 payment and a failed TRC-20 transfer', async () => {
  const { node, adapter } = await setup();
  const trx = trxTransfer(alice, deposit.address, 15_000_000n);
  const usdt = trc20Transfer(alice, USDT, deposit2.address, 42_000_000n);
  const failed = trc20Transfer(alice, USDT, deposit.address, 99_000_000n, { result: 'REVERT' });
  const first = node.mine([trx]).number;
  node.mine([usdt, failed]);
  node.mine([]);
  const raw = await adapter.fetchBlocks(first, first + 2);
  assert.deepEqual(raw.map((r) => [r.height, r.count, r.parts.length]), [[first, 3, 4]], 'one range answer and the infos of its 3 blocks');
  const decoded = decodeAll(adapter, raw);
  assert.deepEqual(decoded.map((d) => d.hash), [first, first + 1, first + 2].map((h) => node.block(h)!.blockId));
  const credits = decoded.flatMap((d) => d.matches) as CreditMatch[];
  assert.deepEqual(credits.map((c) => [c.txid, c.asset, c.address, c.amount]), [
    [trx.txID, 'native', deposit.address, 15_000_000n],
    [usdt.txID, USDT, deposit2.address, 42_000_000n],
  ]);
});

test('fetchBlocks() across a fork sees the new branch: new hashes, and the payment where it now is', async () => {
  const { node, adapter } = await setup();
  const pay = trxTransfer(alice, deposit.address, 7_000_000n);
  const from = node.head.number + 1;
  node.mine([]);
  node.mine([pay]);
  node.mine([]);
  const before = decodeAll(adapter, await adapter.fetchBlocks(from, from + 2));
  assert.equal(before[1]?.matches.length, 1);
  const oldHashes = before.map((b) => b.hash);
  // The last two blocks are replaced; the payment lands one block later on the new branch.
  node.fork(2, [[], [pay]]);
  const after = decodeAll(adapter, await adapter.fetchBlocks(from, from + 2));
  assert.equal(after[0]?.hash, oldHashes[0]);
  assert.notEqual(after[1]?.hash, oldHashes[1]);
  assert.notEqual(after[2]?.hash, oldHashes[2]);
  assert.equal(after[1]?.parentHash, after[0]?.hash);
  assert.deepEqual(after.map((b) => b.matches.length), [0, 0, 1]);
  assert.deepEqual(await adapter.blockRef(from + 2), { height: from + 2, hash: after[2]?.hash, parentHash: after[1]?.hash });
});

test('fetchBlocks() of more than 100 blocks uses several ranges that must link', async () => {
  const { node, adapter } = await setup();
  const from = node.head.number + 1;
  for (let i = 0; i < 150; i += 1) node.mine(i === 120 ? [trxTransfer(alice, deposit.address, 3n)] : []);
  const before = node.requests.length;
  const raw = await adapter.fetchBlocks(from, from + 149);
  assert.deepEqual(raw.map((r) => [r.height, r.count]), [[from, 100], [from + 100, 50]]);
  const ranges = node.requests.slice(before).filter((r) => r.path === '/wallet/getblockbylimitnext');
  assert.deepEqual(ranges.map((r) => JSON.parse(r.body)), [{ startNum: from, endNum: from + 100 }, { startNum: from + 100, endNum: from + 150 }]);
  const decoded = decodeAll(adapter, raw);
  assert.equal(decoded.length, 150);
  assert.equal(decoded[120]?.matches.length, 1);
  decoded.slice(1).forEach((d, i) => assert.equal(d.parentHash, decoded[i]?.hash));
});

test('fetchBlocks() of large blocks reuses recycled buffers, and stale bytes past each block are never read', async () => {
  const { node, adapter } = await setup();
  // ~150 transactions: each block and its infos are well past the 64 KB where recycling starts.
  const filler = (seed: number) => Array.from({ length: 150 }, (_, i) => trc20Transfer(alice, USDT, accountFromSeed(1_000 + seed * 1_000 + i).address, BigInt(i + 1)));
  const from = node.head.number + 1;
  node.mine([...filler(1), trc20Transfer(alice, USDT, deposit.address, 5n)]);
  node.mine(filler(2));
  node.mine([...filler(3), trxTransfer(alice, deposit2.address, 9n)]);
  node.mine(filler(4));
  const first = await adapter.fetchBlocks(from, from + 1);
  assert.ok(first.every((raw) => raw.lengths !== undefined && raw.lengths.every((length, i) => length > 64 * 1024 && length < (raw.parts[i] as ArrayBuffer).byteLength)), 'recycler-sized parts with their lengths');
  assert.equal(first[0]?.parts.length, 3, 'the range, then the infos of each block');
  assert.deepEqual(decodeAll(adapter, first).map((d) => d.matches.length), [1, 0]);
  // Back to the recycler, as the decode pool does; the next blocks land in the same buffers,
  // which still hold the first blocks' bytes past the new lengths.
  const reusedBefore = rawBuffers.reused;
  rawBuffers.give(first.flatMap((raw) => raw.parts));
  const second = await adapter.fetchBlocks(from + 2, from + 3);
  assert.ok(rawBuffers.reused > reusedBefore, 'buffers were reused');
  const decoded = decodeAll(adapter, second);
  assert.deepEqual(decoded.map((d) => [d.height, d.hash, d.txCount, d.matches.length]), [
    [from + 2, node.block(from + 2)!.blockId, 151, 1],
    [from + 3, node.block(from + 3)!.blockId, 150, 0],
  ]);
  assert.equal((decoded[0]?.matches[0] as CreditMatch).amount, 9n);
});

test('fetchBlocks() retries a rate-limited request; beyond the head, decoding fails retryably', async () => {
  const { node, adapter } = await setup();
  node.mineEmpty(2);
  node.failNextRequests(1, 429, { retryAfterS: 0 });
  assert.equal(decodeAll(adapter, await adapter.fetchBlocks(node.head.number - 1, node.head.number)).length, 2);
  const beyond = await adapter.fetchBlocks(node.head.number, node.head.number + 1);
  assert.throws(() => decodeAll(adapter, beyond), (e: unknown) => e instanceof RetryableError && e.code === 'tron_block_unavailable');
});

test('fetchBlocks() + decode read blocks printed in another key order', async () => {
  const { node, adapter } = await setup({ keyOrder: 'shuffled' });
  const pay = trc20Transfer(alice, USDT, deposit.address, 5n);
  const from = node.head.number + 1;
  node.mine([trxTransfer(alice, deposit2.address, 4n)]);
  node.mine([pay]);
  const decoded = decodeAll(adapter, await adapter.fetchBlocks(from, from + 1));
  assert.deepEqual(decoded.map((d) => (d.matches[0] as CreditMatch).amount), [4n, 5n]);
  assert.deepEqual(decoded.map((d) => d.hash), [node.block(from)!.blockId, node.block(from + 1)!.blockId]);
});

test('a block with transactions but no infos (transaction history off) fails decoding, retryably', async () => {
  const { node, adapter } = await setup({ historyOff: true });
  node.mine([trxTransfer(alice, deposit.address, 1n)]);
  const raw = await adapter.fetchBlocks(node.head.number, node.head.number);
  assert.throws(() => decodeAll(adapter, raw), (e: unknown) => e instanceof RetryableError && e.code === 'tron_infos_incomplete' && /transHistory/.test(e.message));
});

test('verify() refuses a node of another network than the configured one (genesis block id)', async () => {
  const mainnet = await setup({}, { network: 'mainnet' });
  await assert.rejects(mainnet.adapter.verify(), (e: unknown) => e instanceof NonRetryableError && e.code === 'wrong_chain' && /configured as TRON mainnet/.test(e.message));
  const probe = await setup({ startHeight: 0 }, { network: 'private' });
  const genesis = probe.node.block(0)?.blockId;
  assert.ok(genesis !== undefined);
  const pinned = await setup({ startHeight: 0 }, { network: 'private', genesisBlockId: genesis });
  await pinned.adapter.verify();
  const wrong = await setup({ startHeight: 0 }, { network: 'private', genesisBlockId: '0'.repeat(64) });
  await assert.rejects(wrong.adapter.verify(), (e: unknown) => e instanceof NonRetryableError && e.code === 'wrong_chain');
});
