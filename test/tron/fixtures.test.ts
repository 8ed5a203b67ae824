// The decoder and the adapter on real TRON mainnet data (../shared/fixtures/tron/mainnet, see
// SOURCES.md): signed transactions as TronGrid and the untron proofs hold them, and 20 real
// consecutive block headers. The fixtures carry no transaction infos, so the infos are the ones
// java-tron would print for these transactions (the USDT Transfer log follows from the call data).

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { TronWeb } from 'tronweb';
import { systemClock } from '../../src/common.ts';
import { ChainSchema, type TronChainConfig } from '../../src/config.ts';
import { decodeBlock, decodeRange, type KeyLookup } from '../../src/chains/tron/decode.ts';
import { createTronAdapter } from '../../src/chains/tron/index.ts';
import { isTronAddress, tronAddressToBodyHex } from '../../src/chains/tron/address.ts';
import type { CreditMatch, DebitMatch, Match, RawBlock } from '../../src/scan/types.ts';
import { startTronNode, type StoredBlock, type TronNode } from '../helpers/tron-node.ts';
import { blockIdOf, decodeBlockHeader, decodeTransaction, encodeTransaction, rawDataJson, sha256, type ContractResultName } from '../helpers/tron-proto.ts';
import { accountFromSeed, executedInfo, transferLog, trc20Info, trc20Transfer, USDT, type ChainTx } from '../helpers/tron-txs.ts';

const dir = fileURLToPath(new URL('../../../shared/fixtures/tron/mainnet/', import.meta.url));
const skip = !existsSync(dir);
if (skip) console.log(`# tron mainnet fixtures not found at ${dir}: these tests are skipped`);
const fixture = <T>(name: string): T => JSON.parse(readFileSync(dir + name, 'utf8')) as T;
const USDT_BODY = tronAddressToBodyHex(USDT);
const tokens = { tokens: [USDT_BODY] };
const own = (b: Uint8Array) => Uint8Array.from(b).buffer as ArrayBuffer;
const rawOf = (block: StoredBlock): RawBlock => ({ height: block.number, parts: [own(Buffer.concat(block.chunks)), own(block.infos())] });
const nodes: TronNode[] = [];
after(async () => {
  for (const n of nodes) await n.close();
});

function index(addresses: string[]): KeyLookup {
  const keys = new Set(addresses.map(tronAddressToBodyHex));
  return { hasKey: (b, o, l) => keys.has(Buffer.from(b.subarray(o, o + l)).toString('hex')) };
}

/** A signed Transaction protobuf (untron fixtures) as a block entry. */
function fromProtobuf(hex: string): ChainTx {
  const bytes = Buffer.from(hex.replace(/^0x/, ''), 'hex');
  const { raw, signatures, contractRet } = decodeTransaction(bytes);
  const txID = sha256(raw).toString('hex');
  const rawJson = rawDataJson(raw).json;
  const ret = contractRet[0] ?? 'SUCCESS';
  const json = `{"ret":[{"contractRet":"${ret}"}],"signature":${JSON.stringify(signatures)},"txID":"${txID}","raw_data":${rawJson},"raw_data_hex":"${Buffer.from(raw).toString('hex')}"}`;
  return { txID, json, bytes, contractRet: ret, info: executedInfo(txID, JSON.parse(rawJson), ret) };
}

/** A TronGrid v1 transaction object (ret, signature, txID, raw_data, raw_data_hex) as a block entry. */
function fromTronGrid(t: { txID: string; raw_data: never; raw_data_hex: string; signature: string[]; ret: Array<{ contractRet: ContractResultName }> }): ChainTx {
  const ret = t.ret[0]!.contractRet;
  const json = `{"ret":[{"contractRet":"${ret}"}],"signature":${JSON.stringify(t.signature)},"txID":"${t.txID}","raw_data":${JSON.stringify(t.raw_data)},"raw_data_hex":"${t.raw_data_hex}"}`;
  return { txID: t.txID, json, bytes: encodeTransaction(Buffer.from(t.raw_data_hex, 'hex'), t.signature, ret), contractRet: ret, info: executedInfo(t.txID, t.raw_data, ret) };
}

