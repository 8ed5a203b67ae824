// Deterministic transfer ids. A transfer that records a fact about the chain (an output paid to
// a deposit address) gets its id from that fact, e.g. transferId('btc', txid, vout, 'deposit'),
// so re-applying the same block is answered `exists` instead of counting the money twice.

import { createHash } from 'node:crypto';

/** A uuid (version 8, RFC 9562 "custom") from the SHA-256 of the parts joined by ':'. */
export function transferId(...parts: ReadonlyArray<string | number | bigint>): string {
  const digest = createHash('sha256').update(parts.map(String).join(':')).digest();
  digest[6] = ((digest[6] as number) & 0x0f) | 0x80; // version 8
  digest[8] = ((digest[8] as number) & 0x3f) | 0x80; // RFC 9562 variant
  const hex = digest.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
