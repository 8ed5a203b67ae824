#!/usr/bin/env node
// The test command (`npm test`): finds every *.test.ts under src/ and test/, makes sure a Postgres
// is reachable (DATABASE_URL when set, otherwise an embedded Postgres started here in a temporary
// folder and stopped afterwards) and runs the files with node:test through tsx.
// Arguments narrow the run: `npm test -- ledger` runs the files whose path contains "ledger".

import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const filters = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const passThrough = process.argv.slice(2).filter((arg) => arg.startsWith('--'));

function findTests(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...findTests(path));
    else if (entry.name.endsWith('.test.ts')) found.push(relative(root, path));
  }
  return found;
}

const files = ['src', 'test']
  .flatMap((dir) => findTests(join(root, dir)))
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}

let embedded;
let tempDir;
const env = { ...process.env };
if (!env.DATABASE_URL) {
  const { startEmbeddedPostgres } = await import('./helpers/embedded-runner.mjs');
  tempDir = mkdtempSync(join(tmpdir(), 'settle-test-pg-'));
  chmodSync(tempDir, 0o755); // as root, the server runs as `postgres` and must reach its folder below this one
  console.log(`# DATABASE_URL not set: starting an embedded Postgres in ${tempDir}`);
  try {
    embedded = await startEmbeddedPostgres(join(tempDir, 'pg'));
  } catch (error) {
    // An explained failure (the embedded Postgres cannot run here) is one sentence, not a stack.
    console.error(`npm test: ${error.code === undefined ? error.stack : error.message}`);
    rmSync(tempDir, { recursive: true, force: true });
    process.exit(1);
  }
  env.DATABASE_URL = embedded.url;
}

const concurrency = env.TEST_CONCURRENCY ?? '2';
const args = ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...passThrough, ...files];
const child = spawn(process.execPath, args, { cwd: root, env, stdio: 'inherit' });
const forward = (signal) => child.kill(signal);
process.on('SIGINT', forward);
process.on('SIGTERM', forward);
const code = await new Promise((resolve) => child.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0))));

if (embedded) {
  await embedded.stop();
  rmSync(tempDir, { recursive: true, force: true });
}
process.exit(code);
