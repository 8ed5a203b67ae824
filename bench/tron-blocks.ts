// Benchmark blocks for TRON: a few dozen template blocks of ~300 real signed transactions in a
// mainnet-like, TRC-20-heavy mix, rendered at thousands of heights. Each height gets its own
// header (number, parent = previous blockID, witness signature, real blockID); the transactions
// of template (height mod templates) are shared bytes, so thousands of blocks fit in memory and
// the loopback node serves them without building anything per request but the infos' heights.
//
// Mix per block (TronScan daily statistics put USDT transfers at over half of all transactions):
//   25 % TRX TransferContract · 55 % USDT transfer (3 % of them reverted) · 10 % another TRC-20 ·
//   10 % DEX swaps (4 logs: two Transfers, one of them USDT, a Sync and a Swap event).
// Watched: every 150th recipient and 2 hot-wallet senders, so each block has a few matches.

import { seededRandom } from './harness.ts';
import { tronAddressFromBody } from '../src/chains/tron/address.ts';
import type { StoredBlock } from '../test/helpers/tron-node.ts';
import { blockIdOf, encodeHeaderRaw, merkleRoot, sha256, type HeaderFields } from '../test/helpers/tron-proto.ts';
import { accountFromSeed, signTxId, transferLog, trc20Info, trc20Transfer, trxTransfer, USDT, type ChainTx, type TronAccount } from '../test/helpers/tron-txs.ts';
import { tronAddressToBodyHex } from '../src/chains/tron/address.ts';

export const OTHER_TOKEN = 'TEkxiTehnzSmSe2XqrBj4w32RUN966rdz8'; // USDC on TRON: logs of a token that is not configured
const ROUTER = 'TKzxdSv2FZKQrEqkKVgp5DcwEXBEKMg2Ax'; // SunSwap v2 router
const WTRX = 'TNUC9Qb1rRpS5CbWLmNMxXBjyFoydXjWFR';
const SYNC_TOPIC = '1c411e9a96e071241c2f21f7726b17ae89e3cab4c78be50e062b03a9fffbbad1';
const SWAP_TOPIC = 'd78ad95fa46c994b6551d0da85fc275fe613ce37657fb8d5e3d130840159d822';
const WATCH_EVERY = 150;
const SENDERS = 400;

export interface Template {
  txs: ChainTx[];
  txTrieRoot: string;
  /** `"transactions":[…]` of the block, shared by every height using the template. */
  txsJson: Buffer;
  /** The infos list split where each info's blockNumber/blockTimeStamp go. */
  infoPieces: Buffer[];
  /** Credits + debits the decoder must find in a block of this template. */
  expectedMatches: number;
}

export interface BenchChain {
  templates: Template[];
  /** Index keys (20-byte bodies, hex) that real transactions pay or spend from. */
  watched: string[];
}

const MARK_NUMBER = 999_999_999_999;
const MARK_TIME = 888_888_888_888_888;
const MARK = `"blockNumber":${MARK_NUMBER},"blockTimeStamp":${MARK_TIME}`;

export function generateChain(templateCount: number, txsPerBlock: number, seed = 195): BenchChain {
  const random = seededRandom(seed);
  const senders: TronAccount[] = Array.from({ length: SENDERS }, (_, i) => accountFromSeed(10_000 + i));
  const hot = [senders[0] as TronAccount, senders[1] as TronAccount];
  const watched = new Set(hot.map((a) => Buffer.from(a.body).toString('hex')));
  let recipients = 0;
  const recipient = (): string => {
    const body = sha256(Buffer.from(`bench recipient ${seed} ${recipients}`)).subarray(0, 20);
    if (recipients++ % WATCH_EVERY === 0) watched.add(body.toString('hex'));
    return tronAddressFromBody(body);
  };
  const templates: Template[] = [];
  for (let t = 0; t < templateCount; t += 1) {
    const txs: ChainTx[] = [];
    for (let i = 0; i < txsPerBlock; i += 1) txs.push(transaction(random, senders, recipient));
    templates.push(template(txs, watched));
  }
  return { templates, watched: [...watched] };
}

function transaction(random: () => number, senders: TronAccount[], recipient: () => string): ChainTx {
  const from = senders[Math.floor(random() * senders.length)] as TronAccount;
  const to = recipient();
  const roll = random();
  const amount = BigInt(1 + Math.floor(random() * 5e9));
  if (roll < 0.25) return trxTransfer(from, to, amount);
  if (roll < 0.8) return trc20Transfer(from, USDT, to, amount, { result: random() < 0.03 ? 'REVERT' : 'SUCCESS' });
  if (roll < 0.9) return trc20Transfer(from, OTHER_TOKEN, to, amount);
  return swap(from, to, amount);
}

/** A router call whose infos carry four logs: WTRX in from the trader, USDT out to `to`, Sync, Swap. */
function swap(from: TronAccount, to: string, amount: bigint): ChainTx {
  const base = trc20Transfer(from, ROUTER, to, amount);
  const pool = Buffer.from(sha256(Buffer.from(`pool ${ROUTER}`)).subarray(0, 20)).toString('hex');
  const fromBody = Buffer.from(from.body).toString('hex');
  const word = (v: bigint) => v.toString(16).padStart(64, '0');
  const logs = [
    transferLog(tronAddressToBodyHex(WTRX), fromBody, pool, amount * 3n),
    transferLog(tronAddressToBodyHex(USDT), pool, tronAddressToBodyHex(to), amount),
    `{"address":"${pool}","data":"${word(10n ** 15n)}${word(10n ** 14n)}","topics":["${SYNC_TOPIC}"]}`,
    `{"address":"${pool}","data":"${word(amount * 3n)}${word(0n)}${word(0n)}${word(amount)}","topics":["${SWAP_TOPIC}","${tronAddressToBodyHex(ROUTER).padStart(64, '0')}","${tronAddressToBodyHex(to).padStart(64, '0')}"]}`,
  ];
  return { ...base, info: (n, t) => trc20Info(base.txID, n, t, tronAddressToBodyHex(ROUTER), 'SUCCESS', logs) };
}

