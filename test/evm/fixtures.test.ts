// The EVM decoder and `settle inspect block` on real mainnet blocks with their receipts
// (../shared/fixtures): the expected matches are computed here, independently, from the
// receipts and the parsed block, never from the decoder's own code.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AbiCoder, getAddress } from 'ethers';
import { decodeBlock, type KeyIndex } from '../../src/chains/evm/decode.ts';
import { inspectEvmBlock, inspectEvmBlockFiles } from '../../src/chains/evm/inspect.ts';
import type { DecodedBlock, Match } from '../../src/scan/types.ts';
import {
  arrayBufferOf,
  blockPath,
  evmFixturesSkipReason,
  loadEvmFixtures,
  receiptsPath,
  transferLogsOf,
  TRANSFER_TOPIC,
  USDT,
  type EvmFixture,
} from '../helpers/evm-fixtures.ts';

const skip = evmFixturesSkipReason();
const fixtures = skip === undefined ? loadEvmFixtures() : [];

/** An index over lower-case 0x addresses, answering the way the worker's IndexView does. */
function indexOf(addresses: Iterable<string>): KeyIndex & { lookups: number } {
  const keys = new Set([...addresses].map((address) => address.slice(2).toLowerCase()));
  return {
    lookups: 0,
    hasKey(bytes, offset, length) {
      this.lookups += 1;
      return keys.has(Buffer.from(bytes.subarray(offset, offset + length)).toString('hex'));
    },
  };
}

interface ParsedTx {
  hash: string;
  from: string;
  to: string | null;
  value: string;
}

function decode(fixture: EvmFixture, index: KeyIndex, blockBytes: Uint8Array = fixture.blockBytes): DecodedBlock {
  const tokens = [USDT[fixture.chain]];
  const logs = Buffer.from(JSON.stringify(transferLogsOf(fixture, tokens)));
  return decodeBlock({ height: fixture.height, parts: [arrayBufferOf(blockBytes), arrayBufferOf(logs)] }, index, { tokens });
}

/** The matches a correct decoder returns, computed from the parsed block and the receipts. */
function expectedMatches(fixture: EvmFixture, watched: ReadonlySet<string>): string[] {
  const block = JSON.parse(fixture.blockBytes.toString('utf8')) as { transactions: ParsedTx[] };
  const out: string[] = [];
  for (const tx of block.transactions) {
    const value = BigInt(tx.value);
    if (value === 0n) continue;
    if (tx.to !== null && watched.has(tx.to.toLowerCase())) out.push(`credit ${tx.hash.slice(2)} -1 native ${tx.to.toLowerCase()} ${value}`);
    if (watched.has(tx.from.toLowerCase())) out.push(`debit ${tx.hash.slice(2)} -1 native ${tx.from.toLowerCase()} ${value}`);
  }
  const usdt = USDT[fixture.chain];
  for (const receipt of fixture.receipts) {
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== usdt || log.topics[0] !== TRANSFER_TOPIC || log.topics.length !== 3) continue;
      const [amount] = AbiCoder.defaultAbiCoder().decode(['uint256'], log.data) as unknown as [bigint];
      const from = `0x${(log.topics[1] as string).slice(26)}`;
      const to = `0x${(log.topics[2] as string).slice(26)}`;
      const position = Number.parseInt(log.logIndex, 16);
      if (watched.has(to)) out.push(`credit ${log.transactionHash.slice(2)} ${position} ${usdt} ${to} ${amount}`);
      if (watched.has(from)) out.push(`debit ${log.transactionHash.slice(2)} ${position} ${usdt} ${from} ${amount}`);
    }
  }
  return out.sort();
}

function describeMatches(matches: Match[]): string[] {
  return matches
    .map((m) => (m.kind === 'spend' ? `spend ${m.txid}` : `${m.kind} ${m.txid} ${m.position} ${m.asset} ${m.address.toLowerCase()} ${m.amount}`))
    .sort();
}

function usdtRecipients(fixture: EvmFixture): string[] {
  return transferLogsOf(fixture, [USDT[fixture.chain]]).map((log) => `0x${(log.topics[2] as string).slice(26)}`);
}

