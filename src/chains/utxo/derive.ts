// Deposit addresses of Bitcoin and Litecoin from an account-level extended public key:
// BIP84 native segwit (p2wpkh), BIP49 nested segwit (p2sh-p2wpkh) and BIP44 legacy (p2pkh),
// on the external chain: <account key>/0/i. The account key is parsed once and its change-level
// node derived once; each address is then one non-hardened derive(i) (CHAINS.md §6).
//
// Accepted key versions (networks.ts): xpub/tpub (the script type must then be given), ypub/upub
// (p2sh-p2wpkh), zpub/vpub (p2wpkh), and SLIP-132 Ltub (p2pkh) / Mtub (p2sh-p2wpkh) for Litecoin.
// Private extended keys are refused: Settle never needs them to watch addresses.

import { BIP32Factory, type BIP32Interface } from 'bip32';
import * as ecc from 'tiny-secp256k1';
import { NonRetryableError } from '../../errors.ts';
import { base58checkDecode, base58checkEncode, encodeSegwitAddress } from './address.ts';
import { hash160 } from './hash.ts';
import { addressParams, EXTENDED_PRIVATE_VERSIONS, EXTENDED_PUBLIC_VERSIONS, type AddressParams, type ScriptType, type UtxoCoin, type UtxoNetwork } from './networks.ts';
import { KEY_P2PKH, KEY_P2SH, KEY_P2WPKH } from './script.ts';

const bip32 = BIP32Factory(ecc);
/** Non-hardened child indexes: 0 .. 2^31 - 1. */
const CHILD_INDEX_MAX = 0x7fff_ffff;
const EXTENDED_KEY_BYTES = 78;

export interface UtxoDeriverOptions {
  coin: UtxoCoin;
  network: UtxoNetwork;
  /** Account-level extended public key (xpub, ypub, zpub, tpub, upub, vpub, Ltub, Mtub). */
  xpub: string;
  /** Required for xpub/tpub; must agree with the key's version otherwise. */
  scriptType?: ScriptType | undefined;
  /** 0 = receive (deposit) addresses, 1 = change. */
  chain?: 0 | 1;
}

export interface DerivedAddress {
  index: number;
  address: string;
  /** AddressIndex key (script.ts key format). */
  key: Uint8Array;
  /** Output script paying the address. */
  script: Uint8Array;
}

export interface UtxoDeriver {
  readonly scriptType: ScriptType;
  derive(index: number): DerivedAddress;
}

function configError(message: string, details: Record<string, unknown> = {}): NonRetryableError {
  return new NonRetryableError('xpub_invalid', message, details);
}

export function createUtxoDeriver(options: UtxoDeriverOptions): UtxoDeriver {
  const params = addressParams(options.coin, options.network);
  const { node, scriptType } = parseAccountKey(options, params);
  const chainNode = node.derive(options.chain ?? 0);
  return {
    scriptType,
    derive(index) {
      if (!Number.isInteger(index) || index < 0 || index > CHILD_INDEX_MAX) throw new RangeError(`address index ${index} is not in 0..${CHILD_INDEX_MAX}`);
      return addressOf(index, hash160(chainNode.derive(index).publicKey), scriptType, params);
    },
  };
}

function parseAccountKey(options: UtxoDeriverOptions, params: AddressParams): { node: BIP32Interface; scriptType: ScriptType } {
  const decoded = base58checkDecode(options.xpub.trim());
  if (decoded === undefined || decoded.length !== EXTENDED_KEY_BYTES) throw configError('the extended public key is not valid base58check of 78 bytes');
  const version = new DataView(decoded.buffer, decoded.byteOffset).getUint32(0, false);
  if (EXTENDED_PRIVATE_VERSIONS.has(version)) throw configError('this is an extended PRIVATE key: give the account extended public key (xpub/ypub/zpub…) instead');
  const info = EXTENDED_PUBLIC_VERSIONS.get(version);
  if (info === undefined) throw configError(`unknown extended key version 0x${version.toString(16).padStart(8, '0')}`);
  const testnet = params.network !== 'mainnet';
  if (info.testnet !== testnet) throw configError(`a ${info.name} key is for ${info.testnet ? 'test networks' : 'mainnet'}, the chain is ${params.coin} ${params.network}`);
  if (info.coin !== undefined && info.coin !== params.coin) throw configError(`a ${info.name} key is for ${info.coin}, the chain is ${params.coin}`);
  const scriptType = options.scriptType ?? info.scriptType;
  if (scriptType === undefined) throw configError(`a ${info.name} key does not say which addresses it is for: set scriptType (p2wpkh, p2sh-p2wpkh or p2pkh)`);
  if (info.scriptType !== undefined && info.scriptType !== scriptType) throw configError(`a ${info.name} key is for ${info.scriptType} addresses, scriptType says ${scriptType}`);
  // bip32 checks the version against the network it is given: give it the key's own version.
  const node = bip32.fromBase58(options.xpub.trim(), { wif: 0, bip32: { public: version, private: 0 } });
  return { node, scriptType };
}

function addressOf(index: number, pubKeyHash: Uint8Array, scriptType: ScriptType, params: AddressParams): DerivedAddress {
  if (scriptType === 'p2wpkh') {
    return {
      index,
      address: encodeSegwitAddress(params.bech32, 0, pubKeyHash),
      key: Uint8Array.from([KEY_P2WPKH, ...pubKeyHash]),
      script: Uint8Array.from([0x00, 0x14, ...pubKeyHash]),
    };
  }
  if (scriptType === 'p2sh-p2wpkh') {
    const scriptHash = hash160(Uint8Array.from([0x00, 0x14, ...pubKeyHash]));
    return {
      index,
      address: base58checkEncode(params.scriptHash, scriptHash),
      key: Uint8Array.from([KEY_P2SH, ...scriptHash]),
      script: Uint8Array.from([0xa9, 0x14, ...scriptHash, 0x87]),
    };
  }
  return {
    index,
    address: base58checkEncode(params.pubKeyHash, pubKeyHash),
    key: Uint8Array.from([KEY_P2PKH, ...pubKeyHash]),
    script: Uint8Array.from([0x76, 0xa9, 0x14, ...pubKeyHash, 0x88, 0xac]),
  };
}
