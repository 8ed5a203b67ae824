#!/usr/bin/env node
// The `settle` executable: loads the TypeScript sources through tsx (no build step) and runs the CLI.
// A command that returns is over: exit with its code, so nothing left open (a pool, a timer) can
// keep the process alive. `start` does not return while it runs; it exits through its shutdown.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
const code = await main(process.argv.slice(2));
process.exit(code);
