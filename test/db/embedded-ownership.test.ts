// Who stops the embedded Postgres: the process that owns it. A one-off command (`settle check`)
// connects to a running cluster and leaves it running — whether its owner is alive or was killed
// — and never takes it over; only a server start takes over a cluster whose owner is gone.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded.ts';
import { silentLogger } from '../helpers/db.ts';

const BIN = fileURLToPath(new URL('../../bin/settle.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'settle-own-'));
chmodSync(dir, 0o755); // as root the server runs as `postgres`, which must reach its folder
const dataDir = join(dir, 'pg');
const configFile = join(dir, 'settle.json');
writeFileSync(configFile, JSON.stringify({ database: { embedded: { dataDir } } }));
const started: EmbeddedPostgres[] = [];

after(async () => {
  // The cluster is one; the last handle this process holds stops it.
  await started[started.length - 1]?.stop();
});

async function answers(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

function check(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'check', '--config', configFile], {
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

const owner = () => readFileSync(`${dataDir}.owner`, 'utf8').trim();

/** A pid that belonged to a process and is now free: a killed owner's. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'console.log(process.pid)']);
  return Number(child.stdout.toString().trim());
}

test('settle check leaves a running embedded Postgres owned by a live server running, and its owner unchanged', { timeout: 300_000 }, async () => {
  const server = await startEmbeddedPostgres({ dataDir, port: 0, logger: silentLogger });
  started.push(server);
  assert.equal(server.owned, true);
  const run = await check();
  assert.equal(run.code, 1, run.output); // the fresh database has no ledger yet: exit 1, said so
  assert.match(run.output, /no ledger yet/);
  assert.equal(await answers(server.url), true, 'the cluster still answers after the command');
  assert.equal(owner(), String(process.pid));
});

test('settle check does not take over a cluster whose owner was killed; the next server start does', { timeout: 300_000 }, async () => {
  const killed = deadPid();
  writeFileSync(`${dataDir}.owner`, `${killed}\n`);
  const url = started[0]?.url as string;
  const run = await check();
  assert.equal(run.code, 1, run.output);
  assert.equal(await answers(url), true, 'the cluster still answers after the command');
  assert.equal(owner(), String(killed), 'the command did not take ownership');

  const restarted = await startEmbeddedPostgres({ dataDir, port: 0, logger: silentLogger });
  assert.equal(restarted.owned, true, 'a server start takes over from a dead owner');
  assert.equal(owner(), String(process.pid));
  started.push(restarted);
});
