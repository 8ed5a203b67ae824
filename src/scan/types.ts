// The contract between a chain family (src/chains/<family>) and the chain-neutral scan pipeline
// (follower → fetch → worker pool → applier). A family fills the same slots: a ChainAdapter on
// the main thread (talks to the node through rpc.ts, checks responses with standardize.ts) and a
// pure decoder run in worker threads (decode.ts) that turns raw block bytes into matches.
//
// Hashes and txids are lower-case hex without 0x, in the form the chain's explorers show
// (Bitcoin/Litecoin: byte-reversed, "display order"). Amounts are bigint base units.

export type ChainFamily = 'utxo' | 'evm' | 'tron';

export interface BlockRef {
  height: number;
  hash: string;
  parentHash: string;
}

export interface ChainHead {
  height: number;
  hash: string;
}

/** Raw bytes of one block as the node sent them, moved (not copied) into a worker.
 *  utxo: [block]                       consensus serialization
 *  evm:  [block, logs]                 eth_getBlockByNumber(n, true) result JSON; eth_getLogs JSON for the watched tokens
 *  tron: [block, transactionInfos]     /wallet/getblockbynum JSON; /wallet/gettransactioninfobyblocknum JSON
 * Or of `count` consecutive blocks from `height`, as one answer that the worker cuts (the main
 * thread then never touches the bytes; decode returns one result per block):
 *  tron: [range, infos × count]        /wallet/getblockbylimitnext JSON; each block's transaction infos */
export interface RawBlock {
  height: number;
  /** Blocks these bytes hold, from `height`; without it, one. */
  count?: number | undefined;
  /** The hash the source asked for, when it asked by hash; the decoder verifies the bytes hash to it. */
  expectedHash?: string | undefined;
  parts: ArrayBuffer[];
  /** Bytes used of each part, from its start; without it, all of each part. Parts taken from the
   * raw-block recycler (buffers.ts) are larger than their content. */
  lengths?: number[] | undefined;
}

/** A payment to a watched address or script. */
export interface CreditMatch {
  kind: 'credit';
  txid: string;
  /** utxo: output index; evm/tron token: log index within the block; evm/tron native: -1. */
  position: number;
  /** 'native', or the token contract (evm: 0x-prefixed lower-case hex; tron: base58 T…). */
  asset: string;
  /** The AddressIndex key that matched, hex. */
  key: string;
  /** The address as users write it (encoded only for matches, never on the hot path). */
  address: string;
  amount: bigint;
  /** Sender where the chain has one (evm/tron); utxo: undefined. */
  from?: string | undefined;
}

/** An outpoint of ours spent (utxo), for payouts and sweeps. */
export interface SpendMatch {
  kind: 'spend';
  txid: string;
  inputIndex: number;
  prevTxid: string;
  prevVout: number;
}

/** Value leaving a watched account (evm/tron hot wallets), for payouts. */
export interface DebitMatch {
  kind: 'debit';
  txid: string;
  position: number;
  asset: string;
  key: string;
  address: string;
  amount: bigint;
  to: string;
}

export type Match = CreditMatch | SpendMatch | DebitMatch;

export interface DecodedBlock {
  height: number;
  hash: string;
  parentHash: string;
  /** Block time, seconds since the epoch. */
  timestampS: number;
  txCount: number;
  matches: Match[];
  /** Native credits whose transaction may have reverted (evm: a matched native transfer is
   * credited only once its receipt says status 1); the adapter checks them on the main thread. */
  needsReceipt?: string[] | undefined;
}

/** Handle of a shared address index, cloneable to workers (SharedArrayBuffers are shared, not copied). */
export interface AddressIndexHandle {
  /** Watched keys: scripts (utxo) or 20-byte addresses (evm/tron). */
  keys: SharedArrayBuffer;
  /** Our unspent outpoints (utxo): 32-byte txid (internal byte order) + 4-byte vout. */
  outpoints?: SharedArrayBuffer | undefined;
}

/** What a worker receives: the blocks of one task, the chain's index and the family options. */
/** Blocks a raw block stands for. */
export function blocksIn(raw: RawBlock): number {
  return raw.count ?? 1;
}

export interface DecodeTask {
  family: ChainFamily;
  chain: string;
  blocks: RawBlock[];
  index: AddressIndexHandle;
  options: DecodeOptions;
}

export interface DecodeOptions {
  /** utxo: 'btc' | 'ltc' and the network, for address encoding of matches. */
  coin?: string;
  network?: string;
  /** evm/tron: token contracts to read Transfer logs of (evm: 0x lower-case hex; tron: 20-byte hex without 41). */
  tokens?: string[];
}

/** The main-thread side of a chain family. */
export interface ChainAdapter {
  readonly chain: string;
  readonly family: ChainFamily;
  /** Checks the node is the chain the config says (chain id, genesis, token decimals); throws NonRetryableError otherwise. */
  verify(): Promise<void>;
  head(): Promise<ChainHead>;
  /** Highest block the chain itself considers final (evm `finalized`, tron solidified); undefined when it has no such notion. */
  finalizedHeight(): Promise<number | undefined>;
  /** The canonical block at `height` as the node sees it now; undefined above the head. */
  blockRef(height: number): Promise<BlockRef | undefined>;
  /** Raw bytes of the canonical blocks [from, to], verified at the boundary (hash of the bytes, response shape). */
  fetchBlocks(from: number, to: number): Promise<RawBlock[]>;
  /** Main-thread follow-up of a decoded block (evm: drop reverted native credits). */
  confirm?(block: DecodedBlock): Promise<DecodedBlock>;
  decodeOptions(): DecodeOptions;
}
