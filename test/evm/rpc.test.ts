// EVM JSON-RPC methods against a real node (anvil), with a loopback proxy in front of it where a
// provider's behaviour is simulated: batches refused, eth_getLogs ranges refused the way Infura,
// Alchemy and others refuse them, HTTP errors, slow answers.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { NonRetryableError, RetryableError } from '../../src/errors.ts';
import { TRANSFER_TOPIC } from '../../src/chains/evm/hex.ts';
import { ethBlockNumber, ethCall, ethChainId, ethGetBlockByHash, ethGetBlockByNumber, ethGetLogs, ethGetTransactionReceipt } from '../../src/chains/evm/rpc.ts';
import { parseJsonBytes, type LogRecord } from '../../src/chains/evm/standardize.ts';
import { createRpcTransport, redactUrl, type RpcTransport, type RpcTransportOptions } from '../../src/chains/evm/transport.ts';
import { freePort } from '../../src/ports.ts';
import { anvilSkipReason, startAnvil, tokenInterface, type Anvil } from '../helpers/anvil.ts';
import { errorReply, passThrough, startRpcProxy, type ProxyCall, type RpcProxy } from '../helpers/rpc-proxy.ts';

const skip = anvilSkipReason();

function transport(url: string, overrides: Partial<RpcTransportOptions> = {}): RpcTransport {
  return createRpcTransport({ url, timeoutMs: 30_000, attemptsMax: 3, batchMax: 50, retryBaseDelayMs: 1, retryMaxDelayMs: 2, ...overrides });
}

function json(bytes: Uint8Array): { number: string; hash: string; transactions: unknown[] } {
  return parseJsonBytes(bytes, 'test') as { number: string; hash: string; transactions: unknown[] };
}

/** Each log's JSON, parsed from the bytes ethGetLogs kept. */
function logsJson(records: LogRecord[]): unknown[] {
  return records.map((r) => JSON.parse(Buffer.from(r.source.subarray(r.start, r.end)).toString('utf8')) as unknown);
}

function logsRange(call: ProxyCall): { from: number; to: number } {
  const filter = call.params[0] as { fromBlock: string; toBlock: string };
  return { from: Number.parseInt(filter.fromBlock, 16), to: Number.parseInt(filter.toBlock, 16) };
}

