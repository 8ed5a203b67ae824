// The assets invoices can be created in: every asset of every running chain that has deposit
// addresses, with what a checkout page needs to build a payment URI (BIP21 / EIP-681).

import { formatAmount } from '../amount.ts';
import type { AddressKeySpec } from '../addresses/pool.ts';
import type { ChainConfig } from '../config.ts';
import type { ChainAsset } from '../scan/applier.ts';

export interface InvoiceAsset extends ChainAsset {
  chain: string;
  family: ChainConfig['family'];
  /** Human name of the network for pages and lists ("Ethereum (chain 1)", "Litecoin regtest"). */
  network: string;
  keySpec: AddressKeySpec;
  chainId: number | undefined;
  coin: string | undefined;
}

export interface AssetRegistry {
  get(code: string): InvoiceAsset | undefined;
  list(): InvoiceAsset[];
}

export function createAssetRegistry(chains: Iterable<{ chain: string; config: ChainConfig; assets: ChainAsset[]; keySpec: AddressKeySpec | undefined }>): AssetRegistry {
  const byCode = new Map<string, InvoiceAsset>();
  for (const runtime of chains) {
    if (runtime.keySpec === undefined) continue;
    const { config } = runtime;
    for (const asset of runtime.assets) {
      byCode.set(asset.code, {
        ...asset,
        chain: runtime.chain,
        family: config.family,
        network: networkName(runtime.chain, config),
        keySpec: runtime.keySpec,
        chainId: config.family === 'evm' ? config.chainId : undefined,
        coin: config.family === 'utxo' ? config.coin : undefined,
      });
    }
  }
  return { get: (code) => byCode.get(code), list: () => [...byCode.values()] };
}

function networkName(chain: string, config: ChainConfig): string {
  switch (config.family) {
    case 'utxo':
      return `${config.coin === 'btc' ? 'Bitcoin' : 'Litecoin'}${config.network === 'mainnet' ? '' : ` ${config.network}`}`;
    case 'evm':
      return { 1: 'Ethereum', 56: 'BNB Smart Chain', 137: 'Polygon' }[config.chainId] ?? `${chain} (chain ${config.chainId})`;
    case 'tron':
      return 'TRON';
  }
}

/** A payment URI wallets understand, for the QR code: BIP21 (btc/ltc), EIP-681 (evm), plain address (tron). */
export function paymentUri(asset: InvoiceAsset, address: string, amount: bigint): string {
  switch (asset.family) {
    case 'utxo':
      return `${asset.coin === 'ltc' ? 'litecoin' : 'bitcoin'}:${address}?amount=${formatAmount(amount, asset.decimals)}`;
    case 'evm':
      return asset.contract === undefined
        ? `ethereum:${address}@${asset.chainId}?value=${amount}`
        : `ethereum:${asset.contract}@${asset.chainId}/transfer?address=${address}&uint256=${amount}`;
    case 'tron':
      return address;
  }
}
