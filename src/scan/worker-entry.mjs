// Entry file of the decode worker threads. Settle runs its TypeScript through tsx's register()
// API (bin/settle.mjs), which does not reach new threads by itself: register it here, then load
// the real worker. Plain JavaScript on purpose, so that a worker starts without any loader flag.
import { register } from 'tsx/esm/api';

register();
const worker = await import('./worker.ts');

export default worker.default;
