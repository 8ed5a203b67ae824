// The first Quick start command as a new user runs it: `settle start` in an empty folder, with no
// configuration and no DATABASE_URL. It must start the embedded Postgres and the dev chain, print
// a demo key with curl commands, and an invoice created with them must turn paid after
// `settle demo pay`, with its webhooks received by the demo's receiver.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { anvilBinary } from '../../src/demo/devchain.ts';
import { freePort } from '../../src/ports.ts';
import { waitFor } from '../helpers/wait.ts';

const BIN = fileURLToPath(new URL('../../bin/settle.mjs', import.meta.url));
const skip = anvilBinary() === undefined ? 'anvil is not installed; skipping the demo test' : undefined;
const home = mkdtempSync(join(tmpdir(), 'settle-demo-'));
chmodSync(home, 0o755); // run as root, the embedded server runs as `postgres` below this folder
let child: ChildProcess | undefined;

after(async () => {
  if (child !== undefined && child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((resolve) => child?.once('exit', resolve));
  }
  rmSync(home, { recursive: true, force: true });
});

function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const one = spawn(process.execPath, [BIN, ...args], { cwd: home, env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    one.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    one.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    one.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

// The test-level timeout only guards against a hang; each wait below has its own deadline.
test('settle start with no configuration runs the demo: a key, curl commands, and an invoice that gets paid', { skip, timeout: 10 * 60_000 }, async () => {
  const port = await freePort();
  // No DATABASE_URL, no config: what `npm start` does on a fresh machine (only the port is ours, to run beside other tests).
  const env = { PORT: String(port), LOG_LEVEL: 'info' };
  let stdout = '';
  child = spawn(process.execPath, [BIN, 'start'], { cwd: home, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const banner = await waitFor(async () => (stdout.includes('Try it:') ? stdout : undefined), { what: 'the demo banner', timeoutMs: 120_000 });
  const secret = /API key (sk_[A-Za-z0-9]+)/.exec(banner)?.[1];
  assert.ok(secret, 'the banner shows the demo key');
  const curl = /curl -s -X POST (\S+)\/v1\/invoices -H 'Authorization: Bearer (sk_\w+)' -H 'Content-Type: application\/json' -d '(\{[^']+\})'/.exec(banner);
  assert.ok(curl, 'the banner has a ready-to-paste curl command');
  assert.equal(curl[1], `http://127.0.0.1:${port}`);
  assert.ok(stdout.includes('embedded Postgres'), 'the embedded Postgres was started');

  const headers = { authorization: `Bearer ${curl[2]}`, 'content-type': 'application/json' };
  const invoice = await fetch(`${curl[1]}/v1/invoices`, { method: 'POST', headers, body: curl[3] }).then((r) => r.json() as Promise<{ id: string; status: string; checkout_url: string }>);
  assert.equal(invoice.status, 'pending');
  assert.equal((await fetch(invoice.checkout_url)).status, 200);

  const paid = await run(['demo', 'pay', invoice.id], env);
  assert.equal(paid.code, 0, paid.stderr);
  assert.match(paid.stdout, /paid 25 USDT-ERC20 to 0x[0-9a-fA-F]{40} in transaction 0x[0-9a-f]{64}/);
  const done = await waitFor(async () => {
    const current = await fetch(`${curl[1]}/v1/invoices/${invoice.id}`, { headers }).then((r) => r.json() as Promise<{ status: string; events: Array<{ to_status: string }> }>);
    return current.status === 'paid' ? current : undefined;
  }, { what: 'the demo invoice to be paid' });
  assert.deepEqual([...new Set(done.events.map((e) => e.to_status))], ['pending', 'confirming', 'paid']);
  await waitFor(async () => (/"type":"invoice\.paid"[^\n]*"signature":"valid"[^\n]*demo receiver/.test(stdout) ? true : undefined), { what: 'the demo receiver to log the paid webhook' });
  const balances = await fetch(`${curl[1]}/v1/balances`, { headers }).then((r) => r.json() as Promise<{ data: Array<{ asset: string; available: string }> }>);
  assert.equal(balances.data.find((b) => b.asset === 'USDT-ERC20')?.available, '25');

  child.kill('SIGTERM');
  const code = await new Promise((resolve) => child?.once('exit', resolve));
  assert.equal(code, 0, 'a clean shutdown');
});
