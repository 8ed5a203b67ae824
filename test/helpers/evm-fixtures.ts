// Real Ethereum and Polygon mainnet blocks with their receipts, from the shared fixtures folder
// (../shared/fixtures next to the repository; provenance in its SOURCES.md). Never copied into
// the repository: when the folder is absent, the tests that need it skip with a printed notice.

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const FIXTURES_DIR = fileURLToPath(new URL('../../../shared/fixtures/', import.meta.url));

/** USDT contracts (CHAINS.md §3.7), lower-case. */
export const USDT = { eth: '0xdac17f958d2ee523a2206206994597c13d831ec7', polygon: '0xc2132d05d31c914a87c6611c10748aeb04b58e8f' } as const;
export const TRANSFER_TOPIC = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef';

export interface EvmFixture {
  chain: 'eth' | 'polygon';
  height: number;
  /** The eth_getBlockByNumber(n, true) result bytes exactly as stored. */
  blockBytes: Buffer;
  /** eth_getBlockReceipts-shaped array, parsed. */
  receipts: FixtureReceipt[];
  /** USDT Transfer logs per SOURCES.md. */
  usdtTransferLogs: number;
}

export interface FixtureLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: string;
  blockHash: string;
  transactionHash: string;
  transactionIndex: string;
  logIndex: string;
  removed?: boolean;
}

export interface FixtureReceipt {
  transactionHash: string;
  status?: string;
  logs: FixtureLog[];
}

/** Blocks and the USDT Transfer log counts SOURCES.md gives for them. */
export const EVM_FIXTURE_BLOCKS: ReadonlyArray<{ chain: 'eth' | 'polygon'; height: number; usdtTransferLogs: number }> = [
  { chain: 'eth', height: 468179, usdtTransferLogs: 0 },
  { chain: 'eth', height: 4370006, usdtTransferLogs: 0 },
  { chain: 'eth', height: 11098450, usdtTransferLogs: 43 },
  { chain: 'eth', height: 13998626, usdtTransferLogs: 0 },
  { chain: 'eth', height: 15753009, usdtTransferLogs: 18 },
  { chain: 'eth', height: 16899757, usdtTransferLogs: 18 },
  { chain: 'polygon', height: 38102393, usdtTransferLogs: 15 },
];

/** Why the fixture tests skip (printed once), or undefined when the fixtures are there. */
export function evmFixturesSkipReason(): string | undefined {
  if (existsSync(`${FIXTURES_DIR}eth/mainnet/block_16899757.json`)) return undefined;
  const reason = `shared fixtures not found at ${FIXTURES_DIR}; skipping tests on real mainnet blocks`;
  console.log(`# ${reason}`);
  return reason;
}

export function blockPath(chain: string, height: number): string {
  return `${FIXTURES_DIR}${chain}/mainnet/block_${height}.json`;
}

export function receiptsPath(chain: string, height: number): string {
  return `${FIXTURES_DIR}${chain}/mainnet/receipts_${height}.json`;
}

export function loadEvmFixtures(): EvmFixture[] {
  return EVM_FIXTURE_BLOCKS.map(({ chain, height, usdtTransferLogs }) => ({
    chain,
    height,
    usdtTransferLogs,
    blockBytes: readFileSync(blockPath(chain, height)),
    receipts: JSON.parse(readFileSync(receiptsPath(chain, height), 'utf8')) as FixtureReceipt[],
  }));
}

/** The logs eth_getLogs({address: tokens, topics: [Transfer]}) returns for the block. */
export function transferLogsOf(fixture: EvmFixture, tokens: readonly string[]): FixtureLog[] {
  return fixture.receipts
    .flatMap((receipt) => receipt.logs)
    .filter((log) => tokens.includes(log.address.toLowerCase()) && log.topics[0] === TRANSFER_TOPIC);
}

/** An ArrayBuffer holding exactly these bytes. */
export function arrayBufferOf(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}
