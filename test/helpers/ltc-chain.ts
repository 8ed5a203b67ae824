// A litecoind regtest node with a mature wallet, an xpub for deposit addresses, and the engine's
// chain config that scans it: shared by the UTXO integration tests.

import { Mnemonic } from 'ethers';
import { BIP32Factory } from 'bip32';
import * as ecc from 'tiny-secp256k1';
import type { ConfigInput } from '../../src/config.ts';
import { startLitecoind, type Litecoind } from './litecoind.ts';

export interface LtcTestChain {
  node: Litecoind;
  /** tpub-style account key (m/84'/1'/0') of the deposit addresses; its addresses are rltc1…. */
  xpub: string;
  config(overrides?: Record<string, unknown>): ConfigInput['chains'];
}

const DEPOSIT_MNEMONIC = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';

export async function startLtcTestChain(): Promise<LtcTestChain | undefined> {
  const node = await startLitecoind();
  if (node === undefined) return undefined;
  await node.mine(101); // coinbase maturity: the wallet can spend from here on
  const seed = Buffer.from(Mnemonic.fromPhrase(DEPOSIT_MNEMONIC).computeSeed().slice(2), 'hex');
  const testnet = { messagePrefix: '', bech32: 'tb', bip32: { public: 0x043587cf, private: 0x04358394 }, pubKeyHash: 0x6f, scriptHash: 0xc4, wif: 0xef };
  const xpub = BIP32Factory(ecc).fromSeed(seed, testnet).derivePath("m/84'/1'/0'").neutered().toBase58();
  return {
    node,
    xpub,
    config(overrides = {}) {
      return {
        ltc: {
          family: 'utxo',
          coin: 'ltc',
          network: 'regtest',
          rpc: { url: node.url, user: node.user, password: node.password },
          xpub,
          scriptType: 'p2wpkh',
          confirmations: 3,
          reorgDepthMax: 6,
          pollIntervalMs: 100,
          addressLookAhead: 20,
          ...overrides,
        },
      } as ConfigInput['chains'];
    },
  };
}

export function litecoindSkipReason(available: boolean): string | undefined {
  if (available) return undefined;
  const reason = 'litecoind is not installed (Debian package litecoind); skipping the tests that need a regtest node';
  console.log(`# ${reason}`);
  return reason;
}