/** A block with a real mainnet header (and so its real blockID) holding `txs`. */
function realBlock(headerHex: string, txs: ChainTx[]): StoredBlock {
  const { header: h, witnessSignature } = decodeBlockHeader(Buffer.from(headerHex.slice(2), 'hex'));
  const blockId = blockIdOf(h);
  const raw = `{"number":${h.number},"txTrieRoot":"${h.txTrieRoot}","witness_address":"${h.witnessAddress}","parentHash":"${h.parentHash}","version":${h.version},"timestamp":${h.timestamp}}`;
  const body = txs.length === 0 ? '' : `,"transactions":[${txs.map((tx) => tx.json).join(',')}]`;
  const json = `{"blockID":"${blockId}","block_header":{"raw_data":${raw},"witness_signature":"${witnessSignature}"}${body}}`;
  return { number: h.number, blockId, parentHash: h.parentHash, timestampMs: h.timestamp, txs, chunks: [Buffer.from(json)], infos: () => Buffer.from(`[${txs.map((tx) => tx.info(h.number, h.timestamp)).join(',')}]`) };
}

test('mainnet block 79,729,218: its real TRX and USDT transactions are credited, through the adapter', { skip }, async () => {
  const trigger = fixture<{ blocks: string[]; encodedTx: string; txId: string }>('untron_trigger_79729218_caf54b.json');
  const transfer = fixture<{ encodedTx: string; txId: string; expected: { toTron: string; amountSun: string } }>('untron_transfer_79729218_eceb1b.json');
  const usdtTx = fromProtobuf(trigger.encodedTx);
  const trxTx = fromProtobuf(transfer.encodedTx);
  assert.equal(`0x${usdtTx.txID}`, trigger.txId, 'txID = sha256(raw_data) of the real transaction');
  assert.equal(`0x${trxTx.txID}`, transfer.txId);
  const blocks = trigger.blocks.map((hex, i) => realBlock(hex, i === 0 ? [trxTx, usdtTx] : []));
  assert.equal(blocks[0]!.blockId, '0000000004c0924231619ab7d3cfc3040d8b80a18f92556ce10b49ce24c56458');

  const node = await startTronNode({ blocks });
  nodes.push(node);
  const config = ChainSchema.parse({ family: 'tron', network: 'private', rpc: { url: node.url }, tokens: [{ code: 'USDT-TRC20', symbol: 'USDT', contract: USDT, decimals: 6 }] }) as TronChainConfig;
  const adapter = createTronAdapter('tron', config, { logger: pino({ level: 'silent' }), clock: systemClock, signal: new AbortController().signal });
  const raw = await adapter.fetchBlocks(79_729_218, 79_729_237);
  assert.deepEqual(raw.map((r) => [r.height, r.count]), [[79_729_218, 20]], 'one range of twenty real blocks');

  const trxTo = TronWeb.address.fromHex(transfer.expected.toTron.replace(/^0x/, ''));
  const usdtTo = TronWeb.address.fromHex('41bc636f5947ff59387bd3aedd2f5af3108d1b8bd8');
  // Read in place as a worker does; the real parent hashes must link all twenty.
  const decoded = decodeRange(raw[0]!, index([trxTo, usdtTo]), tokens);
  assert.deepEqual(decoded.map((d) => d.hash), blocks.map((b) => b.blockId));
  assert.deepEqual(
    decoded[0]!.matches.map((m) => [m.txid, (m as CreditMatch).asset, (m as CreditMatch).address, (m as CreditMatch).amount, (m as CreditMatch).from]),
    [
      [trxTx.txID, 'native', trxTo, BigInt(transfer.expected.amountSun), TronWeb.address.fromHex('4159ed74912bc97e04e10bf06210487083b0debacb')],
      [usdtTx.txID, USDT, usdtTo, 0x55a24d60n, TronWeb.address.fromHex('414e686c3e1f9f27f23f1e49c4516b315dfe693699')],
    ],
  );
});

