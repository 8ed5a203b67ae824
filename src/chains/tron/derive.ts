// TRON deposit addresses, m/44'/195'/0'/0/i, derived from the account-level extended public key
// (m/44'/195'/0', the key a wallet exports for "TRON account 0"):
//   pubkey (bip32 + tiny-secp256k1) → uncompressed, without the 0x04 → keccak256 → last 20
//   bytes (the index key) → 0x41 || body → base58check (`T…`).
// The change-level node (…/0) is derived once; each address then costs one child derivation.
// Never sees a private key: an xprv is refused.

import { BIP32Factory, type BIP32Interface } from 'bip32';
import * as ecc from 'tiny-secp256k1';
import { keccak256 } from 'ethers/crypto';
import { NonRetryableError } from '../../errors.ts';
import { tronAddressFromBody } from './address.ts';

export const TRON_ACCOUNT_PATH = "m/44'/195'/0'";
/** Depth of m/44'/195'/0' in the BIP32 tree. */
const ACCOUNT_DEPTH = 3;
/** Non-hardened child indexes stop at 2^31 − 1. */
const INDEX_MAX = 0x7fffffff;

export interface TronDerivedAddress {
  index: number;
  /** base58check, `T…` */
  address: string;
  /** The 20-byte address body: the AddressIndex key, as it appears in logs and topics. */
  key: Uint8Array;
}

export interface TronDeriver {
  derive(index: number): TronDerivedAddress;
}

export interface CreateTronDeriverOptions {
  /** Extended public key of m/44'/195'/0' (xpub…). */
  xpub: string;
}

const bip32 = BIP32Factory(ecc);

export function createTronDeriver(options: CreateTronDeriverOptions): TronDeriver {
  const account = parseAccountKey(options.xpub);
  const external = account.derive(0);
  return {
    derive(index) {
      if (!Number.isInteger(index) || index < 0 || index > INDEX_MAX) {
        throw new NonRetryableError('derive_index_invalid', `address index must be an integer in [0, ${INDEX_MAX}], got ${index}`);
      }
      const key = bodyOfPublicKey(external.derive(index).publicKey);
      return { index, address: tronAddressFromBody(key), key };
    },
  };
}

/** The 20-byte address body of a secp256k1 public key (compressed or not). */
export function bodyOfPublicKey(publicKey: Uint8Array): Uint8Array {
  const uncompressed = ecc.pointCompress(publicKey, false);
  const hash = keccak256(uncompressed.subarray(1));
  return Uint8Array.from(Buffer.from(hash.slice(2 + 24), 'hex'));
}

function parseAccountKey(xpub: string): BIP32Interface {
  let node: BIP32Interface;
  try {
    node = bip32.fromBase58(xpub);
  } catch (error) {
    throw new NonRetryableError('xpub_invalid', `tron xpub is not an extended public key: ${(error as Error).message}`);
  }
  if (!node.isNeutered()) {
    throw new NonRetryableError('xpub_private', 'tron xpub is a private key (xprv); configure the account-level extended public key instead');
  }
  if (node.depth !== ACCOUNT_DEPTH) {
    throw new NonRetryableError(
      'xpub_depth',
      `tron xpub is at depth ${node.depth}; Settle derives ${TRON_ACCOUNT_PATH}/0/i and needs the account-level key (${TRON_ACCOUNT_PATH}, depth ${ACCOUNT_DEPTH})`,
    );
  }
  return node;
}
