// Real Bitcoin and Litecoin mainnet blocks from the shared fixtures folder (../shared/fixtures from
// the repository root; provenance in its SOURCES.md), in the forms the tests need. Tests skip with
// a printed notice when the folder is absent; fixture files are never copied into the repository.

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const FIXTURES_DIR = fileURLToPath(new URL('../../../shared/fixtures/', import.meta.url));
export const HAVE_FIXTURES = existsSync(FIXTURES_DIR);

/** Prints the notice once per test file and returns the `skip` option for node:test. */
export function fixturesSkip(): string | false {
  if (HAVE_FIXTURES) return false;
  console.log(`# NOTICE: ${FIXTURES_DIR} not found: tests that need real blocks are skipped`);
  return 'shared fixtures absent';
}

export interface RawFixture {
  name: string;
  coin: 'btc' | 'ltc';
  bytes: Uint8Array;
  hash: string;
  height: number;
}

/** The raw block files, with the hash and height SOURCES.md gives for each. */
export function rawBlockFixtures(): RawFixture[] {
  const files: Array<[string, 'btc' | 'ltc', string, number]> = [
    ['btc/mainnet/block300025.raw', 'btc', '0000000000000000821c4e0acc40f88bedbce3b73ba2358b5ade58a9022cc78c', 300025],
    ['btc/mainnet/block413567.raw', 'btc', '0000000000000000025aff8be8a55df8f89c77296db6198f272d6577325d4069', 413567],
    ['btc/mainnet/block481829.raw', 'btc', '000000000000000000917cba69f69b758fe396c8e30ae97bbcf08c4eb975e726', 481829],
    ['btc/mainnet/block540107_00000000000000000021868c2cefc52a480d173c849412fe81c4e5ab806f94ab.raw', 'btc', '00000000000000000021868c2cefc52a480d173c849412fe81c4e5ab806f94ab', 540107],
    ['btc/mainnet/block702861_000000000000000000000c835b2adcaedc20fdf6ee440009c249452c726dafae.raw', 'btc', '000000000000000000000c835b2adcaedc20fdf6ee440009c249452c726dafae', 702861],
    ['btc/mainnet/block951658.raw', 'btc', '00000000000000000001cbe4b4add61d60d9a470e0958f1b4024f202db9ca628', 951658],
    ['ltc/mainnet/block2265985.raw', 'ltc', '9bacbef81b42f777fabc19d08bceddb56d219fd4585f85946cb27470c6f4f596', 2265985],
  ];
  return files.map(([file, coin, hash, height]) => ({ name: file, coin, bytes: new Uint8Array(readFileSync(FIXTURES_DIR + file)), hash, height }));
}

/** Blocks 1..255 from the blk*.dat-framed file: [magic f9beb4d9][u32 LE length][block]. */
export function framedBlocks(): Uint8Array[] {
  const data = new Uint8Array(readFileSync(`${FIXTURES_DIR}btc/mainnet/blocks_1-255_framed.dat`));
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const blocks: Uint8Array[] = [];
  for (let at = 0; at < data.length && blocks.length < 1000; ) {
    if (view.getUint32(at, false) !== 0xf9beb4d9) throw new Error(`bad magic at ${at}`);
    const length = view.getUint32(at + 4, true);
    blocks.push(data.slice(at + 8, at + 8 + length));
    at += 8 + length;
  }
  return blocks;
}

export interface ElectrumxFixture {
  coin: 'btc' | 'ltc';
  hash: string;
  height: number;
  merkleroot: string;
  txids: string[];
  blockHex: string;
}

export function electrumxFixtures(): ElectrumxFixture[] {
  return [
    ['btc', 'btc/mainnet/block951658.electrumx.json'],
    ['ltc', 'ltc/mainnet/block2265985.electrumx.json'],
  ].map(([coin, file]) => {
    const json = JSON.parse(readFileSync(FIXTURES_DIR + (file as string), 'utf8')) as { hash: string; height: number; merkleroot: string; tx: string[]; block: string };
    return { coin: coin as 'btc' | 'ltc', hash: json.hash, height: json.height, merkleroot: json.merkleroot, txids: json.tx, blockHex: json.block };
  });
}

export interface GetblockTx {
  txid: string;
  hex: string;
  vout: Array<{ value: number; n: number; scriptPubKey: { hex: string; type: string; addresses?: string[]; address?: string } }>;
}

export interface GetblockFixture {
  hash: string;
  height: number;
  version: number;
  previousblockhash: string;
  merkleroot: string;
  time: number;
  bits: string;
  nonce: number;
  tx: GetblockTx[];
}

/** Litecoin getblock verbosity-2 results (per-tx hex, no raw block). */
export function getblockFixtures(): GetblockFixture[] {
  return [2383206, 2383207, 2383208].map((height) => JSON.parse(readFileSync(`${FIXTURES_DIR}ltc/mainnet/getblock_v2_${height}.json`, 'utf8')) as GetblockFixture);
}

/** Consensus serialization of a getblock result: header from its fields, then its transactions'
 * hex, then (when the last transaction is a HogEx) an empty MWEB presence byte: the fixture has
 * no raw MWEB block bytes. */
export function assembleGetblock(block: GetblockFixture, txHexes: string[] = block.tx.map((tx) => tx.hex)): Uint8Array {
  const header = Buffer.alloc(80);
  header.writeInt32LE(block.version, 0);
  Buffer.from(block.previousblockhash, 'hex').reverse().copy(header, 4);
  Buffer.from(block.merkleroot, 'hex').reverse().copy(header, 36);
  header.writeUInt32LE(block.time, 68);
  header.writeUInt32LE(Number.parseInt(block.bits, 16), 72);
  header.writeUInt32LE(block.nonce, 76);
  const count = txHexes.length < 0xfd ? Buffer.from([txHexes.length]) : Buffer.from([0xfd, txHexes.length & 0xff, txHexes.length >> 8]);
  const last = txHexes.at(-1) ?? '';
  const hogEx = last.slice(8, 12) === '0008' || last.slice(8, 12) === '0009';
  return new Uint8Array(Buffer.concat([header, count, ...txHexes.map((hex) => Buffer.from(hex, 'hex')), hogEx ? Buffer.from([0]) : Buffer.alloc(0)]));
}
