// `settle inspect block --chain <chain> <file> [<receipts.json>]`: decodes a block file with the
// chain family's own decoder and returns the report as one JSON-ready object.

import { inspectBlockFile as inspectUtxoBlockFile } from '../chains/utxo/inspect.ts';
import { inspectEvmBlockFiles } from '../chains/evm/inspect.ts';
import { UsageError } from './main.ts';

export async function inspectBlockFile(chain: string, file: string, receipts?: string): Promise<unknown> {
  switch (chain) {
    case 'btc':
    case 'ltc':
      if (receipts !== undefined) throw new UsageError('a receipts file is only for EVM chains');
      return inspectUtxoBlockFile(file, { coin: chain, network: 'mainnet' });
    case 'eth':
    case 'bsc':
    case 'polygon':
      return inspectEvmBlockFiles(chain, file, receipts);
    default:
      throw new UsageError(`--chain must be btc, ltc, eth, bsc or polygon (got ${chain})`);
  }
}
