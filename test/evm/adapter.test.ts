// The EVM adapter against a real node (anvil): verify() refuses a wrong chain or wrong token
// decimals; fetchBlocks() + decodeBlock() + confirm() credit exactly the payments to watched
// addresses — native and token, one per block or many in one block — and never a reverted one;
// head, finality and block refs; a chain that changes between two calls is a RetryableError.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { getAddress } from 'ethers';
import { pino } from 'pino';
import { systemClock } from '../../src/common.ts';
import { ChainSchema, type EvmChainConfig } from '../../src/config.ts';
import { NonRetryableError, RetryableError } from '../../src/errors.ts';
import { decodeBlock } from '../../src/chains/evm/decode.ts';
import { addressToKey } from '../../src/chains/evm/hex.ts';
import { createEvmAdapter, type EvmAdapter } from '../../src/chains/evm/index.ts';
import { AddressIndex, IndexView } from '../../src/scan/address-index.ts';
import { createDecodePool } from '../../src/scan/pool.ts';
import type { CreditMatch, DecodedBlock, Match } from '../../src/scan/types.ts';
import { anvilSkipReason, batchSenderInterface, startAnvil, tokenInterface, type Anvil } from '../helpers/anvil.ts';
import { errorReply, passThrough, startRpcProxy, type RpcProxy } from '../helpers/rpc-proxy.ts';

const skip = anvilSkipReason();
const logger = pino({ level: 'silent' });
const ETHER = 10n ** 18n;

function address(byte: number): string {
  return `0x${byte.toString(16).padStart(2, '0').repeat(20)}`;
}

/** Deposit addresses (watched), an outsider (not watched). */
const DEPOSIT_A = address(0xa1);
const DEPOSIT_B = address(0xb2);
const BLOCKED_D = address(0xd4);
const OUTSIDER = address(0xc3);
const MANY = Array.from({ length: 12 }, (_, i) => address(0x10 + i));

function evmConfig(url: string, token: string, overrides: Partial<{ chainId: number; decimals: number; batchMax: number; logsBlockRangeMax: number; finalizedTag: boolean }> = {}): EvmChainConfig {
  return ChainSchema.parse({
    family: 'evm',
    chainId: overrides.chainId ?? 31337,
    native: { code: 'ETH', symbol: 'ETH', decimals: 18 },
    tokens: [{ code: 'USDT-ERC20', symbol: 'USDT', contract: token, decimals: overrides.decimals ?? 6 }],
    rpc: { url, batchMax: overrides.batchMax ?? 50, logsBlockRangeMax: overrides.logsBlockRangeMax ?? 1_000 },
    finalizedTag: overrides.finalizedTag ?? true,
    finalityDepth: 5,
    rpcTimeoutMs: 30_000, // answers are expected: generous, so a loaded machine does not time out
    rpcAttemptsMax: 2,
  }) as EvmChainConfig;
}

function adapterFor(url: string, token: string, overrides: Parameters<typeof evmConfig>[2] = {}): EvmAdapter {
  return createEvmAdapter('anvil', evmConfig(url, token, overrides), { logger, clock: systemClock, signal: new AbortController().signal });
}

function describeMatch(match: Match): string {
  if (match.kind === 'spend') return `spend ${match.txid}`;
  return `${match.kind} ${match.txid} ${match.position} ${match.asset} ${match.address.toLowerCase()} ${match.amount}`;
}

