// The TRON decoder's fast paths (java-tron's exact shapes matched piece by piece) against its
// general reader (order-independent, key by key): on realistic blocks they must give the same
// matches, and on corrupted bytes the same result or the same error — a fast path may only ever
// decline and leave the bytes to the general reader. Blocks are the benchmark's: ~300 signed
// transactions in a TRC-20-heavy mix with swaps, reverted transfers and other tokens.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateChain, renderChain } from '../../bench/tron-blocks.ts';
import { decodeBlock, fastPaths } from '../../src/chains/tron/decode.ts';
import { tronAddressToBodyHex } from '../../src/chains/tron/address.ts';
import type { DecodedBlock, RawBlock } from '../../src/scan/types.ts';
import { USDT } from '../helpers/tron-txs.ts';
import { seededRandom } from '../../bench/harness.ts';

const chain = generateChain(3, 120, 7);
const blocks = renderChain(chain, 70_000_000, 3);
const watched = new Set(chain.watched);
const index = { hasKey: (b: Uint8Array, o: number, l: number) => watched.has(Buffer.from(b.subarray(o, o + l)).toString('hex')) };
const options = { tokens: [tronAddressToBodyHex(USDT)] };
const own = (bytes: Uint8Array) => Uint8Array.from(bytes).buffer as ArrayBuffer;
const STRUCTURE = new Set(Buffer.from('"\\:,{}[]'));

function decode(raw: () => RawBlock, fast: boolean): { ok: DecodedBlock } | { error: string } {
  const before = fastPaths.enabled;
  fastPaths.enabled = fast;
  try {
    return { ok: decodeBlock(raw(), index, options) };
  } catch (error) {
    const { name, code } = error as { name: string; code?: string };
    return { error: `${name} ${code ?? ''}` };
  } finally {
    fastPaths.enabled = before;
  }
}

test('fast paths and the general reader find the same matches in realistic blocks, and the fast paths do the reading', () => {
  for (const block of blocks) {
    const bytes = Buffer.concat(block.chunks);
    const infos = block.infos();
    const raw = () => ({ height: block.number, parts: [own(bytes), own(infos)] });
    const taken = fastPaths.taken;
    const fast = decode(raw, true);
    const fastReads = fastPaths.taken - taken;
    const general = decode(raw, false);
    assert.ok('ok' in fast && 'ok' in general);
    assert.deepEqual(fast.ok, general.ok);
    assert.ok(fast.ok.matches.length > 0, 'the blocks have matches to compare');
    // Every transaction and info but the few of failed transactions (result/resMessage keys).
    assert.ok(fastReads >= 2 * fast.ok.txCount * 0.9, `${fastReads} of ${2 * fast.ok.txCount} read by a fast path`);
  }
});

test('on corrupted bytes the fast paths give exactly what the general reader gives: the same matches or the same error', () => {
  const random = seededRandom(195);
  const interesting = Buffer.from('"\\,:{}[] 0123456789abcdefABCDEFxyz41-.e');
  const block = blocks[0]!;
  const bytes = Buffer.concat(block.chunks);
  const infos = block.infos();
  let differentOutcomes = 0;
  for (let round = 0; round < 3_000; round += 1) {
    const target = round % 2 === 0 ? Buffer.from(bytes) : Buffer.from(infos);
    const edits = 1 + Math.floor(random() * 3);
    for (let e = 0; e < edits; e += 1) {
      // Mostly next to structure (quotes, colons, commas, brackets), where the readers could part.
      let at = Math.floor(random() * target.length);
      if (random() < 0.7) {
        while (at < target.length - 1 && !STRUCTURE.has(target[at] as number)) at += 1;
        at = Math.max(0, at + Math.floor(random() * 3) - 1);
      }
      if (random() < 0.5) target[at] = interesting[Math.floor(random() * interesting.length)] as number;
      else target.copyWithin(at, Math.min(target.length - 1, at + 1 + Math.floor(random() * 8)));
    }
    const raw = () => ({ height: block.number, parts: round % 2 === 0 ? [own(target), own(infos)] : [own(bytes), own(target)] });
    const fast = decode(raw, true);
    const general = decode(raw, false);
    assert.deepEqual(fast, general, `round ${round}`);
    if ('error' in fast || fast.ok.matches.length !== 0) differentOutcomes += 1;
  }
  assert.ok(differentOutcomes > 100, 'the corruptions reach both outcomes');
});

test('a receipt that says REVERT without a result key drops the transfer in both readers', () => {
  const found = blocks
    .map((block) => ({ block, result: decode(() => ({ height: block.number, parts: [own(Buffer.concat(block.chunks)), own(block.infos())] }), true) }))
    .map(({ block, result }) => ({ block, credit: 'ok' in result ? result.ok.matches.find((m) => m.kind === 'credit' && m.asset === USDT) : undefined }))
    .find(({ credit }) => credit !== undefined);
  assert.ok(found?.credit !== undefined && found.credit.kind === 'credit', 'a USDT credit to revert');
  const { block, credit } = found;
  const bytes = Buffer.concat(block.chunks);
  const infos = block.infos().toString();
  // That transaction's info: its receipt result turns into REVERT.
  const at = infos.indexOf(`"id":"${credit.txid}"`);
  const receipt = infos.indexOf('"result":"SUCCESS"}', at);
  const reverted = `${infos.slice(0, receipt)}"result":"REVERT"}${infos.slice(receipt + '"result":"SUCCESS"}'.length)}`;
  const raw = () => ({ height: block.number, parts: [own(bytes), own(Buffer.from(reverted))] });
  const fast = decode(raw, true);
  assert.deepEqual(fast, decode(raw, false));
  assert.ok('ok' in fast && !fast.ok.matches.some((m) => m.kind !== 'spend' && m.txid === credit.txid), 'no match of the reverted transaction');
});
