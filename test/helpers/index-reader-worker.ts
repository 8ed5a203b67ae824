// Worker thread for the AddressIndex publication test: reads the shared index while the main
// thread adds keys 0..n-1 in order, and checks that whenever key j is visible, every key added
// before it is visible too (a reader must never see a later key without the earlier ones).
import { parentPort, workerData } from 'node:worker_threads';
import { IndexView } from '../../src/scan/address-index.ts';
import type { AddressIndexHandle } from '../../src/scan/types.ts';

const { handle, keys } = workerData as { handle: AddressIndexHandle; keys: Uint8Array };
const KEY_BYTES = 21;
const count = keys.length / KEY_BYTES;
const view = IndexView.from(handle);
let violations = 0;
let seenPresent = 0;
let seenAbsent = 0;
let round = 0;
parentPort?.postMessage('ready');
// Bounded: stops when the last key is visible or after 50 million probes.
for (let probes = 0; probes < 50_000_000; ) {
  round++;
  const j = (Math.imul(round, 2654435761) >>> 0) % count;
  probes++;
  if (!view.hasKey(keys, j * KEY_BYTES, KEY_BYTES)) {
    seenAbsent++;
    continue;
  }
  seenPresent++;
  for (let i = Math.max(0, j - 64); i < j; i++, probes++) if (!view.hasKey(keys, i * KEY_BYTES, KEY_BYTES)) violations++;
  if (view.hasKey(keys, (count - 1) * KEY_BYTES, KEY_BYTES)) break;
}
parentPort?.postMessage({ violations, seenPresent, seenAbsent });
