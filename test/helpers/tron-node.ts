// Our loopback TRON full node: an HTTP server on a free port serving a chain in the real
// java-tron HTTP API shapes (POST JSON bodies, errors as HTTP 200 `{"Error": …}`, `{}` for a
// missing block, `{"block":[…]}` ranges [start, end) of at most 100). Blocks are built the real
// way: txTrieRoot = merkle of sha256(Transaction bytes), blockID = number || sha256(header
// raw)[8:], witness signature by a secp256k1 key, parentHash linking to the previous blockID.
// Transactions come from tron-txs.ts (real signed transactions) or the mainnet fixtures.
//
// Commands are methods, not HTTP: mine(), fork(), solidify(), failNextRequests(), answerNext(),
// stallNextRequests(). /wallet/broadcasttransaction checks txID and signature and queues the
// transaction for the next mine().

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import * as ecc from 'tiny-secp256k1';
import { freePort } from '../../src/ports.ts';
import { bodyOfPublicKey } from '../../src/chains/tron/derive.ts';
import { blockIdOf, encodeHeaderRaw, encodeTransaction, merkleRoot, sha256, type HeaderFields } from './tron-proto.ts';
import { accountFromSeed, executedInfo, type ChainTx } from './tron-txs.ts';

export interface StoredBlock {
  number: number;
  blockId: string;
  parentHash: string;
  timestampMs: number;
  txs: ChainTx[];
  /** The block JSON, in pieces written one after the other (benchmarks share the big middle piece). */
  chunks: Buffer[];
  /** The TransactionInfo list JSON, built when asked for. */
  infos(): Buffer;
  /** Takes back what infos() gave once it has been written (benchmark blocks reuse the buffer). */
  release?(buffer: Buffer): void;
}

export interface TokenContract {
  /** 41-prefixed hex */
  hex: string;
  name: string;
  decimals: number;
}

export interface TronNodeOptions {
  /** Height of the first block (the chain starts there, as if pruned below). */
  startHeight?: number;
  /** Print blocks with `transactions` first and header fields reordered (java-tron's key order is not a contract). */
  keyOrder?: 'mainnet' | 'shuffled';
  tokens?: TokenContract[];
  /** Serve /wallet/gettransactioninfobyblocknum as a node with storage.transHistory.switch off ([] always). */
  historyOff?: boolean;
  /** Start from these blocks (e.g. real mainnet headers) instead of mining a first one. */
  blocks?: StoredBlock[];
}

export interface RequestRecord {
  path: string;
  body: string;
  apiKey: string | undefined;
}

interface Fault {
  /** 0: never answer (the client's timeout fires). */
  status: number;
  body: string;
  headers: Record<string, string>;
}

const BLOCK_INTERVAL_MS = 3_000;
const RANGE_MAX = 100;
const RECORDS_MAX = 10_000;
const WITNESS = accountFromSeed(900_001);
const BRANCH_WITNESS = accountFromSeed(900_002);

export class TronNode {
  readonly url: string;
  readonly requests: RequestRecord[] = [];
  private readonly blocks: StoredBlock[] = [];
  private readonly faults: Fault[] = [];
  private solidified: number;
  private readonly txIndex = new Map<string, { tx: ChainTx; block: StoredBlock }>();
  /** Broadcast transactions waiting for the next mine(). */
  readonly mempool: ChainTx[] = [];

  constructor(
    private readonly server: Server,
    port: number,
    private readonly options: TronNodeOptions,
    private readonly startHeight: number,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.solidified = startHeight;
  }

  get head(): StoredBlock {
    return this.blocks[this.blocks.length - 1] as StoredBlock;
  }

  get solidifiedHeight(): number {
    return this.solidified;
  }

  block(height: number): StoredBlock | undefined {
    return this.blocks[height - this.startHeight];
  }

  /** Appends one block holding `txs`, by default the broadcast transactions waiting. */
  mine(txs: ChainTx[] = this.mempool.splice(0), witness = WITNESS): StoredBlock {
    const parent = this.blocks[this.blocks.length - 1];
    const number = parent === undefined ? this.startHeight : parent.number + 1;
    const parentHash = parent?.blockId ?? sha256(Buffer.from(`settle tron parent of ${number}`)).toString('hex');
    const timestampMs = 1_767_000_000_000 + number * BLOCK_INTERVAL_MS;
    const header: HeaderFields = {
      timestamp: timestampMs,
      txTrieRoot: merkleRoot(txs.map((tx) => sha256(tx.bytes))),
      parentHash,
      number,
      witnessAddress: witness.hex,
      version: 31,
    };
    const stored = this.store(header, txs, witness);
    this.blocks.push(stored);
    for (const tx of txs) this.txIndex.set(tx.txID, { tx, block: stored });
    return stored;
  }

