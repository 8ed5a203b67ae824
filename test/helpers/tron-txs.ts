// Real TRON transactions for the loopback node: each has raw_data bytes (protobuf), the txID
// sha256(raw_data), a secp256k1 signature by the owner's key over the txID, the JSON a node
// prints for it in a block, the Transaction bytes the block's txTrieRoot commits to, and the
// TransactionInfo the node would report (with the TRC-20 Transfer log the token emits).
//
// Two builders, checked against each other in test/tron/node.test.ts:
//   - ours (protobuf by hand + tiny-secp256k1): fast enough for benchmark blocks, and able to
//     carry amounts beyond 2^53 that tronweb's builder (parseInt) cannot;
//   - tronweb's transaction builder and signer, offline (`blockHeader` given, `txLocal`).
// Plus the real mainnet transactions of the TronGrid page in the shared fixtures.

import * as ecc from 'tiny-secp256k1';
import type { TronWeb } from 'tronweb';
import { bodyOfPublicKey } from '../../src/chains/tron/derive.ts';
import { tronAddressFromBody, tronAddressToBodyHex } from '../../src/chains/tron/address.ts';
import { encodeRawData, encodeTransaction, sha256, type ContractResultName, type RawDataFields } from './tron-proto.ts';

export const USDT = 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t';
export const TRANSFER_TOPIC = 'ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef';

export interface ChainTx {
  txID: string;
  /** The transaction as a block prints it; text, so int64 amounts stay exact. */
  json: string;
  /** Transaction protobuf as blocks store it: sha256 of these bytes is its txTrieRoot leaf. */
  bytes: Uint8Array;
  contractRet: ContractResultName;
  /** Its TransactionInfo JSON in block `blockNumber`. */
  info(blockNumber: number, blockTimeStampMs: number): string;
}

export interface TronAccount {
  privateKey: Uint8Array;
  body: Uint8Array;
  /** 41-prefixed hex, as block JSON prints addresses. */
  hex: string;
  address: string;
}

export function account(privateKeyHex: string): TronAccount {
  const privateKey = Uint8Array.from(Buffer.from(privateKeyHex, 'hex'));
  const publicKey = ecc.pointFromScalar(privateKey, false);
  if (publicKey === null) throw new Error('invalid private key');
  const body = bodyOfPublicKey(publicKey);
  return { privateKey, body, hex: `41${Buffer.from(body).toString('hex')}`, address: tronAddressFromBody(body) };
}

/** A deterministic account per seed (the seed is the private key). */
export function accountFromSeed(seed: number): TronAccount {
  return account(sha256(Buffer.from(`settle-tron-test-${seed}`)).toString('hex'));
}

/** 65 bytes r || s || v over the txID, as TRON signs. */
export function signTxId(txID: string, privateKey: Uint8Array): string {
  const { signature, recoveryId } = ecc.signRecoverable(Buffer.from(txID, 'hex'), privateKey);
  return Buffer.concat([signature, Buffer.from([recoveryId])]).toString('hex');
}

export interface TxOptions {
  /** ms; defaults to a fixed time so runs are reproducible. */
  timestampMs?: number;
  refBlockBytes?: string;
  refBlockHash?: string;
  result?: ContractResultName;
}

const DEFAULT_TIME_MS = 1_767_000_000_000;
let nonce = 0;

function baseRaw(options: TxOptions): Omit<RawDataFields, 'contract'> {
  // A distinct timestamp per transaction keeps txIDs distinct when the same payment repeats.
  const timestamp = options.timestampMs ?? DEFAULT_TIME_MS + (nonce += 1);
  return { refBlockBytes: options.refBlockBytes ?? '9240', refBlockHash: options.refBlockHash ?? '004274bd9f252106', expiration: timestamp + 60_000, timestamp };
}

function printTx(txID: string, rawJson: string, rawHex: string, signature: string, contractRet: ContractResultName): string {
  return `{"ret":[{"contractRet":"${contractRet}"}],"signature":["${signature}"],"txID":"${txID}","raw_data":${rawJson},"raw_data_hex":"${rawHex}"}`;
}

