import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { NonRetryableError, RetryableError } from '../../src/errors.ts';
import { freePort } from '../../src/ports.ts';
import { createTronRpc, getBlockByLimitNext, getBlockByNum, getNowBlock, getTransactionInfoByBlockNum, parseRetryAfterMs, type TronRpcOptions } from '../../src/chains/tron/rpc.ts';
import { startTronNode, type TronNode } from '../helpers/tron-node.ts';
import { waitFor } from '../helpers/wait.ts';

const API_KEY = 'c0ffee00-aaaa-bbbb-cccc-0123456789ab';
let node: TronNode;

before(async () => {
  node = await startTronNode();
  node.mineEmpty(3);
});
after(() => node.close());

/** An rpc client whose waits are recorded instead of slept. */
function client(options: Partial<TronRpcOptions> = {}) {
  const waits: number[] = [];
  const rpc = createTronRpc({
    url: node.url,
    apiKey: API_KEY,
    timeoutMs: 30_000, // answers are expected: a generous deadline, so a loaded machine does not retry
    attemptsMax: 4,
    sleep: async (ms) => {
      waits.push(ms);
    },
    ...options,
  });
  return { rpc, waits };
}

function requestsDuring<T>(fn: () => Promise<T>): Promise<{ result: T | undefined; error: unknown; requests: number }> {
  const before = node.requests.length;
  return fn().then(
    (result) => ({ result, error: undefined, requests: node.requests.length - before }),
    (error: unknown) => ({ result: undefined, error, requests: node.requests.length - before }),
  );
}

test('HTTP 429 is retried after the Retry-After the server asked for, not the shorter backoff', async () => {
  const { rpc, waits } = client();
  node.failNextRequests(2, 429, { retryAfterS: 3 });
  const { result, requests } = await requestsDuring(() => getNowBlock(rpc));
  assert.ok(result !== undefined && Buffer.from(result).toString().includes(node.head.blockId));
  assert.equal(requests, 3);
  assert.deepEqual(waits, [3_000, 3_000]);
});

test('a Retry-After beyond the cap is capped, and without one the backoff doubles', async () => {
  const { rpc, waits } = client({ retryAfterMaxMs: 5_000, retryBaseDelayMs: 100 });
  node.failNextRequests(1, 429, { retryAfterS: 3_600 });
  node.failNextRequests(2, 503);
  await getNowBlock(rpc);
  assert.deepEqual(waits, [5_000, 200, 400]);
});

test('java-tron errors with HTTP 200: rate limits are retried, other errors are not', async () => {
  const { rpc } = client();
  node.answerNext(2, '{"Error":"lack of computing resources"}');
  const busy = await requestsDuring(() => getBlockByNum(rpc, node.head.number));
  assert.equal(busy.requests, 3);
  assert.ok(busy.result !== undefined);

  node.answerNext(1, '{"Error":"class java.lang.NumberFormatException : For input string: \\"x\\""}');
  const wrong = await requestsDuring(() => getBlockByNum(rpc, 1));
  assert.equal(wrong.requests, 1, 'not retried');
  assert.ok(wrong.error instanceof NonRetryableError);
  assert.match((wrong.error as Error).message, /^\/wallet\/getblockbynum http:\/\/127\.0\.0\.1:\d+: class java\.lang\.NumberFormatException/);
});

test('a lite fullnode is a configuration problem, reported once with what to do', async () => {
  const { rpc } = client();
  node.answerNext(1, 'this API is closed because this node is a lite fullnode');
  const { error, requests } = await requestsDuring(() => getTransactionInfoByBlockNum(rpc, 5));
  assert.equal(requests, 1);
  assert.ok(error instanceof NonRetryableError);
  assert.equal(error.code, 'tron_rpc_lite_node');
  assert.match(error.message, /needs a full node/);
});

test('retries are bounded: after attemptsMax the last error is thrown, naming the endpoint but never the API key', async () => {
  const { rpc, waits } = client({ attemptsMax: 3 });
  node.failNextRequests(3, 503, { body: `upstream down for key ${API_KEY}` });
  const { error, requests } = await requestsDuring(() => getNowBlock(rpc));
  assert.equal(requests, 3);
  assert.equal(waits.length, 2);
  assert.ok(error instanceof RetryableError);
  assert.match(error.message, /\/wallet\/getnowblock http:\/\/127\.0\.0\.1:\d+: HTTP 503/);
  assert.ok(!error.message.includes(API_KEY), 'the node echoed the key in its body; the message quotes the body without it');
  assert.equal(node.requests.at(-1)?.apiKey, API_KEY, 'the key travels in TRON-PRO-API-KEY');
});