test('25 real transactions of a TronGrid page: TRX and USDT in and out of TM1zz…x9R, TRC-10 ignored', { skip }, async () => {
  const page = fixture<{ data: Array<Parameters<typeof fromTronGrid>[0] & { blockNumber: number }> }>('trongrid_v1_account_txs_TM1zzNDZD2DPASbKcgdVoTYhfmYgtfwx9R.json');
  const account = 'TM1zzNDZD2DPASbKcgdVoTYhfmYgtfwx9R';
  const txs = page.data.map(fromTronGrid);
  txs.forEach((tx) => assert.equal(tx.txID, sha256(Buffer.from(JSON.parse(tx.json).raw_data_hex, 'hex')).toString('hex')));
  const node = await startTronNode({ startHeight: 20_829_498 });
  nodes.push(node);
  // In chain order (the page is newest first), a few per block as on chain.
  const ordered = [...txs].reverse();
  const blocks = [0, 5, 10, 15, 20].map((at) => node.mine(ordered.slice(at, at + 5)));
  const matches = blocks.flatMap((b) => decodeBlock(rawOf(b), index([account]), tokens).matches);

  // Expected, from the fixture's own fields: TRX by TransferContract, USDT by the call data.
  const expected: Array<[string, string, string, bigint]> = [];
  for (const t of [...page.data].reverse()) {
    const c = (t.raw_data as { contract: Array<{ type: string; parameter: { value: Record<string, string | number> } }> }).contract[0]!;
    const v = c.parameter.value;
    if (c.type === 'TransferContract') {
      if (TronWeb.address.fromHex(String(v.to_address)) === account) expected.push(['credit', t.txID, 'native', BigInt(v.amount!)]);
      if (TronWeb.address.fromHex(String(v.owner_address)) === account) expected.push(['debit', t.txID, 'native', BigInt(v.amount!)]);
    } else if (c.type === 'TriggerSmartContract') {
      expected.push(['debit', t.txID, USDT, BigInt(`0x${String(v.data).slice(72)}`)]);
    }
  }
  const sortKey = (x: unknown[]) => `${x[1]}:${x[0]}`;
  const got = matches.map((m) => [m.kind, m.txid, (m as CreditMatch).asset, (m as CreditMatch).amount] as [string, string, string, bigint]);
  assert.deepEqual(got.sort((a, b) => sortKey(a).localeCompare(sortKey(b))), expected.sort((a, b) => sortKey(a).localeCompare(sortKey(b))));
  assert.equal(expected.filter((e) => e[0] === 'credit').length, 5);
  assert.equal(expected.filter((e) => e[2] === USDT).length, 17);
  // Every USDT debit names the recipient the call data names (a 41-padded word on this page).
  for (const m of matches.filter((x): x is DebitMatch => x.kind === 'debit' && x.asset === USDT)) assert.match(m.to, /^T[1-9A-HJ-NP-Za-km-z]{33}$/);
});

test('20 real USDT Transfer events (explorer from/to in base58) come out with the same addresses', { skip }, async () => {
  const page = fixture<{ data: Array<{ transaction_id: string; from: string; to: string; value: string }> }>('trongrid_v1_trc20_transfers_TM1zzNDZD2DPASbKcgdVoTYhfmYgtfwx9D.json');
  // The page's own account, TM1zz…x9D, is TM1zz…x9R with its last character edited (a mock in
  // its source repository): same 20-byte body, failing checksum. Replayed for the real account.
  const mock = 'TM1zzNDZD2DPASbKcgdVoTYhfmYgtfwx9D';
  const account = 'TM1zzNDZD2DPASbKcgdVoTYhfmYgtfwx9R';
  assert.equal(isTronAddress(mock), false);
  const real = (address: string) => (address === mock ? account : address);
  page.data.forEach((e) => {
    e.from = real(e.from);
    e.to = real(e.to);
  });
  const node = await startTronNode();
  nodes.push(node);
  const sender = accountFromSeed(41);
  // Each event becomes the log of a transaction: topics are the 20-byte bodies, as TRON emits them.
  const txs = page.data.map((e): ChainTx => {
    const tx = trc20Transfer(sender, USDT, e.to, BigInt(e.value));
    const log = transferLog(USDT_BODY, tronAddressToBodyHex(e.from), tronAddressToBodyHex(e.to), BigInt(e.value));
    return { ...tx, info: (n, t) => trc20Info(tx.txID, n, t, USDT_BODY, 'SUCCESS', [log]) };
  });
  const matches: Match[] = decodeBlock(rawOf(node.mine(txs)), index([account]), tokens).matches;
  const expected = page.data.map((e) => (e.to === account ? ['credit', e.to, e.from, e.value] : ['debit', e.from, e.to, e.value]));
  assert.deepEqual(
    matches.map((m) => (m.kind === 'credit' ? [m.kind, m.address, m.from, m.amount.toString()] : [m.kind, (m as DebitMatch).address, (m as DebitMatch).to, (m as DebitMatch).amount.toString()])),
    expected,
  );
  assert.equal(matches.filter((m) => m.kind === 'credit').length, 4);
});
