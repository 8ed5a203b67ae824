// Deposit addresses of the EVM family from an account-level extended public key
// (m/44'/60'/0', exported by wallets as an xpub): address i is m/44'/60'/0'/0/i, the path
// MetaMask, Ledger and ethers use. An address is keccak256(uncompressed public key)[12:], so one
// derivation gives the same address on Ethereum, BSC and Polygon (replay protection is the
// EIP-155 chain id in each signature, not the address).
// bip32 + tiny-secp256k1 (WASM) because they are ~4× faster than ethers' own HD code (CHAINS.md §6).

import { BIP32Factory, type BIP32Interface } from 'bip32';
import * as ecc from 'tiny-secp256k1';
import { keccak256 } from 'ethers/crypto';
import { NonRetryableError } from '../../errors.ts';
import { checksumAddress } from './hex.ts';

const bip32 = BIP32Factory(ecc);

/** Version bytes of xpub (mainnet) and tpub (testnets); the same keys either way on EVM chains. */
const NETWORKS = [
  { bip32: { public: 0x0488b21e, private: 0x0488ade4 }, wif: 0x80, messagePrefix: '', bech32: 'bc', pubKeyHash: 0, scriptHash: 5 },
  { bip32: { public: 0x043587cf, private: 0x04358394 }, wif: 0xef, messagePrefix: '', bech32: 'tb', pubKeyHash: 0x6f, scriptHash: 0xc4 },
];
/** m / purpose' / coin' / account' */
const ACCOUNT_DEPTH = 3;
/** BIP32 non-hardened indexes: 0 … 2^31 − 1. */
const INDEX_MAX = 0x7fff_ffff;

export interface EvmDerivedAddress {
  index: number;
  /** EIP-55 mixed-case. */
  address: string;
  /** The 20 address bytes: the AddressIndex key. */
  key: Uint8Array;
}

export interface EvmDeriver {
  derive(index: number): EvmDerivedAddress;
}

export function createEvmDeriver(options: { xpub: string }): EvmDeriver {
  const account = parseAccountKey(options.xpub);
  // The external chain (…/0) is derived once; each address is then a single child derivation.
  const external = account.derive(0);
  return {
    derive(index: number): EvmDerivedAddress {
      if (!Number.isInteger(index) || index < 0 || index > INDEX_MAX) throw new RangeError(`derivation index ${index} is outside 0…${INDEX_MAX}`);
      const publicKey = ecc.pointCompress(external.derive(index).publicKey, false);
      const hash = keccak256(publicKey.subarray(1));
      const key = Uint8Array.from(Buffer.from(hash.slice(-40), 'hex'));
      return { index, address: checksumAddress(`0x${hash.slice(-40)}`), key };
    },
  };
}

function parseAccountKey(xpub: string): BIP32Interface {
  let node: BIP32Interface | undefined;
  for (const network of NETWORKS) {
    try {
      node = bip32.fromBase58(xpub, network);
      break;
    } catch {
      // Wrong version bytes for this network: try the next one; none fitting is reported below.
    }
  }
  if (node === undefined) {
    throw new NonRetryableError('evm_xpub_invalid', `the EVM xpub ${redact(xpub)} is not a valid xpub/tpub extended public key`);
  }
  if (!node.isNeutered()) {
    throw new NonRetryableError('evm_xpub_private', 'an extended private key was given where the account xpub belongs; Settle needs only the public key');
  }
  if (node.depth !== ACCOUNT_DEPTH) {
    throw new NonRetryableError(
      'evm_xpub_depth',
      `the EVM xpub ${redact(xpub)} is at depth ${node.depth}; export the account key m/44'/60'/0' (depth ${ACCOUNT_DEPTH}) so addresses match the wallet's`,
    );
  }
  return node;
}

function redact(xpub: string): string {
  return xpub.length > 12 ? `${xpub.slice(0, 4)}…${xpub.slice(-6)}` : '(short)';
}
