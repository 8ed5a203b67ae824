// An anvil dev chain with a test USDT deployed and an xpub for deposit addresses, and the
// engine chain config that scans it: shared by the API and end-to-end tests.

import { HDNodeWallet } from 'ethers';
import type { ConfigInput } from '../../src/config.ts';
import { startAnvil, tokenInterface, type Anvil } from './anvil.ts';

export const TEST_MNEMONIC = 'test test test test test test test test test test test junk';

export interface EvmTestChain {
  anvil: Anvil;
  token: string;
  xpub: string;
  /** Pays `amount` base units of the test token (minted first) from a funded account to `to`. */
  payToken(to: string, amount: bigint, from?: string): Promise<string>;
  payNative(to: string, amountWei: bigint, from?: string): Promise<string>;
  config(overrides?: Record<string, unknown>): ConfigInput['chains'];
}

export async function startEvmTestChain(): Promise<EvmTestChain> {
  const anvil = await startAnvil();
  const token = await anvil.deploy('TestToken', ['Tether USD', 'USDT', 6]);
  // A separate account-level key for deposits: payers are anvil's funded accounts.
  const xpub = HDNodeWallet.fromPhrase('abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about', undefined, "m/44'/60'/0'").neuter().extendedKey;
  const payer = anvil.accounts[1] as string;
  return {
    anvil,
    token,
    xpub,
    async payToken(to, amount, from = payer) {
      await anvil.send({ from, to: token, data: tokenInterface.encodeFunctionData('mint', [from, amount]) });
      return anvil.send({ from, to: token, data: tokenInterface.encodeFunctionData('transfer', [to, amount]) });
    },
    payNative(to, amountWei, from = payer) {
      return anvil.send({ from, to, value: amountWei });
    },
    config(overrides = {}) {
      return {
        eth: {
          family: 'evm',
          chainId: anvil.chainId,
          native: { code: 'ETH', symbol: 'ETH', decimals: 18 },
          tokens: [{ code: 'USDT-ERC20', symbol: 'USDT', contract: token, decimals: 6 }],
          rpc: { url: anvil.url },
          xpub,
          confirmations: 3,
          finalizedTag: false,
          pollIntervalMs: 100,
          addressLookAhead: 20,
          ...overrides,
        },
      } as ConfigInput['chains'];
    },
  };
}