describe('EVM adapter against anvil', { skip }, () => {
  let anvil: Anvil;
  let proxy: RpcProxy;
  let token: string;
  let rejector: string;
  let batchSender: string;
  let dev: string;
  let hot: string;
  const index = new AddressIndex({ capacity: 1024 });
  /** Expected matches after confirm(), as describeMatch() writes them. */
  const expected: string[] = [];
  let revertedNativeTx = '';
  let firstHeight = 0;
  let manyHeight = 0;
  let manyTxCount = 0;

  const txid = (hash: string): string => hash.slice(2);
  async function send(tx: Parameters<Anvil['send']>[0]): Promise<{ hash: string; receipt: Awaited<ReturnType<Anvil['receipt']>> }> {
    const hash = await anvil.send(tx);
    return { hash, receipt: await anvil.receipt(hash) };
  }
  async function tokenCall(from: string, fn: string, args: unknown[], gas?: bigint): Promise<{ hash: string; receipt: Awaited<ReturnType<Anvil['receipt']>> }> {
    return send({ from, to: token, data: tokenInterface.encodeFunctionData(fn, args), gas });
  }
  function logIndexOf(receipt: { logs: unknown[] }, k = 0): number {
    return Number.parseInt((receipt.logs[k] as { logIndex: string }).logIndex, 16);
  }

  before(async () => {
    anvil = await startAnvil({ chainId: 31337 });
    proxy = await startRpcProxy(anvil.url);
    [dev, hot] = anvil.accounts as [string, string];
    token = await anvil.deploy('TestToken', ['Tether USD', 'USDT', 6]);
    rejector = await anvil.deploy('EtherRejector');
    batchSender = await anvil.deploy('BatchSender');
    await tokenCall(dev, 'mint', [dev, 10n ** 12n]);
    await tokenCall(dev, 'mint', [hot, 10n ** 12n]);
    await tokenCall(dev, 'setBlocked', [BLOCKED_D, true]);
    for (const watched of [DEPOSIT_A, DEPOSIT_B, BLOCKED_D, rejector, hot, ...MANY]) index.addKey(addressToKey(watched));
    firstHeight = (await anvil.blockNumber()) + 1;

    // A native payment and a token payment to deposit addresses.
    const native = await send({ from: dev, to: DEPOSIT_A, value: 3n * ETHER / 2n });
    expected.push(`credit ${txid(native.hash)} -1 native ${DEPOSIT_A} ${3n * ETHER / 2n}`);
    const paid = await tokenCall(dev, 'transfer', [DEPOSIT_B, 250_000n]);
    expected.push(`credit ${txid(paid.hash)} ${logIndexOf(paid.receipt)} ${token.toLowerCase()} ${DEPOSIT_B} 250000`);

    // Reverted: a token transfer to a blocked recipient, ether to a contract that refuses it.
    const failedToken = await tokenCall(dev, 'transfer', [BLOCKED_D, 7n], 100_000n);
    assert.equal(failedToken.receipt.status, '0x0');
    const failedNative = await send({ from: dev, to: rejector, value: ETHER, gas: 100_000n });
    assert.equal(failedNative.receipt.status, '0x0');
    revertedNativeTx = txid(failedNative.hash);

    // Not ours: payments to an outsider.
    await send({ from: dev, to: OUTSIDER, value: 2n * ETHER });
    await tokenCall(dev, 'transfer', [OUTSIDER, 99n]);

    // The hot wallet pays out: native and token debits.
    const payout = await send({ from: hot, to: OUTSIDER, value: ETHER / 4n });
    expected.push(`debit ${txid(payout.hash)} -1 native ${hot.toLowerCase()} ${ETHER / 4n}`);
    const tokenPayout = await tokenCall(hot, 'transfer', [OUTSIDER, 1234n]);
    expected.push(`debit ${txid(tokenPayout.hash)} ${logIndexOf(tokenPayout.receipt)} ${token.toLowerCase()} ${hot.toLowerCase()} 1234`);
    await tokenCall(dev, 'approve', [batchSender, 10n ** 12n]);

    // Many payments in one block: automine off, send them all, mine one block.
    await anvil.setAutomine(false);
    const pending: { hash: string; kind: 'native' | 'token' | 'batch'; to: string; amount: bigint }[] = [];
    for (const [i, to] of MANY.entries()) {
      const amount = BigInt(i + 1) * 10n ** 15n;
      pending.push({ hash: await anvil.send({ from: dev, to, value: amount, gas: 21_000n }), kind: 'native', to, amount });
      const units = BigInt(i + 1) * 1000n;
      pending.push({ hash: await anvil.send({ from: dev, to: token, data: tokenInterface.encodeFunctionData('transfer', [to, units]), gas: 100_000n }), kind: 'token', to, amount: units });
    }
    pending.push({ hash: await anvil.send({ from: dev, to: OUTSIDER, value: 5n, gas: 21_000n }), kind: 'native', to: OUTSIDER, amount: 5n });
    const batchData = batchSenderInterface.encodeFunctionData('sendTokens', [token, [MANY[0], OUTSIDER, MANY[1]], [11n, 22n, 33n]]);
    pending.push({ hash: await anvil.send({ from: dev, to: batchSender, data: batchData, gas: 300_000n }), kind: 'batch', to: '', amount: 0n });
    await anvil.evmMine();
    await anvil.setAutomine(true);
    manyTxCount = pending.length;
    for (const tx of pending) {
      const receipt = await anvil.receipt(tx.hash);
      assert.equal(receipt.status, '0x1');
      manyHeight = Number(BigInt(receipt.blockNumber));
      if (tx.to === OUTSIDER) continue;
      if (tx.kind === 'native') expected.push(`credit ${txid(tx.hash)} -1 native ${tx.to} ${tx.amount}`);
      if (tx.kind === 'token') expected.push(`credit ${txid(tx.hash)} ${logIndexOf(receipt)} ${token.toLowerCase()} ${tx.to} ${tx.amount}`);
      if (tx.kind === 'batch') {
        expected.push(`credit ${txid(tx.hash)} ${logIndexOf(receipt, 0)} ${token.toLowerCase()} ${MANY[0]} 11`);
        expected.push(`credit ${txid(tx.hash)} ${logIndexOf(receipt, 2)} ${token.toLowerCase()} ${MANY[1]} 33`);
      }
    }
    await anvil.mine(2);
  });

  after(async () => {
    await proxy?.close();
    await anvil?.stop();
  });

  async function decodeRange(adapter: EvmAdapter, from: number, to: number): Promise<DecodedBlock[]> {
    const raws = await adapter.fetchBlocks(from, to);
    const view = IndexView.from(index.handle());
    return raws.map((raw) => decodeBlock(raw, view, adapter.decodeOptions()));
  }

  test('verify() accepts the node whose chain id and token decimals are the configured ones', async () => {
    await adapterFor(anvil.url, token).verify();
  });

  test('verify() refuses a node of another chain', async () => {
    await assert.rejects(adapterFor(anvil.url, token, { chainId: 1 }).verify(), (error: unknown) => {
      assert.ok(error instanceof NonRetryableError);
      assert.match(error.message, /chain id 31337, the configuration says 1/);
      return true;
    });
  });

  test('verify() refuses token decimals that differ from the chain (USDT is 18 on BSC, 6 elsewhere)', async () => {
    await assert.rejects(adapterFor(anvil.url, token, { decimals: 18 }).verify(), (error: unknown) => {
      assert.ok(error instanceof NonRetryableError);
      assert.match(error.message, /has 6 decimals on chain, the configuration says 18/);
      return true;
    });
    await assert.rejects(adapterFor(anvil.url, OUTSIDER).verify(), /no contract at that address/);
  });

  test('fetchBlocks() + decodeBlock() + confirm() credit exactly the payments to watched addresses, none reverted', async () => {
    const adapter = adapterFor(anvil.url, token);
    const decoded = await decodeRange(adapter, firstHeight, await anvil.blockNumber());
    const before = decoded.flatMap((block) => block.matches);
    // The decoder cannot know the native transfer reverted: it asks for the receipt.
    assert.ok(before.some((m) => m.kind === 'credit' && m.txid === revertedNativeTx));
    assert.ok(decoded.some((block) => block.needsReceipt?.includes(revertedNativeTx)));
    const confirmed = await Promise.all(decoded.map((block) => adapter.confirm?.(block) as Promise<DecodedBlock>));
    const matches = confirmed.flatMap((block) => block.matches);
    assert.deepEqual(matches.map(describeMatch).sort(), [...expected].sort());
    assert.ok(!matches.some((m) => m.kind !== 'spend' && [BLOCKED_D, OUTSIDER].includes(m.address.toLowerCase())));
    const credit = matches.find((m): m is CreditMatch => m.kind === 'credit' && m.asset === 'native' && m.address.toLowerCase() === DEPOSIT_A);
    assert.equal(credit?.from, getAddress(dev));
    assert.equal(credit?.address, getAddress(DEPOSIT_A), 'EIP-55');
    assert.equal(credit?.key, DEPOSIT_A.slice(2));
  });

  test('many payments in one block are all credited, with their log indexes', async () => {
    const adapter = adapterFor(anvil.url, token);
    const [block] = await decodeRange(adapter, manyHeight, manyHeight);
    assert.equal(block?.txCount, manyTxCount);
    const confirmed = await (adapter.confirm?.(block as DecodedBlock) as Promise<DecodedBlock>);
    const inBlock = expected.filter((line) => confirmed.matches.some((m) => describeMatch(m) === line));
    assert.equal(confirmed.matches.length, MANY.length * 2 + 2);
    assert.equal(inBlock.length, confirmed.matches.length);
  });

  test('the decode pool (worker threads) returns what decodeBlock() returns', async () => {
    const adapter = adapterFor(anvil.url, token);
    const head = await anvil.blockNumber();
    const direct = await decodeRange(adapter, firstHeight, head);
    const pool = createDecodePool({ threads: 2, queueMax: 4 });
    try {
      const blocks = await adapter.fetchBlocks(firstHeight, head);
      const viaPool = await pool.decode({ family: 'evm', chain: 'anvil', blocks, index: index.handle(), options: adapter.decodeOptions() });
      assert.deepEqual(viaPool, direct);
    } finally {
      await pool.close();
    }
  });

  test('fetchBlocks() gives the same blocks through a provider without batches and with a 2-block logs limit', async () => {
    const head = await anvil.blockNumber();
    proxy.setHandler(async (request, forward) => {
      const call = request.calls[0];
      if (request.batch) return errorReply(null, -32600, 'batch not supported');
      if (call?.method === 'eth_getLogs') {
        const filter = call.params[0] as { fromBlock: string; toBlock: string };
        if (Number.parseInt(filter.toBlock, 16) - Number.parseInt(filter.fromBlock, 16) + 1 > 2) return errorReply(call.id, -32005, 'block range too large');
      }
      return forward();
    });
    try {
      const viaProxy = await decodeRange(adapterFor(proxy.url, token), firstHeight, head);
      assert.deepEqual(viaProxy, await decodeRange(adapterFor(anvil.url, token), firstHeight, head));
    } finally {
      proxy.setHandler(passThrough);
    }
  });

  test('head(), blockRef() and finalizedHeight() describe the node\'s chain', async () => {
    const adapter = adapterFor(anvil.url, token);
    const height = await anvil.blockNumber();
    const latest = (await anvil.rpc('eth_getBlockByNumber', ['latest', false])) as { hash: string; parentHash: string };
    assert.deepEqual(await adapter.head(), { height, hash: latest.hash.slice(2) });
    assert.deepEqual(await adapter.blockRef(height), { height, hash: latest.hash.slice(2), parentHash: latest.parentHash.slice(2) });
    assert.equal(await adapter.blockRef(height + 10), undefined);
    const finalized = (await anvil.rpc('eth_getBlockByNumber', ['finalized', false])) as { number: string };
    assert.equal(await adapter.finalizedHeight(), Number.parseInt(finalized.number, 16));
    assert.equal(await adapterFor(anvil.url, token, { finalizedTag: false }).finalizedHeight(), height - 5);
  });

  test('finalizedHeight() counts blocks when the node does not know the finalized tag', async () => {
    proxy.requests.length = 0;
    proxy.setHandler(async (request, forward) => {
      const call = request.calls[0];
      return call?.params[0] === 'finalized' ? errorReply(call.id, -32602, 'invalid block tag "finalized"') : forward();
    });
    try {
      const adapter = adapterFor(proxy.url, token);
      const height = await anvil.blockNumber();
      assert.equal(await adapter.finalizedHeight(), height - 5);
      assert.equal(await adapter.finalizedHeight(), height - 5);
      const askedFinalized = proxy.requests.flatMap((r) => r.calls).filter((c) => c.params[0] === 'finalized');
      assert.equal(askedFinalized.length, 1, 'asked once, then remembered');
    } finally {
      proxy.setHandler(passThrough);
    }
  });

  test('fetchBlocks() refuses logs of another fork and blocks that do not link (RetryableError)', async () => {
    const adapter = adapterFor(proxy.url, token);
    const otherHash = `0x${'77'.repeat(32)}`;
    proxy.setHandler(async (request, forward) => {
      const reply = await forward();
      if (request.calls[0]?.method !== 'eth_getLogs') return reply;
      const body = JSON.parse(reply.body) as { result: { blockHash: string }[] };
      for (const log of body.result) log.blockHash = otherHash;
      return { status: reply.status, body: JSON.stringify(body) };
    });
    try {
      await assert.rejects(adapter.fetchBlocks(firstHeight, firstHeight + 3), (error: unknown) => error instanceof RetryableError && error.code === 'evm_logs_block_mismatch');
      proxy.setHandler(async (request, forward) => {
        const reply = await forward();
        if (!request.batch) return reply;
        const body = JSON.parse(reply.body) as { id: number; result: { parentHash: string } }[];
        const last = body.reduce((a, b) => (a.id > b.id ? a : b));
        last.result.parentHash = otherHash;
        return { status: reply.status, body: JSON.stringify(body) };
      });
      await assert.rejects(adapter.fetchBlocks(firstHeight, firstHeight + 3), (error: unknown) => error instanceof RetryableError && error.code === 'evm_reorg_during_fetch');
    } finally {
      proxy.setHandler(passThrough);
    }
  });

  test('after anvil_reorg the block refs change, and confirm() of a block from the old fork is a RetryableError', async () => {
    const adapter = adapterFor(anvil.url, token);
    const snapshot = await anvil.snapshot();
    try {
      const paid = await send({ from: dev, to: DEPOSIT_A, value: 42n });
      const height = Number(BigInt(paid.receipt.blockNumber));
      const [old] = await decodeRange(adapter, height, height);
      assert.equal(old?.matches.length, 1);
      const before = await adapter.blockRef(height);
      await anvil.reorg(1);
      const afterReorg = await adapter.blockRef(height);
      assert.notEqual(afterReorg?.hash, before?.hash);
      await assert.rejects(adapter.confirm?.(old as DecodedBlock) as Promise<DecodedBlock>, (error: unknown) => error instanceof RetryableError);
    } finally {
      await anvil.revert(snapshot);
    }
  });
});
