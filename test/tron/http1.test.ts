// The plain-HTTP/1.1 socket client (src/chains/tron/http1.ts) against a raw TCP server that
// answers exactly the bytes a test scripts: framings, byte-by-byte delivery, keep-alive and
// close, and the ways an answer can go wrong. And against node:http on the loopback TRON node.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createHttpClient, HttpAnswerTooLarge, HttpTimeout, joinChunks } from '../../src/chains/tron/http.ts';
import { startTronNode } from '../helpers/tron-node.ts';
import { accountFromSeed, trc20Transfer, USDT } from '../helpers/tron-txs.ts';
import { waitFor } from '../helpers/wait.ts';

/** The deadline of a request expected to get its answer (or fail otherwise): it bounds only a
 * failing test, so it is generous for a loaded machine. */
const ANSWER_TIMEOUT_MS = 30_000;

interface Script {
  /** The bytes answered to the n-th request, in pieces written one after the other. */
  answers: Array<Array<string | Buffer> | 'hang'>;
  /** Write every piece byte by byte. */
  trickle?: boolean;
}

/** A TCP server that reads each request (head + Content-Length body) and answers from the script. */
async function rawServer(script: Script): Promise<{ url: string; connections: number; requests: string[]; endConnections(): void; close(): Promise<void> }> {
  const state = { connections: 0, requests: [] as string[] };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    state.connections += 1;
    sockets.add(socket);
    let pending = Buffer.alloc(0);
    socket.on('data', (data) => {
      pending = Buffer.concat([pending, data]);
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = pending.subarray(0, end).toString('latin1');
        const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (pending.length < end + 4 + length) return;
        state.requests.push(`${head}\r\n\r\n${pending.subarray(end + 4, end + 4 + length).toString()}`);
        pending = pending.subarray(end + 4 + length);
        const answer = script.answers[state.requests.length - 1];
        if (answer === undefined || answer === 'hang') continue;
        for (const piece of answer) {
          const bytes = Buffer.from(piece);
          if (script.trickle === true) for (const byte of bytes) socket.write(Buffer.from([byte]));
          else socket.write(bytes);
        }
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get connections() {
      return state.connections;
    },
    requests: state.requests,
    /** Ends every connection after what was written to it (a FIN, not a reset). */
    endConnections: () => {
      for (const socket of sockets) socket.end();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const servers: Array<{ close(): Promise<void> }> = [];
after(async () => {
  for (const s of servers) await s.close();
});
async function serve(script: Script) {
  const server = await rawServer(script);
  servers.push(server);
  return server;
}
const text = (answer: { body: { parts: Buffer[] } }) => Buffer.concat(answer.body.parts).toString();

test('Content-Length and chunked answers (extensions, trailers), delivered byte by byte, on one kept-alive connection', async () => {
  const body = '{"blockID":"00","x":[1,2,3]}';
  const server = await serve({
    trickle: true,
    answers: [
      [`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`],
      ['HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nTransfer-Encoding: chunked\r\n\r\n', '5;ext=1\r\n{"Err\r\n', '9\r\nor":"x"}\n\r\n', '0\r\nX-Trailer: y\r\n\r\n'],
      ['HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]'],
    ],
  });
  const client = createHttpClient({ socketsMax: 4, answerBytesMax: 1 << 20 });
  try {
    const first = await client.post(`${server.url}/wallet/getnowblock`, { 'TRON-PRO-API-KEY': 'k' }, '{}', ANSWER_TIMEOUT_MS);
    assert.equal(first.status, 200);
    assert.equal(text(first), body);
    const second = await client.post(`${server.url}/wallet/getblockbynum`, {}, '{"num":5}', ANSWER_TIMEOUT_MS);
    assert.deepEqual([second.status, second.retryAfter, text(second)], [429, '7', '{"Error":"x"}\n']);
    const third = await client.post(`${server.url}/x`, {}, '{}', ANSWER_TIMEOUT_MS);
    assert.deepEqual([third.status, text(third)], [200, '[]']);
    assert.equal(server.connections, 1, 'one kept-alive connection');
    assert.match(server.requests[0] ?? '', /^POST \/wallet\/getnowblock HTTP\/1\.1\r\nHost: 127\.0\.0\.1:\d+\r\n(?:[^\r\n]+\r\n)*TRON-PRO-API-KEY: k\r\n(?:[^\r\n]+\r\n)*\r\n\{\}$/);
    assert.match(server.requests[1] ?? '', /Content-Length: 9\r\n[^]*\{"num":5\}$/);
  } finally {
    client.close();
  }
});

test('large answers land whole in one buffer: chunked ones de-chunked in place whatever the chunk and read sizes', async () => {
  // Seeded sizes: chunks from 1 byte to 100 KB, written in pieces that cut through framing and data.
  let seed = 7;
  const next = (max: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return 1 + (seed % max);
  };
  const body = Buffer.from(Array.from({ length: 1_200_000 }, (_, i) => 0x41 + ((i * 7 + (i >> 9)) % 26)));
  let framed = '';
  const chunks: Buffer[] = [];
  for (let at = 0; at < body.length; ) {
    const size = Math.min(next(next(2) === 1 ? 100 : 100_000), body.length - at);
    chunks.push(Buffer.from(`${size.toString(16)}\r\n`), body.subarray(at, at + size), Buffer.from('\r\n'));
    at += size;
  }
  chunks.push(Buffer.from('0\r\n\r\n'));
  framed = Buffer.concat(chunks).toString('latin1');
  const pieces: Buffer[] = [];
  const all = Buffer.from(framed, 'latin1');
  for (let at = 0; at < all.length; ) {
    const size = Math.min(next(200_000), all.length - at);
    pieces.push(all.subarray(at, at + size));
    at += size;
  }
  const fixed = body.subarray(0, 300_000);
  const server = await serve({
    answers: [
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', ...pieces],
      [`HTTP/1.1 200 OK\r\nContent-Length: ${fixed.length}\r\n\r\n`, fixed],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', ...pieces],
    ],
  });
  const client = createHttpClient({ socketsMax: 1, answerBytesMax: 1 << 22 });
  try {
    for (const expected of [body, fixed, body]) {
      const answer = await client.post(`${server.url}/wallet/getblockbylimitnext`, {}, '{}', ANSWER_TIMEOUT_MS);
      assert.equal(answer.body.parts.length, 1, 'one contiguous buffer');
      assert.equal(answer.body.length, expected.length);
      assert.ok(Buffer.from(answer.body.parts[0] as Buffer).equals(expected), 'the exact bytes');
    }
    assert.equal(server.connections, 1);
  } finally {
    client.close();
  }
});

test('Connection: close and HTTP/1.0 read-to-close answers end their connection; the next request opens another', async () => {
  const server = await serve({
    answers: [
      ['HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}'],
      ['HTTP/1.0 200 OK\r\n\r\n{"a":1}'],
      ['HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'],
    ],
  });
  // The read-to-close answer ends only when the server closes: close its socket after writing.
  const client = createHttpClient({ socketsMax: 1, answerBytesMax: 1 << 20 });
  try {
    assert.equal(text(await client.post(`${server.url}/a`, {}, '{}', ANSWER_TIMEOUT_MS)), '{}');
    const second = client.post(`${server.url}/b`, {}, '{}', ANSWER_TIMEOUT_MS);
    // Close once the server has answered the request (it writes as it reads), not after a time.
    await waitFor(() => server.requests.length === 2, { what: 'the server to answer the second request' });
    server.endConnections();
    assert.equal(text(await second), '{"a":1}');
  } finally {
    client.close();
  }
  assert.equal(server.connections, 2);
});

test('failures: a node closing mid-answer, a garbled head, oversized answers, no answer at all', async () => {
  const closing = await serve({ answers: [['HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"partial":']] });
  const first = createHttpClient({ socketsMax: 1, answerBytesMax: 1_000 });
  try {
    const partial = first.post(`${closing.url}/a`, {}, '{}', ANSWER_TIMEOUT_MS);
    await waitFor(() => closing.requests.length === 1, { what: 'the server to write half an answer' });
    closing.endConnections();
    await assert.rejects(partial, /closed/);
  } finally {
    first.close();
  }
  const server = await serve({
    answers: [
      ['SSH-2.0-OpenSSH_9.6\r\n\r\n'],
      ['HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n'],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', `3e8\r\n${'a'.repeat(1000)}\r\n`, `10\r\n${'b'.repeat(16)}\r\n`],
      'hang',
    ],
  });
  const client = createHttpClient({ socketsMax: 1, answerBytesMax: 1_000 });
  try {
    await assert.rejects(client.post(`${server.url}/b`, {}, '{}', ANSWER_TIMEOUT_MS), /not an HTTP\/1\.x answer/);
    await assert.rejects(client.post(`${server.url}/c`, {}, '{}', ANSWER_TIMEOUT_MS), HttpAnswerTooLarge);
    await assert.rejects(client.post(`${server.url}/d`, {}, '{}', ANSWER_TIMEOUT_MS), HttpAnswerTooLarge);
    await assert.rejects(client.post(`${server.url}/e`, {}, '{}', 200), HttpTimeout);
  } finally {
    client.close();
  }
  assert.equal(server.connections, 4, 'a connection that failed is not reused');
});

test('the socket client and node:http give the same bytes for the same node answers', async () => {
  const node = await startTronNode();
  servers.push(node);
  const payer = accountFromSeed(61);
  for (let i = 0; i < 3; i += 1) node.mine(Array.from({ length: 40 }, (_, k) => trc20Transfer(payer, USDT, accountFromSeed(70 + k).address, BigInt(i * 100 + k + 1))));
  const sockets = createHttpClient({ socketsMax: 4, answerBytesMax: 1 << 26 });
  const plain = createHttpClient({ socketsMax: 4, answerBytesMax: 1 << 26, plainHttp: 'node' });
  try {
    const start = node.head.number - 2;
    for (const [path, body] of [['/wallet/getblockbylimitnext', `{"startNum":${start},"endNum":${start + 3}}`], ['/wallet/gettransactioninfobyblocknum', `{"num":${start + 1}}`], ['/wallet/getnowblock', '{}']] as const) {
      const [a, b] = await Promise.all([sockets.post(node.url + path, {}, body, ANSWER_TIMEOUT_MS), plain.post(node.url + path, {}, body, ANSWER_TIMEOUT_MS)]);
      assert.equal(a.status, 200);
      assert.ok(a.body.length > 10_000, path);
      assert.ok(Buffer.concat(a.body.parts).equals(Buffer.concat(b.body.parts)), path);
      // The socket client's answer is its own buffer, handed on as it is; node:http's chunks are
      // slices of Node's read buffers, which must be copied before anything moves them to a worker.
      assert.equal(joinChunks(a.body).buffer, a.body.parts[0]?.buffer, path);
      const joined = joinChunks(b.body);
      assert.ok(b.body.parts.every((part) => part.buffer !== joined.buffer), path);
      assert.ok(Buffer.from(joined).equals(Buffer.concat(b.body.parts)), path);
    }
  } finally {
    sockets.close();
    plain.close();
  }
});