  /** Appends `count` empty blocks. */
  mineEmpty(count: number): void {
    for (let i = 0; i < count; i += 1) this.mine([]);
  }

  /** Replaces the last `depth` blocks with another branch of max(depth, branch.length) blocks
   * (signed by another witness, so every new blockID differs); branch[i] holds block i's txs. */
  fork(depth: number, branch: ChainTx[][] = []): StoredBlock[] {
    if (depth < 1 || depth >= this.blocks.length) throw new Error(`fork depth ${depth} outside the chain`);
    if (this.head.number - depth < this.solidified) throw new Error('cannot fork below the solidified block');
    for (const old of this.blocks.splice(this.blocks.length - depth, depth)) for (const tx of old.txs) this.txIndex.delete(tx.txID);
    const mined: StoredBlock[] = [];
    for (let i = 0; i < Math.max(depth, branch.length); i += 1) mined.push(this.mine(branch[i] ?? [], BRANCH_WITNESS));
    return mined;
  }

  solidify(height: number): void {
    if (height > this.head.number || height < this.solidified) throw new Error(`cannot solidify ${height}`);
    this.solidified = height;
  }

  /** The next `count` requests get `status` (e.g. 429 with Retry-After, 503) instead of an answer. */
  failNextRequests(count: number, status: number, options: { retryAfterS?: number; body?: string } = {}): void {
    const headers: Record<string, string> = options.retryAfterS === undefined ? {} : { 'retry-after': String(options.retryAfterS) };
    for (let i = 0; i < count; i += 1) this.faults.push({ status, body: options.body ?? `{"Error":"status ${status}"}`, headers });
  }

  /** The next `count` requests get no answer at all (the connection stays open until close()). */
  stallNextRequests(count: number): void {
    for (let i = 0; i < count; i += 1) this.faults.push({ status: 0, body: '', headers: {} });
  }

