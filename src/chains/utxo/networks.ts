// Address encodings of the UTXO coins Settle speaks (Bitcoin, Litecoin) per network, and the
// BIP32 / SLIP-132 version bytes of extended public keys. Facts from CHAINS.md §1.6 and §6
// (Litecoin Core src/chainparams.cpp, satoshilabs/slips slip-0132.md).

import { NonRetryableError } from '../../errors.ts';

export type UtxoCoin = 'btc' | 'ltc';
export type UtxoNetwork = 'mainnet' | 'testnet' | 'regtest';
export type ScriptType = 'p2wpkh' | 'p2sh-p2wpkh' | 'p2pkh';

export interface AddressParams {
  coin: UtxoCoin;
  network: UtxoNetwork;
  /** Base58 version byte of P2PKH addresses. */
  pubKeyHash: number;
  /** Base58 version byte of P2SH addresses (the one the chain emits). */
  scriptHash: number;
  /** Older P2SH version still decoded (Litecoin's `3…`/`2…`), when the chain has one. */
  scriptHashLegacy?: number | undefined;
  /** Human-readable part of bech32/bech32m addresses. */
  bech32: string;
}

const PARAMS: Record<UtxoCoin, Record<UtxoNetwork, AddressParams>> = {
  btc: {
    mainnet: { coin: 'btc', network: 'mainnet', pubKeyHash: 0x00, scriptHash: 0x05, bech32: 'bc' },
    testnet: { coin: 'btc', network: 'testnet', pubKeyHash: 0x6f, scriptHash: 0xc4, bech32: 'tb' },
    regtest: { coin: 'btc', network: 'regtest', pubKeyHash: 0x6f, scriptHash: 0xc4, bech32: 'bcrt' },
  },
  ltc: {
    mainnet: { coin: 'ltc', network: 'mainnet', pubKeyHash: 0x30, scriptHash: 0x32, scriptHashLegacy: 0x05, bech32: 'ltc' },
    testnet: { coin: 'ltc', network: 'testnet', pubKeyHash: 0x6f, scriptHash: 0x3a, scriptHashLegacy: 0xc4, bech32: 'tltc' },
    regtest: { coin: 'ltc', network: 'regtest', pubKeyHash: 0x6f, scriptHash: 0x3a, scriptHashLegacy: 0xc4, bech32: 'rltc' },
  },
};

export function addressParams(coin: string | undefined, network: string | undefined): AddressParams {
  const byCoin = PARAMS[(coin ?? '') as UtxoCoin] as Record<UtxoNetwork, AddressParams> | undefined;
  const params = byCoin?.[(network ?? 'mainnet') as UtxoNetwork];
  if (params === undefined) {
    throw new NonRetryableError('utxo_network_unknown', `unknown utxo coin/network ${coin}/${network}`, { coin, network });
  }
  return params;
}

/** What an extended public key's version bytes say: the script type its addresses use and
 *  whether it is a mainnet or a test-network key. */
export interface ExtendedKeyVersion {
  name: string;
  testnet: boolean;
  /** Undefined for xpub/tpub/Ltub-style keys, which do not say (the caller must). */
  scriptType: ScriptType | undefined;
  coin?: UtxoCoin | undefined;
}

/** Public extended-key versions we accept. Private versions are refused on purpose: Settle
 *  derives deposit addresses from public keys only. */
export const EXTENDED_PUBLIC_VERSIONS = new Map<number, ExtendedKeyVersion>([
  [0x0488b21e, { name: 'xpub', testnet: false, scriptType: undefined }],
  [0x049d7cb2, { name: 'ypub', testnet: false, scriptType: 'p2sh-p2wpkh' }],
  [0x04b24746, { name: 'zpub', testnet: false, scriptType: 'p2wpkh' }],
  [0x043587cf, { name: 'tpub', testnet: true, scriptType: undefined }],
  [0x044a5262, { name: 'upub', testnet: true, scriptType: 'p2sh-p2wpkh' }],
  [0x045f1cf6, { name: 'vpub', testnet: true, scriptType: 'p2wpkh' }],
  // SLIP-132 Litecoin: Ltub (m/44'/2'), Mtub (m/49'/2'). There is no registered LTC BIP84 prefix.
  [0x019da462, { name: 'Ltub', testnet: false, scriptType: 'p2pkh', coin: 'ltc' }],
  [0x01b26ef6, { name: 'Mtub', testnet: false, scriptType: 'p2sh-p2wpkh', coin: 'ltc' }],
]);

export const EXTENDED_PRIVATE_VERSIONS = new Set<number>([
  0x0488ade4, 0x049d7878, 0x04b2430c, 0x04358394, 0x044a4e28, 0x045f18bc, 0x019d9cfe, 0x01b26792,
]);

/** The version bytes bip32 understands for public keys (xpub, tpub): keys are re-labelled to
 *  these before parsing; the derivation itself does not depend on the version. */
export const XPUB_VERSION = 0x0488b21e;
export const TPUB_VERSION = 0x043587cf;
