// Entry of the index reader test worker: registers tsx in this thread, then runs the TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./index-reader-worker.ts');