  /** The next `count` requests are answered HTTP 200 with `body`, as java-tron reports errors. */
  answerNext(count: number, body: string): void {
    for (let i = 0; i < count; i += 1) this.faults.push({ status: 200, body, headers: {} });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  /** Adds a block built elsewhere (real mainnet headers; benchmarks sharing transaction bytes). */
  pushStored(block: StoredBlock): void {
    this.blocks.push(block);
    for (const tx of block.txs) this.txIndex.set(tx.txID, { tx, block });
  }

  private store(header: HeaderFields, txs: ChainTx[], witness: { privateKey: Uint8Array }): StoredBlock {
    const blockId = blockIdOf(header);
    const { signature, recoveryId } = ecc.signRecoverable(sha256(encodeHeaderRaw(header)), witness.privateKey);
    const witnessSignature = Buffer.concat([signature, Buffer.from([recoveryId])]).toString('hex');
    const shuffled = this.options.keyOrder === 'shuffled';
    const h = header;
    const raw = shuffled
      ? `{"timestamp":${h.timestamp},"parentHash":"${h.parentHash}","version":${h.version},"number":${h.number},"witness_address":"${h.witnessAddress}","txTrieRoot":"${h.txTrieRoot}"}`
      : `{"number":${h.number},"txTrieRoot":"${h.txTrieRoot}","witness_address":"${h.witnessAddress}","parentHash":"${h.parentHash}","version":${h.version},"timestamp":${h.timestamp}}`;
    const headerJson = shuffled ? `{"witness_signature":"${witnessSignature}","raw_data":${raw}}` : `{"raw_data":${raw},"witness_signature":"${witnessSignature}"}`;
    const txsJson = txs.length === 0 ? '' : `"transactions":[${txs.map((tx) => tx.json).join(',')}]`;
    const json = shuffled
      ? `{${txsJson === '' ? '' : `${txsJson},`}"block_header":${headerJson},"blockID":"${blockId}"}`
      : `{"blockID":"${blockId}","block_header":${headerJson}${txsJson === '' ? '' : `,${txsJson}`}}`;
    const infos = () => Buffer.from(`[${txs.map((tx) => tx.info(header.number, header.timestamp)).join(',')}]`);
    return { number: header.number, blockId, parentHash: header.parentHash, timestampMs: header.timestamp, txs, chunks: [Buffer.from(json)], infos };
  }

  /** @internal request handler */
  handle(request: IncomingMessage, response: ServerResponse, body: string): void {
    const path = (request.url ?? '/').split('?')[0] as string;
    const apiKey = request.headers['tron-pro-api-key'];
    if (this.requests.length < RECORDS_MAX) this.requests.push({ path, body, apiKey: typeof apiKey === 'string' ? apiKey : undefined });
    const fault = this.faults.shift();
    if (fault?.status === 0) return;
    if (fault !== undefined) {
      response.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
      response.end(fault.body);
      return;
    }
    let params: Record<string, unknown> = {};
    try {
      if (body.trim() !== '') params = JSON.parse(body) as Record<string, unknown>;
    } catch (error) {
      this.reply(response, [Buffer.from(`{"Error":"class com.alibaba.fastjson.JSONException : ${(error as Error).message}"}`)]);
      return;
    }
    this.reply(response, this.route(path, params));
  }

  private route(path: string, p: Record<string, unknown>): Buffer[] {
    const empty = [Buffer.from('{}')];
    switch (path) {
      case '/wallet/getnowblock':
        return this.head.chunks;
      case '/walletsolidity/getnowblock':
        return this.block(this.solidified)?.chunks ?? empty;
      case '/wallet/getblockbynum':
      case '/walletsolidity/getblockbynum':
        return this.block(Number(p.num ?? 0))?.chunks ?? empty;
      case '/wallet/getblockbyid':
        return this.blocks.find((b) => b.blockId === p.value)?.chunks ?? empty;
      case '/wallet/getblockbylimitnext':
        return this.range(Number(p.startNum ?? 0), Number(p.endNum ?? 0));
      case '/wallet/gettransactioninfobyblocknum': {
        const num = Number(p.num ?? 0);
        if (num <= 0) return empty;
        if (this.options.historyOff === true) return [Buffer.from('[]')];
        const block = this.block(num);
        if (block === undefined) return [Buffer.from('[]')];
        const infos = block.infos();
        if (block.release !== undefined) this.afterReply = () => block.release?.(infos);
        return [infos];
      }
      case '/wallet/gettransactionbyid':
      case '/walletsolidity/gettransactionbyid': {
        const found = this.findTx(String(p.value), path.startsWith('/walletsolidity/'));
        return found === undefined ? empty : [Buffer.from(found.tx.json)];
      }
      case '/wallet/gettransactioninfobyid':
      case '/walletsolidity/gettransactioninfobyid': {
        const found = this.findTx(String(p.value), path.startsWith('/walletsolidity/'));
        return found === undefined ? empty : [Buffer.from(found.tx.info(found.block.number, found.block.timestampMs))];
      }
      case '/wallet/getcontract':
        return this.contract(String(p.value ?? ''));
      case '/wallet/broadcasttransaction':
        return [Buffer.from(JSON.stringify(this.broadcast(p)))];
      case '/wallet/triggerconstantcontract':
        return this.constantCall(String(p.contract_address ?? ''), String(p.function_selector ?? ''));
      default:
        return [Buffer.from(`{"Error":"no such endpoint on the test node: ${path}"}`)];
    }
  }

  /** Takes a signed transaction into the mempool when its txID and signature check out, with
   * java-tron's answers: {result, txid} or {code, txid, message (hex)}. */
  private broadcast(p: Record<string, unknown>): Record<string, unknown> {
    const txID = String(p.txID ?? '');
    const rawHex = String(p.raw_data_hex ?? '');
    const signatures = Array.isArray(p.signature) ? p.signature.map(String) : [];
    const refuse = (code: string, message: string) => ({ code, txid: txID, message: Buffer.from(message).toString('hex') });
    if (sha256(Buffer.from(rawHex, 'hex')).toString('hex') !== txID) return refuse('OTHER_ERROR', 'txID is not sha256(raw_data)');
    const raw = p.raw_data as { contract: Array<{ type: string; parameter: { value: Record<string, unknown> } }> };
    const owner = String(raw.contract[0]?.parameter.value.owner_address ?? '');
    const sig = Buffer.from(signatures[0] ?? '', 'hex');
    const publicKey = sig.length === 65 ? ecc.recover(Buffer.from(txID, 'hex'), sig.subarray(0, 64), (sig[64] as number) % 27 as 0 | 1, false) : null;
    if (publicKey === null || `41${Buffer.from(bodyOfPublicKey(publicKey)).toString('hex')}` !== owner) return refuse('SIGERROR', 'validate signature error');
    if (this.txIndex.has(txID) || this.mempool.some((tx) => tx.txID === txID)) return refuse('DUP_TRANSACTION_ERROR', 'dup transaction');
    const json = `{"ret":[{"contractRet":"SUCCESS"}],"signature":${JSON.stringify(signatures)},"txID":"${txID}","raw_data":${JSON.stringify(raw)},"raw_data_hex":"${rawHex}"}`;
    this.mempool.push({ txID, json, bytes: encodeTransaction(Buffer.from(rawHex, 'hex'), signatures, 'SUCCESS'), contractRet: 'SUCCESS', info: executedInfo(txID, raw, 'SUCCESS') });
    return { result: true, txid: txID };
  }

  /** A transaction by id; the solidity endpoints see only solidified blocks. */
  private findTx(txid: string, solidifiedOnly: boolean): { tx: ChainTx; block: StoredBlock } | undefined {
    const found = this.txIndex.get(txid);
    return found === undefined || (solidifiedOnly && found.block.number > this.solidified) ? undefined : found;
  }

  private range(start: number, end: number): Buffer[] {
    if (!(end > 0 && end > start && end - start <= RANGE_MAX)) return [Buffer.from('{}')];
    const out: Buffer[] = [Buffer.from('{"block":[')];
    for (let height = start; height < end; height += 1) {
      const block = this.block(height);
      if (block === undefined) continue;
      if (out.length > 1) out.push(Buffer.from(','));
      out.push(...block.chunks);
    }
    out.push(Buffer.from(']}'));
    return out;
  }

  private contract(hex: string): Buffer[] {
    const token = this.options.tokens?.find((t) => t.hex === hex.toLowerCase());
    if (token === undefined) return [Buffer.from('{}')];
    // Real answers carry the whole bytecode and ABI (~20 KB for USDT).
    return [Buffer.from(`{"bytecode":"${'60806040'.repeat(2500)}","name":"${token.name}","origin_address":"${WITNESS.hex}","abi":{},"origin_energy_limit":10000000,"contract_address":"${token.hex}","code_hash":"${'ab'.repeat(32)}"}`)];
  }

  private constantCall(hex: string, selector: string): Buffer[] {
    const token = this.options.tokens?.find((t) => t.hex === hex.toLowerCase());
    if (token === undefined) {
      const message = Buffer.from('Smart contract is not exist.').toString('hex');
      return [Buffer.from(`{"result":{"code":"CONTRACT_VALIDATE_ERROR","message":"${message}"}}`)];
    }
    if (selector !== 'decimals()') return [Buffer.from('{"result":{"code":"OTHER_ERROR","message":""}}')];
    const word = token.decimals.toString(16).padStart(64, '0');
    return [Buffer.from(`{"result":{"result":true},"energy_used":222,"constant_result":["${word}"],"transaction":{"ret":[{}],"visible":false,"txID":"${'00'.repeat(32)}"}}`)];
  }

  /** Set by route() for the answer being written: called once it is written. */
  private afterReply: (() => void) | undefined;

  private reply(response: ServerResponse, chunks: Buffer[]): void {
    const after = this.afterReply;
    this.afterReply = undefined;
    if (after !== undefined) response.once('finish', after);
    response.writeHead(200, { 'content-type': 'application/json' });
    response.cork();
    for (const chunk of chunks) response.write(chunk);
    // java-tron's servlets println their answer.
    response.end('\n');
    response.uncork();
  }
}

/** Starts a node with one block (at startHeight) mined. */
export async function startTronNode(options: TronNodeOptions = {}): Promise<TronNode> {
  const port = await freePort();
  let node: TronNode | undefined;
  const server = createServer((request, response) => {
    const parts: Buffer[] = [];
    request.on('data', (chunk: Buffer) => parts.push(chunk));
    request.on('end', () => node?.handle(request, response, Buffer.concat(parts).toString('utf8')));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  node = new TronNode(server, port, options, options.blocks?.[0]?.number ?? options.startHeight ?? 1_000);
  if (options.blocks === undefined) node.mine();
  else for (const block of options.blocks) node.pushStored(block);
  return node;
}