test('the API key never appears in error messages we build', async () => {
  const port = await freePort();
  const rpc = createTronRpc({ url: `http://127.0.0.1:${port}`, apiKey: API_KEY, timeoutMs: 500, attemptsMax: 2, sleep: async () => {} });
  await assert.rejects(getNowBlock(rpc), (e: unknown) => e instanceof RetryableError && e.code === 'tron_rpc_unreachable' && !e.message.includes(API_KEY));
});

test('HTTP 403: a TronGrid frequency ban is retried, a refused key is not', async () => {
  const { rpc } = client();
  node.failNextRequests(1, 403, { body: '{"Error":"The key exceeds the frequency limit(15), and the query server is suspended for 30s"}', retryAfterS: 30 });
  const banned = await requestsDuring(() => getNowBlock(rpc));
  assert.equal(banned.requests, 2);
  node.failNextRequests(1, 401, { body: 'ApiKey not exists' });
  const refused = await requestsDuring(() => getNowBlock(rpc));
  assert.equal(refused.requests, 1);
  assert.ok(refused.error instanceof NonRetryableError);
});

test('a node that does not answer times out per request, retryably', async () => {
  const { rpc } = client({ timeoutMs: 150, attemptsMax: 2 });
  node.stallNextRequests(2);
  const { error, requests } = await requestsDuring(() => getNowBlock(rpc));
  assert.equal(requests, 2);
  assert.ok(error instanceof RetryableError && error.code === 'tron_rpc_timeout', String(error));
});

test('getblockbylimitnext answers [start, end) and refuses ranges java-tron would ignore', async () => {
  const { rpc } = client();
  const start = node.head.number - 2;
  const text = Buffer.from(await getBlockByLimitNext(rpc, start, start + 2)).toString();
  assert.ok(text.includes(node.block(start)!.blockId) && text.includes(node.block(start + 1)!.blockId));
  assert.ok(!text.includes(node.block(start + 2)!.blockId), 'end is exclusive');
  assert.throws(() => getBlockByLimitNext(rpc, 10, 111), /1 to 100 blocks/);
  assert.throws(() => getBlockByLimitNext(rpc, 10, 10), /1 to 100 blocks/);
});

test('parseRetryAfterMs() reads delta-seconds and HTTP dates', () => {
  assert.equal(parseRetryAfterMs('7', 0), 7_000);
  assert.equal(parseRetryAfterMs('Thu, 01 Jan 1970 00:00:10 GMT', 4_000), 6_000);
  assert.equal(parseRetryAfterMs('soon', 0), undefined);
  assert.equal(parseRetryAfterMs(null, 0), undefined);
});

test('the HTTP client refuses an answer beyond its size bound instead of buffering it', async () => {
  const { createHttpClient, HttpAnswerTooLarge } = await import('../../src/chains/tron/http.ts');
  const client = createHttpClient({ socketsMax: 2, answerBytesMax: 200 });
  try {
    await assert.rejects(client.post(`${node.url}/wallet/getnowblock`, {}, '{}', 30_000), HttpAnswerTooLarge);
    const small = await client.post(`${node.url}/wallet/getblockbynum`, {}, '{"num":1}', 30_000);
    assert.equal(Buffer.concat(small.body.parts).toString(), '{}\n');
  } finally {
    client.close();
  }
});

test('shutdown aborts a request in flight and stops retrying, on both HTTP clients', async () => {
  for (const plainHttp of ['sockets', 'node'] as const) {
    const controller = new AbortController();
    const { rpc } = client({ timeoutMs: 10_000, attemptsMax: 5, signal: controller.signal, plainHttp });
    node.stallNextRequests(1);
    const seen = node.requests.length;
    const outcome = requestsDuring(() => getNowBlock(rpc));
    // Shut down once the request is in flight (the node has it), not after a time.
    await waitFor(() => node.requests.length > seen, { what: `${plainHttp}: the request to reach the node` });
    controller.abort();
    const abortedAt = Date.now();
    const { error, requests } = await outcome;
    assert.ok(error instanceof RetryableError && error.code === 'tron_rpc_aborted', `${plainHttp}: ${String(error)}`);
    assert.equal(requests, 1, 'no retry after shutdown');
    assert.ok(Date.now() - abortedAt < 5_000, 'the abort ends the request at once, not at its 10 s timeout');
    await assert.rejects(getNowBlock(rpc), /aborted/, 'and nothing after it');
  }
});
