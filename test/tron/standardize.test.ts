import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TronWeb } from 'tronweb';
import { NonRetryableError, RetryableError } from '../../src/errors.ts';
import {
  checkLinked,
  parseWith,
  standardizeBlock,
  standardizeTransactionInfos,
  TransferContractValueSchema,
  type TronBlock,
} from '../../src/chains/tron/standardize.ts';
import { decodeBlock, decodeRange } from '../../src/chains/tron/decode.ts';
import { tronAddressToBodyHex } from '../../src/chains/tron/address.ts';
import type { CreditMatch, DebitMatch, Match, RawBlock } from '../../src/scan/types.ts';
import { startTronNode, type StoredBlock, type TronNode } from '../helpers/tron-node.ts';
import { accountFromSeed, trc20Transfer, trxTransfer, USDT, type ChainTx } from '../helpers/tron-txs.ts';

const bytes = (text: string) => new Uint8Array(Buffer.from(text));
/** An ArrayBuffer holding exactly these bytes (a small Buffer's .buffer is Node's shared pool). */
const own = (data: string | Uint8Array) => Uint8Array.from(typeof data === 'string' ? Buffer.from(data) : data).buffer as ArrayBuffer;
const blockText = (b: StoredBlock) => Buffer.concat(b.chunks).toString();
const alice = accountFromSeed(21);
const watched = [accountFromSeed(22), accountFromSeed(23), accountFromSeed(24)];
let node: TronNode;
before(async () => {
  node = await startTronNode();
});
after(() => node.close());

test('standardizeBlock() parses a block exactly, amounts beyond 2^53 as bigint', () => {
  const big = trxTransfer(alice, watched[0]!.address, 2n ** 62n + 1n);
  const block = node.mine([big, trc20Transfer(alice, USDT, watched[1]!.address, 5n)]);
  const parsed = standardizeBlock(bytes(blockText(block)), 'test') as TronBlock;
  assert.equal(parsed.header.blockId, block.blockId);
  assert.equal(parsed.header.parentHash, block.parentHash);
  assert.deepEqual(parsed.transactions.map((t) => t.txID), block.txs.map((t) => t.txID));
  const value = parseWith(TransferContractValueSchema, parsed.transactions[0]?.raw_data.contract[0]?.parameter.value, 'test');
  assert.equal(value.amount, 2n ** 62n + 1n);
  assert.equal(standardizeBlock(bytes('{}\n'), 'test'), undefined, 'the node says {} for no block');
});

