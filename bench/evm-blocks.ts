// Blocks for the EVM benchmark: the real mainnet blocks of ../shared/fixtures (Ethereum and
// Polygon, full transactions, with the USDT Transfer logs of their receipts), or — when that
// folder is absent — generated blocks of the same shape (notice printed). Each is turned into a
// template that renders it at any height: number, hash, parentHash and every transaction's and
// log's blockNumber/blockHash are rewritten, so a few blocks make a chain of thousands that links
// and passes every cross-check.

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { seededRandom } from './harness.ts';

export const TRANSFER_TOPIC = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef';
export const USDT_TOKENS = ['0xdac17f958d2ee523a2206206994597c13d831ec7', '0xc2132d05d31c914a87c6611c10748aeb04b58e8f'];

const FIXTURES = [
  ['eth', 11098450],
  ['eth', 15753009],
  ['eth', 16899757],
  ['eth', 4370006],
  ['eth', 13998626],
  ['eth', 468179],
  ['polygon', 38102393],
] as const;

export interface SourceBlock {
  name: string;
  /** eth_getBlockByNumber(n, true) result JSON. */
  block: string;
  /** The USDT Transfer logs of the block, as eth_getLogs returns them. */
  logs: Array<Record<string, unknown>>;
}

export function loadSourceBlocks(): { blocks: SourceBlock[]; source: string } {
  const dir = fileURLToPath(new URL('../../shared/fixtures/', import.meta.url));
  // BENCH_EVM_GENERATED=1 uses the generated blocks even when the fixtures are there (to try them).
  const useFixtures = process.env.BENCH_EVM_GENERATED !== '1';
  if (useFixtures && FIXTURES.every(([chain, height]) => existsSync(`${dir}${chain}/mainnet/block_${height}.json`))) {
    const blocks = FIXTURES.map(([chain, height]) => {
      const receipts = JSON.parse(readFileSync(`${dir}${chain}/mainnet/receipts_${height}.json`, 'utf8')) as Array<{ logs: Array<Record<string, unknown>> }>;
      const logs = receipts.flatMap((r) => r.logs).filter((l) => USDT_TOKENS.includes(String(l['address']).toLowerCase()) && (l['topics'] as string[])[0] === TRANSFER_TOPIC);
      return { name: `${chain}-${height}`, block: readFileSync(`${dir}${chain}/mainnet/block_${height}.json`, 'latin1'), logs };
    });
    return { blocks, source: dir };
  }
  console.log(`# NOTICE: ${useFixtures ? `${dir} not found` : 'BENCH_EVM_GENERATED=1'}: benchmarking generated blocks of the mainnet shape instead of real ones`);
  const random = seededRandom(16899757);
  return { blocks: Array.from({ length: 6 }, (_, i) => generateBlock(random, i)), source: 'generated' };
}

/** Heights the benchmark chain uses start above this: every height then has 7 hex digits, so
 * every rendering of a block has the same length and a template is copied whole and patched in
 * place (a concat of hundreds of pieces per block cost the node more than the copy itself). */
export const HEIGHT_BASE = 0x100_0000;
export const HEIGHT_MAX = 0xfff_ffff;

/** A text rendered once with placeholder values of the final width; holes are patched per height. */
export interface Template {
  bytes: Buffer;
  holes: { at: number; kind: number }[];
}

/** Cuts `text` at every occurrence of each `needles[i]`, which become holes of kind i, filled
 * with `placeholders[i]` (the width every value of that kind has). */
export function makeTemplate(text: string, needles: string[], placeholders: Buffer[]): Template {
  const found: { at: number; length: number; kind: number }[] = [];
  needles.forEach((needle, kind) => {
    for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) found.push({ at, length: needle.length, kind });
  });
  found.sort((a, b) => a.at - b.at);
  const pieces: Buffer[] = [];
  const holes: { at: number; kind: number }[] = [];
  let from = 0;
  let length = 0;
  for (const hole of found) {
    const piece = Buffer.from(text.slice(from, hole.at), 'latin1');
    pieces.push(piece, placeholders[hole.kind] as Buffer);
    holes.push({ at: length + piece.length, kind: hole.kind });
    length += piece.length + (placeholders[hole.kind] as Buffer).length;
    from = hole.at + hole.length;
  }
  pieces.push(Buffer.from(text.slice(from), 'latin1'));
  return { bytes: Buffer.concat(pieces), holes };
}

/** Writes the template at out[at…] with the values of one height; returns the bytes written. */
export function renderInto(out: Buffer, at: number, template: Template, values: Buffer[]): number {
  template.bytes.copy(out, at);
  for (const hole of template.holes) (values[hole.kind] as Buffer).copy(out, at + hole.at);
  return template.bytes.length;
}

export interface BlockTemplate {
  name: string;
  block: Template;
  /** The logs as the comma-separated inside of a JSON array ('' when none). */
  logs: Template;
  logCount: number;
  txCount: number;
}