describe('EVM decoder on mainnet blocks', { skip }, () => {
  test('the fixtures hold the USDT Transfer logs SOURCES.md counts', () => {
    for (const fixture of fixtures) {
      const logs = transferLogsOf(fixture, [USDT[fixture.chain]]).filter((log) => log.topics.length === 3);
      assert.equal(logs.length, fixture.usdtTransferLogs, `block ${fixture.height}`);
    }
  });

  test('decodeBlock() credits every USDT Transfer to a watched address with the exact amount, and nothing else', () => {
    for (const fixture of fixtures) {
      // Every other recipient, so both watched and unwatched transfers are in each block.
      const watched = new Set(usdtRecipients(fixture).filter((_, i) => i % 2 === 0));
      const decoded = decode(fixture, indexOf(watched));
      assert.deepEqual(describeMatches(decoded.matches), expectedMatches(fixture, watched), `block ${fixture.height}`);
      for (const match of decoded.matches) {
        if (match.kind === 'credit') assert.equal(match.address, getAddress(match.address), 'addresses are EIP-55 encoded');
      }
    }
  });

  test('decodeBlock() credits all of a block\'s USDT transfers when every recipient is watched', () => {
    for (const fixture of fixtures) {
      const decoded = decode(fixture, indexOf(usdtRecipients(fixture)));
      const tokenCredits = decoded.matches.filter((m) => m.kind === 'credit' && m.asset !== 'native');
      assert.equal(tokenCredits.length, fixture.usdtTransferLogs, `block ${fixture.height}`);
    }
  });

  test('decodeBlock() credits native payments to watched addresses and asks for their receipts', () => {
    for (const fixture of fixtures) {
      const block = JSON.parse(fixture.blockBytes.toString('utf8')) as { transactions: ParsedTx[] };
      const paid = block.transactions.filter((tx) => tx.to !== null && BigInt(tx.value) > 0n);
      const watched = new Set(paid.filter((_, i) => i % 3 === 0).map((tx) => (tx.to as string).toLowerCase()));
      const decoded = decode(fixture, indexOf(watched));
      assert.deepEqual(describeMatches(decoded.matches), expectedMatches(fixture, watched), `block ${fixture.height}`);
      const nativeTxids = new Set(decoded.matches.filter((m) => m.kind !== 'spend' && m.position === -1).map((m) => m.txid));
      assert.deepEqual(new Set(decoded.needsReceipt), nativeTxids);
      if (paid.length > 0) assert.ok(nativeTxids.size > 0, `block ${fixture.height} has a watched native payment`);
    }
  });

  test('decodeBlock() debits spends of watched senders (hot wallets), native and token', () => {
    for (const fixture of fixtures) {
      const block = JSON.parse(fixture.blockBytes.toString('utf8')) as { transactions: ParsedTx[] };
      const nativeSenders = block.transactions.filter((tx) => BigInt(tx.value) > 0n).map((tx) => tx.from.toLowerCase());
      const tokenSenders = transferLogsOf(fixture, [USDT[fixture.chain]]).map((log) => `0x${(log.topics[1] as string).slice(26)}`);
      const watched = new Set([...nativeSenders.slice(0, 2), ...tokenSenders.slice(0, 2)]);
      const decoded = decode(fixture, indexOf(watched));
      assert.deepEqual(describeMatches(decoded.matches), expectedMatches(fixture, watched), `block ${fixture.height}`);
      if (nativeSenders.length > 0) assert.ok(decoded.matches.some((m) => m.kind === 'debit' && m.asset === 'native'), `block ${fixture.height}`);
      if (tokenSenders.length > 0) assert.ok(decoded.matches.some((m) => m.kind === 'debit' && m.asset !== 'native'), `block ${fixture.height}`);
    }
  });

  test('decodeBlock() returns the header and no match when nothing is watched', () => {
    for (const fixture of fixtures) {
      const block = JSON.parse(fixture.blockBytes.toString('utf8')) as { hash: string; parentHash: string; timestamp: string; transactions: unknown[] };
      const index = indexOf([]);
      const decoded = decode(fixture, index);
      assert.equal(decoded.matches.length, 0);
      assert.equal(decoded.height, fixture.height);
      assert.equal(decoded.hash, block.hash.slice(2));
      assert.equal(decoded.parentHash, block.parentHash.slice(2));
      assert.equal(decoded.timestampS, Number.parseInt(block.timestamp, 16));
      assert.equal(decoded.txCount, block.transactions.length);
      // Every transaction's sender and recipient was looked up (contract creations have no recipient).
      assert.ok(index.lookups >= block.transactions.length, `block ${fixture.height}: ${index.lookups} lookups`);
    }
  });

  test('decodeBlock() gives the same result whatever the key order and whitespace of the node\'s JSON', () => {
    for (const fixture of fixtures) {
      const watched = new Set(usdtRecipients(fixture).slice(0, 5));
      const { transactions, ...header } = JSON.parse(fixture.blockBytes.toString('utf8')) as Record<string, unknown>;
      // Transactions first: the targeted scan cannot tell the block's hash from theirs and must parse.
      const reordered = Buffer.from(JSON.stringify({ transactions, ...header }));
      const pretty = Buffer.from(JSON.stringify({ ...header, transactions }, null, 2));
      for (const variant of [reordered, pretty]) {
        assert.deepEqual(decode(fixture, indexOf(watched), variant), decode(fixture, indexOf(watched)), `block ${fixture.height}`);
        assert.deepEqual(decode(fixture, indexOf([]), variant), decode(fixture, indexOf([])), `block ${fixture.height}`);
      }
    }
  });
});