function rawJsonOf(fields: Omit<RawDataFields, 'contract'>, value: string, type: string, feeLimit?: number): string {
  const fee = feeLimit === undefined ? '' : `,"fee_limit":${feeLimit}`;
  return `{"contract":[{"parameter":{"value":${value},"type_url":"type.googleapis.com/protocol.${type}"},"type":"${type}"}],"ref_block_bytes":"${fields.refBlockBytes}","ref_block_hash":"${fields.refBlockHash}","expiration":${fields.expiration}${fee},"timestamp":${fields.timestamp}}`;
}

/** TRX from `from` to `to` (T…), signed by `from`. */
export function trxTransfer(from: TronAccount, to: string, amountSun: bigint, options: TxOptions = {}): ChainTx {
  const base = baseRaw(options);
  const toHex = `41${tronAddressToBodyHex(to)}`;
  const raw = encodeRawData({ ...base, contract: { type: 'TransferContract', ownerAddress: from.hex, toAddress: toHex, amount: amountSun } });
  const txID = sha256(raw).toString('hex');
  const signature = signTxId(txID, from.privateKey);
  const rawJson = rawJsonOf(base, `{"amount":${amountSun},"owner_address":"${from.hex}","to_address":"${toHex}"}`, 'TransferContract');
  const contractRet = options.result ?? 'SUCCESS';
  return {
    txID,
    json: printTx(txID, rawJson, Buffer.from(raw).toString('hex'), signature, contractRet),
    bytes: encodeTransaction(raw, [signature], contractRet),
    contractRet,
    info: (n, t) => `{"id":"${txID}","blockNumber":${n},"blockTimeStamp":${t},"contractResult":[""],"receipt":{"net_usage":268}}`,
  };
}

/** transfer(to, amount) on a TRC-20 `token` (T…). With a result other than SUCCESS the
 * transaction is in the block (it burned energy) but reverted: no log, result FAILED. */
export function trc20Transfer(from: TronAccount, token: string, to: string, amount: bigint, options: TxOptions = {}): ChainTx {
  const base = baseRaw(options);
  const tokenBody = tronAddressToBodyHex(token);
  const toBody = tronAddressToBodyHex(to);
  const data = `a9059cbb${toBody.padStart(64, '0')}${amount.toString(16).padStart(64, '0')}`;
  const raw = encodeRawData({ ...base, feeLimit: 100_000_000, contract: { type: 'TriggerSmartContract', ownerAddress: from.hex, contractAddress: `41${tokenBody}`, data } });
  const txID = sha256(raw).toString('hex');
  const signature = signTxId(txID, from.privateKey);
  const rawJson = rawJsonOf(base, `{"data":"${data}","owner_address":"${from.hex}","contract_address":"41${tokenBody}"}`, 'TriggerSmartContract', 100_000_000);
  const contractRet = options.result ?? 'SUCCESS';
  const log = transferLog(tokenBody, Buffer.from(from.body).toString('hex'), toBody, amount);
  return {
    txID,
    json: printTx(txID, rawJson, Buffer.from(raw).toString('hex'), signature, contractRet),
    bytes: encodeTransaction(raw, [signature], contractRet),
    contractRet,
    info: (n, t) => trc20Info(txID, n, t, tokenBody, contractRet, [log]),
  };
}

/** The Transfer log a TRC-20 emits: address and topics are 20-byte bodies, no 41. */
export function transferLog(tokenBody: string, fromBody: string, toBody: string, amount: bigint): string {
  return `{"address":"${tokenBody}","data":"${amount.toString(16).padStart(64, '0')}","topics":["${TRANSFER_TOPIC}","${fromBody.padStart(64, '0')}","${toBody.padStart(64, '0')}"]}`;
}

export function trc20Info(txID: string, n: number, t: number, tokenBody: string, contractRet: ContractResultName, logs: string[]): string {
  const head = `{"id":"${txID}","fee":6428500,"blockNumber":${n},"blockTimeStamp":${t},"contractResult":["${contractRet === 'SUCCESS' ? '0'.repeat(63) + '1' : ''}"],"contract_address":"41${tokenBody}"`;
  if (contractRet === 'SUCCESS') {
    return `${head},"receipt":{"energy_fee":6428500,"energy_usage_total":64285,"net_usage":345,"result":"SUCCESS"},"log":[${logs.join(',')}]}`;
  }
  // REVERT: the logs are dropped with the state changes; the info says FAILED.
  return `${head},"receipt":{"energy_fee":6428500,"energy_usage_total":64285,"net_usage":345,"result":"${contractRet}"},"result":"FAILED","resMessage":"${Buffer.from('REVERT opcode executed').toString('hex')}"}`;
}