/** Templates of a source block: its own hash, parent and number become holes. */
export function blockTemplate(source: SourceBlock): BlockTemplate {
  const header = JSON.parse(source.block) as { hash: string; parentHash: string; number: string; transactions: unknown[] };
  // The block hash is also every transaction's and log's blockHash; the number is their blockNumber.
  const needles = [`"${header.hash}"`, `"parentHash":"${header.parentHash}"`, `"number":"${header.number}"`, `"blockNumber":"${header.number}"`];
  const placeholders = heightValues(HEIGHT_BASE);
  const block = makeTemplate(source.block, needles, placeholders);
  const logs = makeTemplate(JSON.stringify(source.logs).slice(1, -1), needles, placeholders);
  return { name: source.name, block, logs, logCount: source.logs.length, txCount: header.transactions.length };
}

/** Hole values of height h: [hash, parent, number, blockNumber] as the bytes that fill the holes. */
export function heightValues(height: number): Buffer[] {
  if (height < HEIGHT_BASE || height > HEIGHT_MAX) throw new RangeError(`benchmark heights are ${HEIGHT_BASE}…${HEIGHT_MAX}`);
  const number = `0x${height.toString(16)}`;
  return [
    Buffer.from(`"${hashOf(height)}"`),
    Buffer.from(`"parentHash":"${hashOf(height - 1)}"`),
    Buffer.from(`"number":"${number}"`),
    Buffer.from(`"blockNumber":"${number}"`),
  ];
}

/** A synthetic, unique block hash per height. */
export function hashOf(height: number): string {
  return `0x${(height + 0x5e77_1e00).toString(16).padStart(16, '0').repeat(4)}`;
}

function hex(random: () => number, bytes: number): string {
  let out = '';
  for (let i = 0; i < bytes; i += 1) out += Math.floor(random() * 256).toString(16).padStart(2, '0');
  return out;
}

/** A block in geth's key order with ~150 transactions (plain payments, token calls, contract
 * calls with long input) and ~15 USDT Transfer logs: the size and shape of a mainnet block. */
function generateBlock(random: () => number, n: number): SourceBlock {
  const height = 17_000_000 + n;
  const hash = `0x${hex(random, 32)}`;
  const q = (value: number | bigint): string => `0x${value.toString(16)}`;
  const transactions = Array.from({ length: 120 + Math.floor(random() * 60) }, (_, i) => {
    const kind = random();
    const parity = q(Math.floor(random() * 2));
    const input = kind < 0.3 ? '0x' : kind < 0.7 ? `0xa9059cbb${'0'.repeat(24)}${hex(random, 20)}${hex(random, 32)}` : `0x${hex(random, 100 + Math.floor(random() * 1000))}`;
    return {
      blockHash: hash, blockNumber: q(height), from: `0x${hex(random, 20)}`, gas: q(21_000 + Math.floor(random() * 500_000)),
      gasPrice: q(20_000_000_000 + Math.floor(random() * 1e9)), maxFeePerGas: q(30_000_000_000), maxPriorityFeePerGas: q(1_000_000_000),
      hash: `0x${hex(random, 32)}`, input, nonce: q(Math.floor(random() * 1e5)), to: `0x${hex(random, 20)}`, transactionIndex: q(i),
      value: kind < 0.3 ? q(BigInt(Math.floor(random() * 1e9)) * 10n ** 9n) : '0x0', type: '0x2', accessList: [], chainId: '0x1',
      v: parity, r: `0x${hex(random, 32)}`, s: `0x3${hex(random, 32).slice(1)}`, yParity: parity,
    };
  });
  const block = {
    baseFeePerGas: q(20_000_000_000), difficulty: '0x0', extraData: `0x${hex(random, 12)}`, gasLimit: q(30_000_000), gasUsed: q(15_000_000), hash,
    logsBloom: `0x${hex(random, 256)}`, miner: `0x${hex(random, 20)}`, mixHash: `0x${hex(random, 32)}`, nonce: '0x0000000000000000', number: q(height),
    parentHash: `0x${hex(random, 32)}`, receiptsRoot: `0x${hex(random, 32)}`, sha3Uncles: `0x${hex(random, 32)}`, size: q(150_000), stateRoot: `0x${hex(random, 32)}`,
    timestamp: q(1_680_000_000 + n * 12), totalDifficulty: q(58_750_003_716_598_352_816_469n), transactions, transactionsRoot: `0x${hex(random, 32)}`, uncles: [],
  };
  const logs = Array.from({ length: 10 + Math.floor(random() * 10) }, (_, i) => ({
    address: USDT_TOKENS[0], topics: [TRANSFER_TOPIC, `0x${'0'.repeat(24)}${hex(random, 20)}`, `0x${'0'.repeat(24)}${hex(random, 20)}`],
    data: `0x${'0'.repeat(48)}${hex(random, 8)}`, blockNumber: q(height), transactionHash: transactions[i * 3]?.hash, transactionIndex: q(i * 3), blockHash: hash, logIndex: q(i * 2), removed: false,
  }));
  return { name: `generated-${n}`, block: JSON.stringify(block), logs };
}
