// Node responses of Bitcoin Core / Litecoin Core, parsed at the boundary. Anything that does not
// fit is rejected with a NonRetryableError naming the method: the scanner never acts on a reply
// it had to guess about. Raw block bytes are checked by the decoder (hash of the header equals the
// hash we asked for, every byte consumed), in the worker.

import { z } from 'zod';
import { NonRetryableError } from '../../errors.ts';

const hash = z.string().regex(/^[0-9a-f]{64}$/, 'a 64-digit lower-case hex hash');
const height = z.number().int().min(0);

const BlockchainInfoSchema = z.object({
  chain: z.string().min(1),
  blocks: height,
  bestblockhash: hash,
  initialblockdownload: z.boolean().optional(),
});

const BlockHeaderSchema = z.object({
  hash,
  height,
  // Absent only for the genesis block.
  previousblockhash: hash.optional(),
});

export type StandardBlockchainInfo = z.infer<typeof BlockchainInfoSchema>;
export type StandardBlockHeader = z.infer<typeof BlockHeaderSchema>;

function parse<T>(schema: z.ZodType<T>, value: unknown, method: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new NonRetryableError('node_malformed_response', `${method} returned a malformed response: ${problems}`);
  }
  return result.data;
}

export function standardizeBlockchainInfo(value: unknown): StandardBlockchainInfo {
  return parse(BlockchainInfoSchema, value, 'getblockchaininfo');
}

export function standardizeHash(value: unknown, method: string): string {
  return parse(hash, value, method);
}

export function standardizeHeight(value: unknown, method: string): number {
  return parse(height, value, method);
}

/** A header must be the one asked for: same hash, and the height we expect when we know it. */
export function standardizeBlockHeader(value: unknown, expected: { hash: string; height?: number }): StandardBlockHeader {
  const header = parse(BlockHeaderSchema, value, 'getblockheader');
  if (header.hash !== expected.hash) {
    throw new NonRetryableError('node_inconsistent_response', `getblockheader ${expected.hash} returned the header of ${header.hash}`);
  }
  if (expected.height !== undefined && header.height !== expected.height) {
    throw new NonRetryableError('node_inconsistent_response', `getblockheader ${expected.hash} says height ${header.height}, getblockhash said ${expected.height}`);
  }
  return header;
}