/** The info java-tron prints once a transaction ran: a TRC-20 transfer(to, amount) emits
 * Transfer(owner, to, amount) from the token contract; anything else emits no log here. */
export function executedInfo(txID: string, raw: { contract: Array<{ type: string; parameter: { value: Record<string, unknown> } }> }, contractRet: ContractResultName): ChainTx['info'] {
  const contract = raw.contract[0];
  const v = contract?.parameter.value ?? {};
  const data = String(v.data ?? '');
  if (contract?.type === 'TriggerSmartContract' && data.startsWith('a9059cbb') && data.length >= 136) {
    const tokenBody = String(v.contract_address).slice(2);
    // The `to` word may carry a 41 byte; the TVM's address type keeps the low 20 bytes.
    const log = transferLog(tokenBody, String(v.owner_address).slice(2), data.slice(8 + 24, 8 + 64), BigInt(`0x${data.slice(72, 136)}`));
    return (n, t) => trc20Info(txID, n, t, tokenBody, contractRet, [log]);
  }
  return (n, t) => `{"id":"${txID}","blockNumber":${n},"blockTimeStamp":${t},"contractResult":[""],"receipt":{"net_usage":268}}`;
}

/** A transaction as tronweb prints and signs it, turned into a block entry. */
export function fromTronwebTx(tx: { txID: string; raw_data: unknown; raw_data_hex: string; signature?: string[] }, info: ChainTx['info'], contractRet: ContractResultName = 'SUCCESS'): ChainTx {
  const signatures = tx.signature ?? [];
  const json = `{"ret":[{"contractRet":"${contractRet}"}],"signature":${JSON.stringify(signatures)},"txID":"${tx.txID}","raw_data":${JSON.stringify(tx.raw_data)},"raw_data_hex":"${tx.raw_data_hex}"}`;
  return { txID: tx.txID, json, bytes: encodeTransaction(Buffer.from(tx.raw_data_hex, 'hex'), signatures, contractRet), contractRet, info };
}

export const REF_BLOCK = { ref_block_bytes: '9240', ref_block_hash: '004274bd9f252106', expiration: DEFAULT_TIME_MS + 60_000, timestamp: DEFAULT_TIME_MS };

/** TRX built and signed by tronweb, offline. */
export async function tronwebTrxTransfer(tronWeb: TronWeb, from: TronAccount, to: string, amountSun: number): Promise<ChainTx> {
  const unsigned = await tronWeb.transactionBuilder.sendTrx(to, amountSun, from.address, { blockHeader: { ...REF_BLOCK, timestamp: REF_BLOCK.timestamp + (nonce += 1) } });
  const signed = await tronWeb.trx.sign(unsigned, Buffer.from(from.privateKey).toString('hex'));
  return fromTronwebTx(signed, (n, t) => `{"id":"${signed.txID}","blockNumber":${n},"blockTimeStamp":${t},"contractResult":[""],"receipt":{"net_usage":268}}`);
}

/** TRC-20 transfer(to, amount) built (txLocal) and signed by tronweb, offline. */
export async function tronwebTrc20Transfer(tronWeb: TronWeb, from: TronAccount, token: string, to: string, amount: bigint, result: ContractResultName = 'SUCCESS'): Promise<ChainTx> {
  const { transaction } = await tronWeb.transactionBuilder.triggerSmartContract(
    token,
    'transfer(address,uint256)',
    { feeLimit: 100_000_000, callValue: 0, txLocal: true, blockHeader: { ...REF_BLOCK, timestamp: REF_BLOCK.timestamp + (nonce += 1) } } as never,
    [{ type: 'address', value: to }, { type: 'uint256', value: amount.toString() }],
    from.address,
  );
  const signed = await tronWeb.trx.sign(transaction, Buffer.from(from.privateKey).toString('hex'));
  const tokenBody = tronAddressToBodyHex(token);
  const log = transferLog(tokenBody, Buffer.from(from.body).toString('hex'), tronAddressToBodyHex(to), amount);
  return fromTronwebTx(signed, (n, t) => trc20Info(signed.txID, n, t, tokenBody, result, [log]), result);
}
