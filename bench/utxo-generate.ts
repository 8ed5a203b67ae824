// Realistic synthetic Bitcoin blocks for the utxo benchmark when ../shared/fixtures is absent:
// a full modern block's shape (≈2,500 transactions, ≈1.4 MB; most spends segwit with a 2-item
// witness, outputs a mix of P2WPKH, P2TR, P2PKH, P2SH and P2WSH, a few OP_RETURN), consensus-
// serialized with a correct merkle root. Seeded, so runs are comparable.

import { createHash } from 'node:crypto';
import { seededRandom } from './harness.ts';

export interface GeneratedBlockOptions {
  seed: number;
  transactions: number;
  /** Share of transactions spending segwit inputs (the rest are legacy). */
  segwitShare: number;
}

class Writer {
  private chunks: Uint8Array[] = [];
  length = 0;
  bytes(data: Uint8Array): void {
    this.chunks.push(data);
    this.length += data.length;
  }
  u8(value: number): void {
    this.bytes(Uint8Array.of(value));
  }
  u32(value: number): void {
    const data = new Uint8Array(4);
    new DataView(data.buffer).setUint32(0, value, true);
    this.bytes(data);
  }
  u64(value: bigint): void {
    const data = new Uint8Array(8);
    new DataView(data.buffer).setBigUint64(0, value, true);
    this.bytes(data);
  }
  compactSize(value: number): void {
    if (value < 0xfd) this.u8(value);
    else {
      this.u8(0xfd);
      this.u8(value & 0xff);
      this.u8(value >> 8);
    }
  }
  varBytes(data: Uint8Array): void {
    this.compactSize(data.length);
    this.bytes(data);
  }
  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }
}

function sha256d(data: Uint8Array): Uint8Array {
  return createHash('sha256').update(createHash('sha256').update(data).digest()).digest();
}

export function generateBlock(options: GeneratedBlockOptions): Uint8Array {
  const random = seededRandom(options.seed);
  const randomBytes = (length: number): Uint8Array => Uint8Array.from({ length }, () => Math.floor(random() * 256));
  const outputScript = (): Uint8Array => {
    const pick = random();
    if (pick < 0.45) return Uint8Array.of(0x00, 0x14, ...randomBytes(20));
    if (pick < 0.6) return Uint8Array.of(0x51, 0x20, ...randomBytes(32));
    if (pick < 0.78) return Uint8Array.of(0x76, 0xa9, 0x14, ...randomBytes(20), 0x88, 0xac);
    if (pick < 0.92) return Uint8Array.of(0xa9, 0x14, ...randomBytes(20), 0x87);
    if (pick < 0.98) return Uint8Array.of(0x00, 0x20, ...randomBytes(32));
    return Uint8Array.of(0x6a, 0x20, ...randomBytes(32));
  };
  const txs: Uint8Array[] = [];
  const txids: Uint8Array[] = [];
  for (let t = 0; t < options.transactions; t++) {
    const coinbase = t === 0;
    const segwit = !coinbase && random() < options.segwitShare;
    const inputs = coinbase ? 1 : 1 + Math.floor(random() * random() * 5);
    const outputs = coinbase ? 2 : 1 + Math.floor(random() * 3);
    const body = new Writer();
    body.compactSize(inputs);
    for (let i = 0; i < inputs; i++) {
      body.bytes(coinbase ? new Uint8Array(32) : randomBytes(32));
      body.u32(coinbase ? 0xffff_ffff : Math.floor(random() * 4));
      // Segwit spends have an empty scriptSig; legacy ones carry signature + pubkey (~107 bytes).
      body.varBytes(coinbase ? Uint8Array.of(0x03, 0x01, 0x02, 0x03) : segwit ? new Uint8Array(0) : randomBytes(106 + Math.floor(random() * 3)));
      body.u32(0xffff_fffd);
    }
    body.compactSize(outputs);
    for (let o = 0; o < outputs; o++) {
      body.u64(BigInt(Math.floor(random() * 1e9)));
      body.varBytes(outputScript());
    }
    const bodyBytes = body.finish();
    const tx = new Writer();
    tx.u32(2);
    if (segwit) tx.bytes(Uint8Array.of(0x00, 0x01));
    tx.bytes(bodyBytes);
    if (segwit) {
      for (let i = 0; i < inputs; i++) {
        tx.compactSize(2);
        tx.varBytes(randomBytes(71 + Math.floor(random() * 2)));
        tx.varBytes(randomBytes(33));
      }
    }
    tx.u32(0);
    txs.push(tx.finish());
    const stripped = new Writer();
    stripped.u32(2);
    stripped.bytes(bodyBytes);
    stripped.u32(0);
    txids.push(sha256d(stripped.finish()));
  }
  const block = new Writer();
  block.u32(0x2000_0000);
  block.bytes(randomBytes(32));
  block.bytes(merkleRoot(txids));
  block.u32(1_700_000_000);
  block.u32(0x1703_4219);
  block.u32(Math.floor(random() * 2 ** 32));
  block.compactSize(txs.length);
  for (const tx of txs) block.bytes(tx);
  return block.finish();
}

function merkleRoot(hashes: Uint8Array[]): Uint8Array {
  let level = hashes;
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(sha256d(Uint8Array.of(...(level[i] as Uint8Array), ...((level[i + 1] ?? level[i]) as Uint8Array))));
    level = next;
  }
  return level[0] as Uint8Array;
}