test('standardizeBlock() rejects malformed blocks with a clear NonRetryableError', () => {
  const block = node.mine([trxTransfer(alice, watched[0]!.address, 1n)]);
  const text = blockText(block);
  const cases: Array<[string, RegExp]> = [
    [text.replace(/"blockID":"[0-9a-f]+",/, ''), /blockID/],
    [text.replace(/"txID":"([0-9a-f]{60})[0-9a-f]{4}"/, '"txID":"$1"'), /transactions\.0\.txID: must be 64 hex digits/],
    [text.replace('"version":31', '"version":31,"nonce":"00"'), /nonce/],
    [text.replace(`"number":${block.number}`, `"number":${block.number + 1}`), /does not match its header/],
    [text.replace(/"owner_address":"41/, '"owner_address":"4x'), /./],
    ['<html>502 Bad Gateway</html>', /test: not a JSON value/],
  ];
  for (const [bad, message] of cases) {
    assert.throws(() => {
      const parsed = standardizeBlock(bytes(bad), 'test');
      // Contract values are typed by their contract type, where they are read.
      parseWith(TransferContractValueSchema, parsed?.transactions[0]?.raw_data.contract[0]?.parameter.value, 'test');
    }, (e: unknown) => e instanceof NonRetryableError && message.test(e.message), String(message));
  }
});

/** A raw range as the adapter hands it to a worker: the answer, then each block's infos. */
function rawRange(text: string, from: number, infos: Buffer[]): RawBlock {
  return { height: from, count: infos.length, parts: [own(text), ...infos.map((i) => own(i))] };
}

test('checkLinked() and decodeRange() refuse blocks that do not link', () => {
  const a = node.mine([]);
  const b = node.mine([]);
  const c = node.mine([]);
  const headers = [a, b, c].map((x) => standardizeBlock(bytes(blockText(x)), 'test')!.header);
  checkLinked(headers, 'test');
  assert.throws(() => checkLinked([headers[0]!, headers[2]!], 'test'), (e: unknown) => e instanceof NonRetryableError && e.code === 'tron_blocks_unlinked');
  assert.throws(() => checkLinked([headers[1]!], 'test', { height: a.number, hash: 'ff'.repeat(32), parentHash: '' }), /does not follow/);
  const range = (blocks: StoredBlock[]) => rawRange(`{"block":[${blocks.map(blockText).join(',')}]}`, a.number, blocks.map((x) => x.infos()));
  assert.deepEqual(decodeRange(range([a, b, c]), indexOf([]), { tokens: [] }).map((d) => d.hash), [a, b, c].map((x) => x.blockId));
  // c on another branch: the right height, another parent. Read while the node switched: retryable.
  node.fork(2, [[], [trxTransfer(alice, watched[0]!.address, 3n)]]);
  const other = node.block(c.number)!;
  assert.notEqual(other.blockId, c.blockId);
  assert.throws(() => decodeRange(range([a, b, other]), indexOf([]), { tokens: [] }), (e: unknown) => e instanceof RetryableError && e.code === 'tron_blocks_unlinked');
  // A block at the wrong height is the node misbehaving.
  assert.throws(() => decodeRange(rawRange(`{"block":[${blockText(a)},${blockText(c)}]}`, a.number, [a.infos(), c.infos()]), indexOf([]), { tokens: [] }), (e: unknown) => e instanceof NonRetryableError && e.code === 'tron_block_height_mismatch');
});

test('decodeRange() reads the blocks in place whatever the spacing and unknown keys, each with its own infos', () => {
  const inner = `{"blockID":"${'ab'.repeat(32)}"}`;
  const txs = [trxTransfer(alice, watched[0]!.address, 1n), trxTransfer(alice, watched[1]!.address, 2n)];
  const odd = txs.map((tx): ChainTx => ({ ...tx, json: tx.json.replace('"ret":', `"x":[{},${inner}],"y":[${inner}],"ret":`) }));
  const blocks = [node.mine(odd), node.mine([]), node.mine([...odd.slice(1), trc20Transfer(alice, USDT, watched[2]!.address, 7n)])];
  const text = ` {"other": {"block": 1}, "block" : [ ${blocks.map(blockText).join(' ,\n')} ] }\n`;
  const decoded = decodeRange(rawRange(text, blocks[0]!.number, blocks.map((b) => b.infos())), indexOf(watched.map((w) => w.address)), { tokens: [tronAddressToBodyHex(USDT)] });
  assert.deepEqual(decoded.map((d) => [d.height, d.hash, d.txCount]), blocks.map((b) => [b.number, b.blockId, b.txs.length]));
  assert.deepEqual(decoded.map((d) => d.matches.map((m) => (m as CreditMatch).amount)), [[1n, 2n], [], [2n, 7n]]);
  // Infos of the wrong block are caught by their ids.
  assert.throws(() => decodeRange(rawRange(text, blocks[0]!.number, [blocks[2]!.infos(), blocks[1]!.infos(), blocks[0]!.infos()]), indexOf([]), { tokens: [] }), RetryableError);
});

test('decodeRange() asks again for blocks the node left out, and refuses answers that are not a range', () => {
  const blocks = [node.mine([trxTransfer(alice, watched[0]!.address, 1n)]), node.mine([])];
  const from = blocks[0]!.number;
  const infos = blocks.map((b) => b.infos());
  const unavailable = (e: unknown) => e instanceof RetryableError && e.code === 'tron_block_unavailable';
  assert.throws(() => decodeRange(rawRange(`{"block":[${blockText(blocks[0]!)}]}`, from, infos), indexOf([]), { tokens: [] }), unavailable, 'one of two');
  assert.throws(() => decodeRange(rawRange('{"block":[]}\n', from, infos), indexOf([]), { tokens: [] }), unavailable);
  assert.throws(() => decodeRange(rawRange('{}\n', from, infos), indexOf([]), { tokens: [] }), unavailable, 'java-tron says {} for none');
  const text = `{"block":[${blocks.map(blockText).join(',')}]}`;
  assert.throws(() => decodeRange(rawRange(text, from, infos.slice(0, 1)), indexOf([]), { tokens: [] }), /more than the 1 blocks asked for/);
  assert.throws(() => decodeRange(rawRange(text.slice(0, -20), from, infos), indexOf([]), { tokens: [] }), NonRetryableError);
  assert.throws(() => decodeRange({ ...rawRange(text, from, infos), count: 3 }, indexOf([]), { tokens: [] }), /expected \[range, 3 transaction infos\]/);
});

test('standardizeTransactionInfos() takes only infos of this block, one per transaction, in order', () => {
  const block = node.mine([trxTransfer(alice, watched[0]!.address, 1n), trc20Transfer(alice, USDT, watched[0]!.address, 2n)]);
  const other = node.mine([trxTransfer(alice, watched[0]!.address, 3n), trxTransfer(alice, watched[0]!.address, 4n)]);
  const parsed = standardizeBlock(bytes(blockText(block)), 'test') as TronBlock;
  const infos = standardizeTransactionInfos(block.infos(), parsed, 'test');
  assert.equal(infos[1]?.log[0]?.address, tronAddressToBodyHex(USDT));
  assert.throws(() => standardizeTransactionInfos(other.infos(), parsed, 'test'), (e: unknown) => e instanceof RetryableError && e.code === 'tron_infos_mismatch');
  assert.throws(() => standardizeTransactionInfos(bytes('[]'), parsed, 'test'), /2 transactions but 0 transaction infos/);
  const reversed = bytes(`[${[...block.txs].reverse().map((t) => t.info(block.number, 0)).join(',')}]`);
  assert.throws(() => standardizeTransactionInfos(reversed, parsed, 'test'), /info 0 is for/);
  assert.throws(() => standardizeTransactionInfos(bytes('[{"id":"zz"}]'), parsed, 'test'), NonRetryableError);
});

function indexOf(addresses: string[]) {
  const keys = new Set(addresses.map(tronAddressToBodyHex));
  return { hasKey: (b: Uint8Array, o: number, l: number) => keys.has(Buffer.from(b.subarray(o, o + l)).toString('hex')) };
}

/** The matching rules written again, plainly, over the zod-parsed view with tronweb's address
 * helpers and Set lookups: an independent oracle for the byte-walking decoder. */
function reference(block: TronBlock, infosBytes: Uint8Array, watchedSet: Set<string>, token: string): Match[] {
  const infos = standardizeTransactionInfos(infosBytes, block, 'reference');
  const native: Match[] = [];
  const tokens: Match[] = [];
  let position = 0;
  block.transactions.forEach((tx, i) => {
    const info = infos[i]!;
    const ok = tx.ret[0]?.contractRet === 'SUCCESS' && info.result !== 'FAILED' && ['SUCCESS', 'DEFAULT', undefined].includes(info.receipt?.result);
    const contract = tx.raw_data.contract[0]!;
    if (ok && contract.type === 'TransferContract') {
      const v = parseWith(TransferContractValueSchema, contract.parameter.value, 'reference');
      const [to, from] = [TronWeb.address.fromHex(v.to_address), TronWeb.address.fromHex(v.owner_address)];
      if (watchedSet.has(to)) native.push({ kind: 'credit', txid: tx.txID, position: -1, asset: 'native', key: v.to_address.slice(2), address: to, amount: v.amount, from });
      if (watchedSet.has(from)) native.push({ kind: 'debit', txid: tx.txID, position: -1, asset: 'native', key: v.owner_address.slice(2), address: from, amount: v.amount, to });
    }
    for (const log of info.log) {
      const at = position++;
      if (!ok || TronWeb.address.fromHex(`41${log.address}`) !== token || log.topics.length !== 3 || !log.topics[0]!.startsWith('ddf252ad')) continue;
      const [from, to] = [TronWeb.address.fromHex(`41${log.topics[1]!.slice(24)}`), TronWeb.address.fromHex(`41${log.topics[2]!.slice(24)}`)];
      const amount = BigInt(`0x${log.data}`);
      if (watchedSet.has(to)) tokens.push({ kind: 'credit', txid: tx.txID, position: at, asset: token, key: log.topics[2]!.slice(24), address: to, amount, from });
      if (watchedSet.has(from)) tokens.push({ kind: 'debit', txid: tx.txID, position: at, asset: token, key: log.topics[1]!.slice(24), address: from, amount, to });
    }
  });
  return [...native, ...tokens];
}

test('the decoder agrees with the zod-parsed view on 40 random blocks', () => {
  let seed = 5;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const people = [alice, ...watched, accountFromSeed(25), accountFromSeed(26)];
  const pick = () => people[Math.floor(random() * people.length)]!;
  const watchedSet = new Set(watched.map((w) => w.address));
  for (let b = 0; b < 40; b += 1) {
    const txs: ChainTx[] = [];
    for (let i = 0; i < Math.floor(random() * 12); i += 1) {
      const [from, to] = [pick(), pick()];
      const amount = BigInt(Math.floor(random() * 1e9)) * (random() < 0.1 ? 10n ** 12n : 1n) + 1n;
      const roll = random();
      if (roll < 0.35) txs.push(trxTransfer(from, to.address, amount));
      else txs.push(trc20Transfer(from, USDT, to.address, amount, { result: roll > 0.9 ? 'REVERT' : 'SUCCESS' }));
    }
    const block = node.mine(txs);
    const parsed = standardizeBlock(bytes(blockText(block)), 'test') as TronBlock;
    const expected = reference(parsed, block.infos(), watchedSet, USDT);
    const infos = block.infos();
    const decoded = decodeBlock(
      { height: block.number, parts: [own(blockText(block)), own(infos)] },
      indexOf([...watchedSet]),
      { tokens: [tronAddressToBodyHex(USDT)] },
    );
    const sortKey = (m: Match) => `${(m as CreditMatch | DebitMatch).position}:${m.txid}:${m.kind}`;
    assert.deepEqual([...decoded.matches].sort((x, y) => sortKey(x).localeCompare(sortKey(y))), [...expected].sort((x, y) => sortKey(x).localeCompare(sortKey(y))), `block ${b}`);
  }
});
