// The chain families Settle knows, by the `family` of a chain's config: each gives an adapter
// (main thread) and a derivation key for deposit addresses. Decoders are found by the worker
// from the family name (src/chains/<family>/decode.ts).

import type { Logger } from 'pino';
import type { Clock } from '../common.ts';
import type { ChainConfig } from '../config.ts';
import { addressKeyId, type AddressKeySpec } from '../addresses/pool.ts';
import type { ChainAdapter } from '../scan/types.ts';
import { createUtxoAdapter } from './utxo/index.ts';
import { createUtxoDeriver } from './utxo/derive.ts';
import { createEvmAdapter } from './evm/index.ts';
import { createEvmDeriver } from './evm/derive.ts';
import { createTronAdapter } from './tron/index.ts';
import { createTronDeriver } from './tron/derive.ts';

export interface FamilyDeps {
  logger: Logger;
  clock: Clock;
  signal: AbortSignal;
}

export function createFamilyAdapter(chain: string, config: ChainConfig, deps: FamilyDeps): ChainAdapter {
  switch (config.family) {
    case 'utxo':
      return createUtxoAdapter(chain, config, deps);
    case 'evm':
      return createEvmAdapter(chain, config, deps);
    case 'tron':
      return createTronAdapter(chain, config, deps);
  }
}

/** The derivation key of a chain's deposit addresses, or undefined when no xpub is configured.
 * EVM chains configured with the same xpub share one key (and so its indexes). */
export function createFamilyKeySpec(config: ChainConfig): AddressKeySpec | undefined {
  if (config.xpub === undefined) return undefined;
  const xpub = config.xpub;
  const tail = `${xpub.slice(0, 4)}…${xpub.slice(-6)}`;
  switch (config.family) {
    case 'utxo': {
      const deriver = createUtxoDeriver({ coin: config.coin, network: config.network, xpub, scriptType: config.scriptType });
      const scriptType = config.scriptType ?? 'default';
      return {
        id: addressKeyId('utxo', config.coin, config.network, scriptType, xpub),
        family: 'utxo',
        description: `${config.coin} ${config.network} ${scriptType} ${tail}`,
        deriver,
        lookAhead: config.addressLookAhead,
      };
    }
    case 'evm':
      return { id: addressKeyId('evm', xpub), family: 'evm', description: `evm ${tail}`, deriver: createEvmDeriver({ xpub }), lookAhead: config.addressLookAhead };
    case 'tron':
      return { id: addressKeyId('tron', xpub), family: 'tron', description: `tron ${tail}`, deriver: createTronDeriver({ xpub }), lookAhead: config.addressLookAhead };
  }
}
