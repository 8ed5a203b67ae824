// The few TRON protobuf messages the loopback node and the fixture tests need, encoded and
// decoded by hand (tronweb's bundled protobufs have Transaction but not BlockHeader):
//   BlockHeader{raw, witness_signature}, Transaction{raw_data, signature, ret},
//   Transaction.raw with TransferContract / TriggerSmartContract, and the txTrieRoot merkle.
// Field numbers are those of java-tron's protocol/src/main/protos/core/Tron.proto.

import { createHash } from 'node:crypto';

export function sha256(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest();
}

// ---- writing ----

export class ProtoWriter {
  private readonly out: number[] = [];

  varint(field: number, value: bigint | number): this {
    const v = BigInt(value);
    if (v === 0n) return this;
    this.rawVarint(BigInt(field << 3));
    this.rawVarint(v);
    return this;
  }

  bytes(field: number, value: Uint8Array | string): this {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'hex') : value;
    if (bytes.length === 0) return this;
    this.rawVarint(BigInt((field << 3) | 2));
    this.rawVarint(BigInt(bytes.length));
    for (const b of bytes) this.out.push(b);
    return this;
  }

  text(field: number, value: string): this {
    return this.bytes(field, Buffer.from(value, 'utf8'));
  }

  private rawVarint(value: bigint): void {
    // int64 fields: negative values are two's complement in 10 bytes.
    let v = value < 0n ? value + (1n << 64n) : value;
    while (v >= 0x80n) {
      this.out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.out.push(Number(v));
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

// ---- reading ----

export type ProtoValue = bigint | Uint8Array;

/** All fields of a message: field number → values in order (varints as bigint, length-delimited as bytes). */
export function readProto(bytes: Uint8Array): Map<number, ProtoValue[]> {
  const fields = new Map<number, ProtoValue[]>();
  let at = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const byte = bytes[at++];
      if (byte === undefined) throw new Error('truncated varint');
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
    throw new Error('varint too long');
  };
  while (at < bytes.length) {
    const key = Number(varint());
    const field = key >>> 3;
    const wire = key & 7;
    let value: ProtoValue;
    if (wire === 0) value = varint();
    else if (wire === 2) {
      const length = Number(varint());
      value = bytes.subarray(at, at + length);
      at += length;
    } else throw new Error(`unsupported wire type ${wire}`);
    const list = fields.get(field) ?? [];
    list.push(value);
    fields.set(field, list);
  }
  return fields;
}

function one(fields: Map<number, ProtoValue[]>, field: number): ProtoValue | undefined {
  return fields.get(field)?.[0];
}

function hexOf(value: ProtoValue | undefined): string {
  return value instanceof Uint8Array ? Buffer.from(value).toString('hex') : '';
}

function intOf(value: ProtoValue | undefined): bigint {
  return typeof value === 'bigint' ? value : 0n;
}

// ---- block header ----

export interface HeaderFields {
  timestamp: number;
  txTrieRoot: string;
  parentHash: string;
  number: number;
  witnessId?: number;
  witnessAddress: string;
  version: number;
  accountStateRoot?: string;
}

export function encodeHeaderRaw(h: HeaderFields): Uint8Array {
  return new ProtoWriter()
    .varint(1, h.timestamp)
    .bytes(2, h.txTrieRoot)
    .bytes(3, h.parentHash)
    .varint(7, h.number)
    .varint(8, h.witnessId ?? 0)
    .bytes(9, h.witnessAddress)
    .varint(10, h.version)
    .bytes(11, h.accountStateRoot ?? '')
    .finish();
}

/** blockID = 8-byte number || sha256(raw)[8:32]. */
export function blockIdOf(h: HeaderFields): string {
  const digest = sha256(encodeHeaderRaw(h));
  digest.writeBigUInt64BE(BigInt(h.number), 0);
  return digest.toString('hex');
}

/** A serialized BlockHeader (raw_data + witness_signature) → its fields. */
export function decodeBlockHeader(bytes: Uint8Array): { header: HeaderFields; raw: Uint8Array; witnessSignature: string } {
  const outer = readProto(bytes);
  const raw = one(outer, 1) as Uint8Array;
  const f = readProto(raw);
  const header: HeaderFields = {
    timestamp: Number(intOf(one(f, 1))),
    txTrieRoot: hexOf(one(f, 2)),
    parentHash: hexOf(one(f, 3)),
    number: Number(intOf(one(f, 7))),
    witnessId: Number(intOf(one(f, 8))),
    witnessAddress: hexOf(one(f, 9)),
    version: Number(intOf(one(f, 10))),
    accountStateRoot: hexOf(one(f, 11)),
  };
  return { header, raw, witnessSignature: hexOf(one(outer, 2)) };
}

// ---- transactions ----

export const CONTRACT_RESULT = {
  DEFAULT: 0, SUCCESS: 1, REVERT: 2, BAD_JUMP_DESTINATION: 3, OUT_OF_MEMORY: 4, PRECOMPILED_CONTRACT: 5,
  STACK_TOO_SMALL: 6, STACK_TOO_LARGE: 7, ILLEGAL_OPERATION: 8, STACK_OVERFLOW: 9, OUT_OF_ENERGY: 10,
  OUT_OF_TIME: 11, JVM_STACK_OVER_FLOW: 12, UNKNOWN: 13, TRANSFER_FAILED: 14, INVALID_CODE: 15,
} as const;
export type ContractResultName = keyof typeof CONTRACT_RESULT;

export interface RawDataFields {
  refBlockBytes: string;
  refBlockHash: string;
  expiration: number;
  timestamp: number;
  feeLimit?: number;
  contract:
    | { type: 'TransferContract'; ownerAddress: string; toAddress: string; amount: bigint }
    | { type: 'TriggerSmartContract'; ownerAddress: string; contractAddress: string; callValue?: bigint; data: string };
}

const CONTRACT_TYPE_NUMBER = { TransferContract: 1, TriggerSmartContract: 31 } as const;

/** Transaction.raw bytes; its sha256 is the txID. */
export function encodeRawData(r: RawDataFields): Uint8Array {
  const c = r.contract;
  const value =
    c.type === 'TransferContract'
      ? new ProtoWriter().bytes(1, c.ownerAddress).bytes(2, c.toAddress).varint(3, c.amount).finish()
      : new ProtoWriter().bytes(1, c.ownerAddress).bytes(2, c.contractAddress).varint(3, c.callValue ?? 0n).bytes(4, c.data).finish();
  const any = new ProtoWriter().text(1, `type.googleapis.com/protocol.${c.type}`).bytes(2, value).finish();
  const contract = new ProtoWriter().varint(1, CONTRACT_TYPE_NUMBER[c.type]).bytes(2, any).finish();
  return new ProtoWriter()
    .bytes(1, r.refBlockBytes)
    .bytes(4, r.refBlockHash)
    .varint(8, r.expiration)
    .bytes(11, contract)
    .varint(14, r.timestamp)
    .varint(18, r.feeLimit ?? 0)
    .finish();
}

/** Transaction.raw bytes → the JSON java-tron prints for raw_data (hex bytes, numbers as numbers). */
export function rawDataJson(rawBytes: Uint8Array): { json: string; type: string } {
  const f = readProto(rawBytes);
  const contract = readProto(one(f, 11) as Uint8Array);
  const any = readProto(one(contract, 2) as Uint8Array);
  const typeUrl = Buffer.from(one(any, 1) as Uint8Array).toString('utf8');
  const type = typeUrl.slice(typeUrl.lastIndexOf('.') + 1);
  const v = readProto(one(any, 2) as Uint8Array);
  let value: string;
  if (type === 'TransferContract') {
    value = `{"amount":${intOf(one(v, 3))},"owner_address":"${hexOf(one(v, 1))}","to_address":"${hexOf(one(v, 2))}"}`;
  } else if (type === 'TriggerSmartContract') {
    const callValue = intOf(one(v, 3));
    value = `{"data":"${hexOf(one(v, 4))}","owner_address":"${hexOf(one(v, 1))}","contract_address":"${hexOf(one(v, 2))}"${callValue > 0n ? `,"call_value":${callValue}` : ''}}`;
  } else {
    throw new Error(`rawDataJson: ${type} is not needed by the tests`);
  }
  const parts = [
    `"contract":[{"parameter":{"value":${value},"type_url":"${typeUrl}"},"type":"${type}"}]`,
    `"ref_block_bytes":"${hexOf(one(f, 1))}"`,
    `"ref_block_hash":"${hexOf(one(f, 4))}"`,
    `"expiration":${intOf(one(f, 8))}`,
  ];
  const feeLimit = intOf(one(f, 18));
  if (feeLimit > 0n) parts.push(`"fee_limit":${feeLimit}`);
  parts.push(`"timestamp":${intOf(one(f, 14))}`);
  return { json: `{${parts.join(',')}}`, type };
}

/** A serialized Transaction → raw_data bytes, signatures and ret contract results. */
export function decodeTransaction(bytes: Uint8Array): { raw: Uint8Array; signatures: string[]; contractRet: ContractResultName[] } {
  const f = readProto(bytes);
  const names = Object.keys(CONTRACT_RESULT) as ContractResultName[];
  return {
    raw: one(f, 1) as Uint8Array,
    signatures: (f.get(2) ?? []).map(hexOf),
    contractRet: (f.get(5) ?? []).map((r) => names[Number(intOf(one(readProto(r as Uint8Array), 3)))] ?? 'UNKNOWN'),
  };
}

/** A serialized Transaction as blocks store it (raw, signatures, ret): its sha256 is the merkle leaf. */
export function encodeTransaction(raw: Uint8Array, signatures: string[], contractRet: ContractResultName): Uint8Array {
  const w = new ProtoWriter().bytes(1, raw);
  for (const s of signatures) w.bytes(2, s);
  const ret = new ProtoWriter().varint(3, CONTRACT_RESULT[contractRet]).finish();
  // An empty Result message (contractRet DEFAULT) is still a present repeated element.
  return Buffer.concat([w.finish(), Buffer.from([(5 << 3) | 2, ret.length]), ret]);
}

/** txTrieRoot: sha256 pairwise up the tree, an odd node carried up unchanged; empty → 32 zero bytes. */
export function merkleRoot(leaves: Uint8Array[]): string {
  if (leaves.length === 0) return '00'.repeat(32);
  let level: Buffer[] = leaves.map((leaf) => Buffer.from(leaf));
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i] as Buffer;
      const right = level[i + 1];
      next.push(right === undefined ? left : sha256(Buffer.concat([left, right])));
    }
    level = next;
  }
  return (level[0] as Buffer).toString('hex');
}