describe('settle inspect block on mainnet blocks', { skip }, () => {
  test('lists every USDT Transfer log of the block (SOURCES.md counts) and every ERC-20 Transfer', () => {
    for (const fixture of fixtures) {
      const result = inspectEvmBlockFiles(fixture.chain, blockPath(fixture.chain, fixture.height), receiptsPath(fixture.chain, fixture.height));
      const usdt = result.transfers.filter((t) => t.token?.toLowerCase() === USDT[fixture.chain]);
      assert.equal(usdt.length, fixture.usdtTransferLogs, `block ${fixture.height}`);
      const erc20 = fixture.receipts.flatMap((r) => r.logs).filter((log) => log.topics[0] === TRANSFER_TOPIC && log.topics.length === 3);
      assert.equal(result.transfers.filter((t) => t.token !== null).length, erc20.length, `block ${fixture.height}`);
      assert.equal(result.number, fixture.height);
      assert.equal(result.tx_count, fixture.receipts.length);
    }
  });

  test('lists native transfers of successful transactions only when receipts are given', () => {
    for (const fixture of fixtures) {
      const block = JSON.parse(fixture.blockBytes.toString('utf8')) as { transactions: ParsedTx[] };
      const withReceipts = inspectEvmBlockFiles(fixture.chain, blockPath(fixture.chain, fixture.height), receiptsPath(fixture.chain, fixture.height));
      const successful = block.transactions.filter((tx, i) => BigInt(tx.value) > 0n && fixture.receipts[i]?.status !== '0x0');
      assert.deepEqual(
        withReceipts.transfers.filter((t) => t.token === null).map((t) => t.tx),
        successful.map((tx) => tx.hash),
      );
      const blockOnly = inspectEvmBlockFiles(fixture.chain, blockPath(fixture.chain, fixture.height));
      assert.equal(blockOnly.transfers.length, block.transactions.filter((tx) => BigInt(tx.value) > 0n).length);
      assert.ok(blockOnly.transfers.every((t) => t.token === null && t.log_index === null));
    }
  });

  test('amounts are exact decimal strings of base units (spot checks)', () => {
    const fixture = fixtures.find((f) => f.height === 16899757) as EvmFixture;
    const result = inspectEvmBlockFiles('eth', blockPath('eth', 16899757), receiptsPath('eth', 16899757));
    // Log 1 of 0x8f0bde…: USDT 0x1a10cf317 = 6,996,947,735 base units (computed by hand).
    const usdt = result.transfers.find((t) => t.tx.startsWith('0x8f0bdedf') && t.log_index === 1);
    assert.deepEqual(usdt, {
      tx: '0x8f0bdedfc99be5c086a47dc431e8297fe6994837408cf9a14b6fe42730212f65',
      log_index: 1,
      token: '0xdAC17F958D2ee523a2206206994597C13D831ec7',
      from: '0x6ea0ac097e829e44f073d69F155A2e2dB3F14E5E',
      to: '0x11b815efB8f581194ae79006d24E0d814B7697F6',
      amount: '6996947735',
    });
    for (const transfer of result.transfers.filter((t) => t.token !== null)) {
      const log = fixture.receipts.flatMap((r) => r.logs).find((l) => Number.parseInt(l.logIndex, 16) === transfer.log_index);
      const [amount] = AbiCoder.defaultAbiCoder().decode(['uint256'], (log as { data: string }).data) as unknown as [bigint];
      assert.equal(transfer.amount, amount.toString());
    }
  });

  test('refuses a block of another chain', () => {
    const fixture = fixtures.find((f) => f.chain === 'polygon') as EvmFixture;
    const block = JSON.parse(fixture.blockBytes.toString('utf8'));
    assert.throws(() => inspectEvmBlock({ chain: 'bsc', block }), /chain id 137/);
    assert.throws(() => inspectEvmBlock({ chain: 'doge', block }), /unknown chain/);
  });

  test('refuses receipts of another block', () => {
    const [a, b] = fixtures.filter((f) => f.chain === 'eth' && f.receipts.length > 1);
    const block = JSON.parse((a as EvmFixture).blockBytes.toString('utf8'));
    assert.throws(() => inspectEvmBlock({ chain: 'eth', block, receipts: (b as EvmFixture).receipts }), /receipts/);
  });
});
