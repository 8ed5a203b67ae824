// The UTXO family's adapter (Bitcoin Core, Litecoin Core): the main-thread side of the scan
// pipeline. Heads and block refs over JSON-RPC; raw blocks over REST when the node has it on
// (one probe decides), RPC `getblock <hash> 0` otherwise. Decoding happens in workers (decode.ts).

import type { Logger } from 'pino';
import type { UtxoChainConfig } from '../../config.ts';
import { NonRetryableError } from '../../errors.ts';
import type { BlockRef, ChainAdapter, ChainHead, DecodeOptions, RawBlock } from '../../scan/types.ts';
import {
  createUtxoRpc, getBestBlockHash, getBlockchainInfo, getBlockHash, getBlockHashes, getBlockHeader, getBlockRaw, restBlock,
  type UtxoRpc,
} from './rpc.ts';
import { standardizeBlockchainInfo, standardizeBlockHeader, standardizeHash } from './standardize.ts';

/** Blocks fetched at once from one node: Core serves REST from a small thread pool. */
const FETCH_CONCURRENCY_MAX = 4;

/** Genesis block hashes: the check that the node runs the chain and network the config names. */
const GENESIS: Record<string, Record<string, string[]>> = {
  btc: {
    mainnet: ['000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f'],
    testnet: [
      '000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943', // testnet3
      '00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043', // testnet4
    ],
    regtest: ['0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206'],
  },
  ltc: {
    mainnet: ['12a765e31ffd4059bada1e25190f6e98c99d9714d334efa41a195a7e7e04bfe2'],
    testnet: ['4966625a4b2851d9fdee139e56211a0d88575f59ed816ff5e6a63deb4e3e29a0'],
    regtest: ['530827f38f93b43ed12af0b3ad25a288dc02ed74d6d7857862df51fc56c416f9'],
  },
};

export interface UtxoAdapterDeps {
  logger: Logger;
  signal?: AbortSignal;
}

export function createUtxoAdapter(chain: string, config: UtxoChainConfig, deps: UtxoAdapterDeps): ChainAdapter {
  const rpc: UtxoRpc = createUtxoRpc({
    url: config.rpc.url,
    user: config.rpc.user,
    password: config.rpc.password,
    cookieFile: config.rpc.cookieFile,
    timeoutMs: config.rpcTimeoutMs,
    attemptsMax: config.rpcAttemptsMax,
    signal: deps.signal,
  });
  // undefined until the first block fetch tells whether REST is on.
  let restOn: boolean | undefined = config.rpc.rest ? undefined : false;

  async function fetchOne(height: number, hash: string): Promise<RawBlock> {
    let bytes: Uint8Array | undefined;
    if (restOn !== false) {
      bytes = await restBlock(rpc, hash);
      if (restOn === undefined) {
        restOn = bytes !== undefined;
        deps.logger.info({ chain, rest: restOn }, restOn ? 'fetching blocks over REST' : 'REST is off on the node (start it with -rest=1 for faster scans); fetching blocks over RPC');
      }
    }
    bytes ??= await getBlockRaw(rpc, hash);
    return { height, expectedHash: hash, parts: [ownBuffer(bytes)] };
  }

  return {
    chain,
    family: 'utxo',
    async verify() {
      const info = standardizeBlockchainInfo(await getBlockchainInfo(rpc));
      const genesis = standardizeHash(await getBlockHash(rpc, 0), 'getblockhash 0');
      const expected = GENESIS[config.coin]?.[config.network] ?? [];
      if (!expected.includes(genesis)) {
        throw new NonRetryableError(
          'wrong_chain',
          `chain ${chain} is configured as ${config.coin} ${config.network}, but the node at ${rpc.url} runs a chain with genesis ${genesis} (${info.chain})`,
        );
      }
      if (info.initialblockdownload === true) deps.logger.warn({ chain, blocks: info.blocks }, 'the node is still in initial block download');
    },
    async head(): Promise<ChainHead> {
      const hash = standardizeHash(await getBestBlockHash(rpc), 'getbestblockhash');
      const header = standardizeBlockHeader(await getBlockHeader(rpc, hash), { hash });
      return { height: header.height, hash };
    },
    async finalizedHeight() {
      return undefined; // proof of work: nothing is final, only deep
    },
    async blockRef(height: number): Promise<BlockRef | undefined> {
      const raw = await getBlockHash(rpc, height);
      if (raw === undefined) return undefined;
      const hash = standardizeHash(raw, 'getblockhash');
      const header = standardizeBlockHeader(await getBlockHeader(rpc, hash), { hash, height });
      return { height, hash, parentHash: header.previousblockhash ?? '0'.repeat(64) };
    },
    async fetchBlocks(from: number, to: number): Promise<RawBlock[]> {
      const hashes = (await getBlockHashes(rpc, from, to)).map((h) => standardizeHash(h, 'getblockhash'));
      const blocks = new Array<RawBlock>(hashes.length);
      let next = 0;
      const worker = async () => {
        while (next < hashes.length) {
          const i = next++;
          blocks[i] = await fetchOne(from + i, hashes[i] as string);
        }
      };
      await Promise.all(Array.from({ length: Math.min(FETCH_CONCURRENCY_MAX, hashes.length) }, worker));
      return blocks;
    },
    decodeOptions(): DecodeOptions {
      return { coin: config.coin, network: config.network };
    },
  };
}

/** An ArrayBuffer holding exactly these bytes, transferable to a worker (Buffers may share a pool). */
function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) {
    return bytes.buffer;
  }
  return bytes.slice().buffer as ArrayBuffer;
}