describe('EVM JSON-RPC against anvil', { skip }, () => {
  let anvil: Anvil;
  let proxy: RpcProxy;
  let token: string;
  /** Block heights holding one token mint each. */
  const mintBlocks: number[] = [];

  before(async () => {
    anvil = await startAnvil({ chainId: 31337 });
    proxy = await startRpcProxy(anvil.url);
    token = await anvil.deploy('TestToken', ['Tether USD', 'USDT', 6]);
    for (let i = 0; i < 12; i += 1) {
      const data = tokenInterface.encodeFunctionData('mint', [anvil.accounts[1 + (i % 5)], 1_000n + BigInt(i)]);
      const hash = await anvil.send({ from: anvil.accounts[0] as string, to: token, data });
      mintBlocks.push(Number(BigInt((await anvil.receipt(hash)).blockNumber)));
    }
    await anvil.mine(3);
  });

  after(async () => {
    await proxy?.close();
    await anvil?.stop();
  });

  test('ethChainId(), ethBlockNumber() and ethCall() read the node', async () => {
    const rpc = transport(anvil.url);
    assert.equal(await ethChainId(rpc), 31337n);
    assert.equal(await ethBlockNumber(rpc), await anvil.blockNumber());
    const decimals = await ethCall(rpc, { to: token, data: tokenInterface.encodeFunctionData('decimals') });
    assert.equal(BigInt(decimals), 6n);
  });

  test('ethGetBlockByNumber() batches by batchMax and returns each block\'s raw JSON in order', async () => {
    proxy.setHandler(passThrough);
    proxy.requests.length = 0;
    const rpc = transport(proxy.url, { batchMax: 7 });
    const heights = Array.from({ length: 16 }, (_, i) => i);
    const blocks = await ethGetBlockByNumber(rpc, heights, true);
    assert.deepEqual(blocks.map((bytes) => Number.parseInt(json(bytes).number, 16)), heights);
    assert.deepEqual(proxy.requests.map((r) => r.calls.length), [7, 7, 2]);
    assert.ok(proxy.requests.every((r) => r.batch));
    for (const [i, bytes] of blocks.entries()) {
      assert.equal(bytes.byteOffset, 0, 'each block has a buffer of its own, to be moved to a worker');
      assert.equal(bytes.buffer.byteLength, bytes.byteLength);
      const single = (await anvil.rpc('eth_getBlockByNumber', [`0x${i.toString(16)}`, true])) as object;
      assert.deepEqual(json(bytes), single);
    }
  });

  test('ethGetBlockByNumber() returns null for a block above the head, and ethGetBlockByHash() finds blocks by hash', async () => {
    const rpc = transport(anvil.url);
    const head = await anvil.blockNumber();
    const [known, missing] = await ethGetBlockByNumber(rpc, [head, head + 100], false);
    assert.equal(parseJsonBytes(missing as Uint8Array, 'test'), null);
    const [byHash] = await ethGetBlockByHash(rpc, [json(known as Uint8Array).hash], false);
    assert.deepEqual(json(byHash as Uint8Array), json(known as Uint8Array));
  });

  test('a provider that refuses batches gets single requests, from then on', async () => {
    const refusals: string[] = [];
    proxy.requests.length = 0;
    proxy.setHandler(async (request, forward) => (request.batch ? errorReply(null, -32600, 'batch requests are not supported') : forward()));
    const rpc = transport(proxy.url, { batchMax: 10, onBatchRejected: (reason) => refusals.push(reason) });
    const first = await ethGetBlockByNumber(rpc, [1, 2, 3, 4], true);
    const second = await ethGetBlockByNumber(rpc, [5, 6], true);
    assert.deepEqual([...first, ...second].map((bytes) => Number.parseInt(json(bytes).number, 16)), [1, 2, 3, 4, 5, 6]);
    assert.equal(refusals.length, 1);
    assert.equal(proxy.requests.filter((r) => r.batch).length, 1, 'one refused batch, then singles only');
    assert.equal(proxy.requests.filter((r) => !r.batch).length, 6);
    proxy.setHandler(passThrough);
  });

  test('ethGetTransactionReceipt() returns receipts, and null for an unknown transaction', async () => {
    const rpc = transport(anvil.url);
    const block = (await anvil.rpc('eth_getBlockByNumber', [`0x${(mintBlocks[0] as number).toString(16)}`, false])) as { transactions: string[] };
    const unknown = `0x${'ab'.repeat(32)}`;
    const [receipt, none] = await ethGetTransactionReceipt(rpc, [block.transactions[0] as string, unknown]);
    assert.equal(receipt?.status, 1);
    assert.equal(receipt?.blockNumber, mintBlocks[0]);
    assert.equal(receipt?.logs[0]?.topics[0], TRANSFER_TOPIC);
    assert.equal(none, null);
  });

  describe('ethGetLogs() range splitting', () => {
    const filter = () => ({ fromBlock: 0, toBlock: mintBlocks.at(-1) as number, address: [token], topics: [TRANSFER_TOPIC] });
    const RANGE_LIMIT = 4;

    async function reference(): Promise<unknown[]> {
      return logsJson(await ethGetLogs(transport(anvil.url), filter(), { blockRangeMax: 10_000 }));
    }

    function refusingProxy(message: (from: number, to: number) => string, code = -32005): void {
      proxy.requests.length = 0;
      proxy.setHandler(async (request, forward) => {
        const call = request.calls[0] as ProxyCall;
        if (call.method !== 'eth_getLogs') return forward();
        const { from, to } = logsRange(call);
        return to - from + 1 > RANGE_LIMIT ? errorReply(call.id, code, message(from, to)) : forward();
      });
    }

    function requestedRanges(): { from: number; to: number }[] {
      return proxy.requests.flatMap((r) => r.calls).filter((c) => c.method === 'eth_getLogs').map(logsRange);
    }

    test('follows the range Infura suggests with −32005', async () => {
      const expected = await reference();
      assert.equal(expected.length, 12);
      refusingProxy((from) => `query returned more than 10000 results. Try with this block range [0x${from.toString(16)}, 0x${(from + RANGE_LIMIT - 1).toString(16)}].`);
      const result = await ethGetLogs(transport(proxy.url), filter(), { blockRangeMax: 1_000 });
      assert.deepEqual(logsJson(result), expected);
      assert.deepEqual(result.map((l) => l.blockNumber), mintBlocks);
      const ranges = requestedRanges();
      // One refusal, then every request takes the suggested size.
      assert.equal(ranges.filter((r) => r.to - r.from + 1 > RANGE_LIMIT).length, 1);
      assert.equal(ranges.length, 1 + Math.ceil((filter().toBlock + 1) / RANGE_LIMIT));
    });

    test('halves ranges refused without a suggestion (Alchemy\'s 10K-log cap, "block range too large")', async () => {
      const expected = await reference();
      for (const message of [
        'Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no limit on the response size, or you can request any block range with a cap of 10K logs in the response.',
        'block range too large',
        'exceed maximum block range: 4',
      ]) {
        refusingProxy(() => message, -32602);
        const result = await ethGetLogs(transport(proxy.url), filter(), { blockRangeMax: 1_000 });
        assert.deepEqual(logsJson(result), expected, message);
        const accepted = requestedRanges().filter((r) => r.to - r.from + 1 <= RANGE_LIMIT);
        assert.equal(accepted.reduce((sum, r) => sum + r.to - r.from + 1, 0), filter().toBlock + 1, 'the accepted ranges cover the range once');
      }
    });

    test('never asks for more than blockRangeMax blocks', async () => {
      proxy.setHandler(passThrough);
      proxy.requests.length = 0;
      const result = await ethGetLogs(transport(proxy.url), filter(), { blockRangeMax: 3 });
      assert.equal(result.length, 12);
      assert.ok(requestedRanges().every((r) => r.to - r.from + 1 <= 3));
    });

    test('a single block the provider refuses is a NonRetryableError, after a bounded number of requests', async () => {
      proxy.setHandler(async (request, forward) => {
        const call = request.calls[0] as ProxyCall;
        return call.method === 'eth_getLogs' ? errorReply(call.id, -32005, 'query returned more than 10000 results') : forward();
      });
      proxy.requests.length = 0;
      await assert.rejects(ethGetLogs(transport(proxy.url), filter(), { blockRangeMax: 1_000 }), (error: unknown) => {
        assert.ok(error instanceof NonRetryableError);
        assert.match(error.message, /single block 0/);
        return true;
      });
      assert.ok(proxy.requests.length <= 12, `${proxy.requests.length} requests`);
      proxy.setHandler(passThrough);
    });
  });

  describe('errors', () => {
    test('a refused connection is a RetryableError naming the method and URL, after attemptsMax attempts', async () => {
      const port = await freePort();
      const rpc = transport(`http://127.0.0.1:${port}`, { attemptsMax: 2 });
      await assert.rejects(ethBlockNumber(rpc), (error: unknown) => {
        assert.ok(error instanceof RetryableError);
        assert.match(error.message, new RegExp(`eth_blockNumber http://127\\.0\\.0\\.1:${port}: ECONNREFUSED`));
        return true;
      });
    });

    test('HTTP 5xx and 429 are retried, then a RetryableError', async () => {
      for (const status of [502, 429]) {
        proxy.requests.length = 0;
        proxy.setHandler(async () => ({ status, body: 'busy' }));
        await assert.rejects(ethBlockNumber(transport(proxy.url, { attemptsMax: 3 })), (error: unknown) => error instanceof RetryableError && error.message.includes(`HTTP ${status}`));
        assert.equal(proxy.requests.length, 3);
      }
      // Recovers when the provider does.
      let failures = 1;
      proxy.setHandler(async (_request, forward) => (failures-- > 0 ? { status: 503, body: '' } : forward()));
      assert.equal(await ethBlockNumber(transport(proxy.url)), await anvil.blockNumber());
      proxy.setHandler(passThrough);
    });

    test('invalid params (−32602) are a NonRetryableError, not retried', async () => {
      proxy.requests.length = 0;
      proxy.setHandler(async (request) => errorReply(request.calls[0]?.id, -32602, 'invalid argument 0: hex string has length 3'));
      await assert.rejects(ethBlockNumber(transport(proxy.url)), (error: unknown) => error instanceof NonRetryableError && /-32602/.test(error.message));
      assert.equal(proxy.requests.length, 1);
      proxy.setHandler(passThrough);
    });

    test('a malformed response is a NonRetryableError', async () => {
      proxy.setHandler(async () => ({ status: 200, body: '<html>gateway</html>' }));
      await assert.rejects(ethBlockNumber(transport(proxy.url)), (error: unknown) => error instanceof NonRetryableError && /not JSON/.test(error.message));
      proxy.setHandler(async (request) => ({ status: 200, body: JSON.stringify({ jsonrpc: '2.0', id: request.calls[0]?.id, result: 'twelve' }) }));
      await assert.rejects(ethBlockNumber(transport(proxy.url)), (error: unknown) => error instanceof NonRetryableError && /hex quantity/.test(error.message));
      proxy.setHandler(passThrough);
    });

    test('a node slower than rpcTimeoutMs is a RetryableError', async () => {
      proxy.setHandler(async (_request, forward) => {
        await new Promise((resolve) => setTimeout(resolve, 400));
        return forward();
      });
      const started = Date.now();
      await assert.rejects(ethBlockNumber(transport(proxy.url, { timeoutMs: 100, attemptsMax: 2 })), (error: unknown) => error instanceof RetryableError && /no answer within 100 ms/.test(error.message));
      assert.ok(Date.now() - started < 2_000);
      proxy.setHandler(passThrough);
    });

    test('messages carry the URL without credentials or API keys', async () => {
      const port = new URL(proxy.url).port;
      const url = `http://user:s3cret@127.0.0.1:${port}/v3/9aa3d95b3bc440fa88ea12eaa4456161?key=hidden`;
      assert.equal(redactUrl(url), `http://127.0.0.1:${port}/v3/***`);
      let authorization: string | undefined;
      proxy.setHandler(async (request) => {
        authorization = request.headers['authorization'];
        return { status: 500, body: '' };
      });
      await assert.rejects(ethBlockNumber(transport(url, { attemptsMax: 1 })), (error: unknown) => {
        const text = `${(error as Error).message} ${JSON.stringify((error as RetryableError).details)}`;
        assert.match(text, /HTTP 500/);
        assert.ok(!/s3cret|9aa3d95b|hidden/.test(text), text);
        return true;
      });
      // The credentials of the URL are sent as Basic authorization, as a browser would.
      assert.equal(authorization, `Basic ${Buffer.from('user:s3cret').toString('base64')}`);
      const closed = `http://user:s3cret@127.0.0.1:${await freePort()}/v3/9aa3d95b3bc440fa88ea12eaa4456161`;
      await assert.rejects(ethBlockNumber(transport(closed, { attemptsMax: 1 })), (error: unknown) => !/s3cret|9aa3d95b/.test((error as Error).message));
      proxy.setHandler(passThrough);
    });
  });
});
