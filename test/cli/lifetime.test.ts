// How long `settle start` and its children live, with real processes: a failed start-up exits 1;
// Settle stops when the process that started it goes (as `npm start` stopped with SIGTERM); the
// demo's anvil dies with Settle, even after `kill -9`; a restart stops an anvil a killed run left.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { anvilSkipReason } from '../helpers/anvil.ts';
import { testDatabase } from '../helpers/db.ts';
import { eventually } from '../helpers/engine.ts';

const BIN = fileURLToPath(new URL('../../bin/settle.mjs', import.meta.url));
const db = await testDatabase(import.meta.filename);
const anvilSkip = anvilSkipReason();
const started: ChildProcess[] = [];
const strayPids: number[] = [];

after(() => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const pid of strayPids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves with the exit code; `undefined` while running. */
function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const child = spawn(command, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', DATABASE_URL: db.url, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

/** The demo (no config file) in its own folder; its anvil pid file is .settle/anvil-state.json.pid. */
function startDemo(dir: string) {
  return run(process.execPath, [BIN, 'start'], dir, { PORT: '0' });
}

function anvilPid(dir: string): Promise<number> {
  const file = join(dir, '.settle', 'anvil-state.json.pid');
  return eventually(async () => {
    if (!existsSync(file)) return undefined;
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 && isAlive(pid) ? pid : undefined;
  }, 60_000, 'the dev chain pid file');
}

function running(settle: { output: () => string }) {
  return eventually(async () => (/Settle is running/.test(settle.output()) ? true : undefined), 120_000, `Settle to be running:\n${settle.output()}`);
}

test('a start-up that fails (HTTP port taken) exits 1 within seconds', { timeout: 180_000 }, async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const dir = mkdtempSync(join(tmpdir(), 'settle-life-'));
  const config = join(dir, 'settle.json');
  writeFileSync(config, JSON.stringify({ http: { host: '127.0.0.1', port: (taken.address() as AddressInfo).port } }));
  const settle = run(process.execPath, [BIN, 'start', '--config', config], dir);
  const code = await Promise.race([exitOf(settle.child), new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), 90_000).unref())]);
  taken.close();
  assert.equal(code, 1, `exit code after EADDRINUSE:\n${settle.output()}`);
  assert.match(settle.output(), /start-up failed/);
});

test('Settle stops when the process that started it is gone (npm start stopped with SIGTERM)', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'settle-life-'));
  const config = join(dir, 'settle.json');
  writeFileSync(config, JSON.stringify({ http: { host: '127.0.0.1', port: 0 } }));
  // `; true` keeps sh from exec-ing node: node is sh's child, as under `npm start`.
  const shell = run('/bin/sh', ['-c', `"${process.execPath}" "${BIN}" start --config "${config}"; true`], dir);
  await running(shell);
  const nodePid = Number(execFileSync('pgrep', ['-P', String(shell.child.pid)]).toString().trim().split('\n')[0]);
  strayPids.push(nodePid);
  assert.ok(isAlive(nodePid));
  shell.child.kill('SIGTERM'); // sh dies; node is not signalled and is reparented
  await exitOf(shell.child);
  await eventually(async () => (isAlive(nodePid) ? undefined : true), 60_000, 'Settle to exit after its parent');
});

test('kill -9 of Settle takes its dev chain (anvil) with it', { skip: anvilSkip, timeout: 240_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'settle-life-'));
  const settle = startDemo(dir);
  const pid = await anvilPid(dir);
  strayPids.push(pid);
  await running(settle);
  settle.child.kill('SIGKILL');
  await exitOf(settle.child);
  await eventually(async () => (isAlive(pid) ? undefined : true), 60_000, 'anvil to exit after Settle was killed');
});

test('a restart stops the anvil a killed run left running before starting its own', { skip: anvilSkip, timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'settle-life-'));
  const first = startDemo(dir);
  const orphan = await anvilPid(dir);
  strayPids.push(orphan);
  await running(first);
  // Kill Settle and everything of anvil's wrapper but anvil, as a crash of all of them would:
  // anvil is left running on its own.
  const group = execFileSync('pgrep', ['-g', String(orphan)]).toString().trim().split('\n').map(Number);
  for (const pid of group) if (pid !== orphan) process.kill(pid, 'SIGKILL');
  first.child.kill('SIGKILL');
  await exitOf(first.child);
  assert.ok(isAlive(orphan), 'the orphan anvil is still running before the restart');

  const second = startDemo(dir);
  await running(second);
  await eventually(async () => (isAlive(orphan) ? undefined : true), 60_000, 'the restart to stop the orphan anvil');
  const own = await anvilPid(dir);
  strayPids.push(own);
  assert.notEqual(own, orphan);
  second.child.kill('SIGTERM');
  assert.equal(await exitOf(second.child), 0);
  await eventually(async () => (isAlive(own) ? undefined : true), 60_000, 'anvil to stop with Settle');
});