function template(txs: ChainTx[], watched: ReadonlySet<string>): Template {
  const infos = `[${txs.map((tx) => tx.info(MARK_NUMBER, MARK_TIME)).join(',')}]`;
  const infoPieces = infos.split(MARK).map((piece) => Buffer.from(piece));
  return {
    txs,
    txTrieRoot: merkleRoot(txs.map((tx) => sha256(tx.bytes))),
    txsJson: Buffer.from(`"transactions":[${txs.map((tx) => tx.json).join(',')}]`),
    infoPieces,
    expectedMatches: countMatches(txs, watched),
  };
}

/** Matches counted from what each transaction is, independently of the decoder: TRX to or from a
 * watched body, and USDT Transfer logs of successful transactions to or from one. */
function countMatches(txs: ChainTx[], watched: ReadonlySet<string>): number {
  const usdt = tronAddressToBodyHex(USDT);
  let count = 0;
  for (const tx of txs) {
    if (tx.contractRet !== 'SUCCESS') continue;
    const value = (JSON.parse(tx.json) as { raw_data: { contract: Array<{ type: string; parameter: { value: Record<string, string> } }> } }).raw_data.contract[0]!;
    if (value.type === 'TransferContract') {
      if (watched.has(String(value.parameter.value.to_address).slice(2))) count += 1;
      if (watched.has(String(value.parameter.value.owner_address).slice(2))) count += 1;
      continue;
    }
    const info = JSON.parse(tx.info(1, 1)) as { log?: Array<{ address: string; topics: string[] }> };
    for (const log of info.log ?? []) {
      if (log.address !== usdt || log.topics.length !== 3) continue;
      if (watched.has(log.topics[2]!.slice(24))) count += 1;
      if (watched.has(log.topics[1]!.slice(24))) count += 1;
    }
  }
  return count;
}

const WITNESS = accountFromSeed(900_001);

/** The blocks [start, start + count), linked, each rendered from template (height mod templates). */
export function renderChain(chain: BenchChain, start: number, count: number): StoredBlock[] {
  const blocks: StoredBlock[] = [];
  let parentHash = sha256(Buffer.from('bench parent')).toString('hex');
  for (let number = start; number < start + count; number += 1) {
    const t = chain.templates[number % chain.templates.length] as Template;
    const timestampMs = 1_767_000_000_000 + number * 3_000;
    const header: HeaderFields = { timestamp: timestampMs, txTrieRoot: t.txTrieRoot, parentHash, number, witnessAddress: WITNESS.hex, version: 31 };
    const blockId = blockIdOf(header);
    const signature = signTxId(sha256(encodeHeaderRaw(header)).toString('hex'), WITNESS.privateKey);
    const head = `{"blockID":"${blockId}","block_header":{"raw_data":{"number":${number},"txTrieRoot":"${t.txTrieRoot}","witness_address":"${WITNESS.hex}","parentHash":"${parentHash}","version":31,"timestamp":${timestampMs}},"witness_signature":"${signature}"},`;
    const mark = Buffer.from(`"blockNumber":${number},"blockTimeStamp":${timestampMs}`);
    const infos = infosWriter(t, mark.length);
    blocks.push({ number, blockId, parentHash, timestampMs, txs: [], chunks: [Buffer.from(head), t.txsJson, Buffer.from('}')], infos: () => infos.render(mark), release: (buffer) => infos.release(buffer) });
    parentHash = blockId;
  }
  return blocks;
}

interface InfosWriter {
  render(mark: Buffer): Buffer;
  release(buffer: Buffer): void;
}

const writers = new WeakMap<Template, Map<number, InfosWriter>>();

/** The infos of a template for marks of one length: the template rendered once, then per answer
 * copied into a buffer the node gives back once written, with each info's mark overwritten —
 * one copy per answer and no fresh pages, so the node costs the benchmark as little as it can. */
function infosWriter(t: Template, markLength: number): InfosWriter {
  let byLength = writers.get(t);
  if (byLength === undefined) writers.set(t, (byLength = new Map()));
  let writer = byLength.get(markLength);
  if (writer !== undefined) return writer;
  const filler = Buffer.alloc(markLength, 0x20);
  const offsets: number[] = [];
  const pieces: Buffer[] = [];
  let length = 0;
  t.infoPieces.forEach((piece, i) => {
    if (i > 0) {
      offsets.push(length);
      pieces.push(filler);
      length += markLength;
    }
    pieces.push(piece);
    length += piece.length;
  });
  const base = Buffer.concat(pieces);
  const free: Buffer[] = [];
  writer = {
    render(mark) {
      const out = free.pop() ?? Buffer.allocUnsafeSlow(base.length);
      base.copy(out);
      for (const offset of offsets) mark.copy(out, offset);
      return out;
    },
    release(buffer) {
      if (buffer.length === base.length && free.length < 64) free.push(buffer);
    },
  };
  byLength.set(markLength, writer);
  return writer;
}
