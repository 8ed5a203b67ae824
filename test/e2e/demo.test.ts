// The first Quick start command as a new user runs it: `settle start` in an empty folder, with no
// configuration and no DATABASE_URL. It must start the embedded Postgres and the dev chain, print
// the demo merchant, key and webhook secret with curl commands, and an invoice created with them
// must turn paid after `settle demo pay`, with its webhooks received by the demo's receiver. The
// receiver keeps its port across a restart; `demo pay` says what each payment does.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
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
  await stopDemo();
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

interface RunningDemo {
  banner: string;
  output: () => string;
}

async function startDemo(env: Record<string, string>): Promise<RunningDemo> {
  let stdout = '';
  child = spawn(process.execPath, [BIN, 'start'], { cwd: home, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const banner = await waitFor(async () => (stdout.includes('Try it:') ? stdout : undefined), { what: 'the demo banner', timeoutMs: 120_000 });
  return { banner, output: () => stdout };
}

async function stopDemo(): Promise<number | null> {
  const running = child;
  child = undefined;
  if (running === undefined || running.exitCode !== null) return running?.exitCode ?? null;
  const exited = new Promise<number | null>((resolve) => running.once('exit', resolve));
  running.kill('SIGTERM');
  return exited;
}

function demoJson(): Record<string, unknown> {
  return JSON.parse(readFileSync(join(home, '.settle', 'demo.json'), 'utf8')) as Record<string, unknown>;
}

test('settle start with no configuration runs the demo: merchant, key and webhook secret, curl commands, and an invoice that gets paid', { skip, timeout: 600_000 }, async () => {
  const port = await freePort();
  // No DATABASE_URL, no config: what `npm start` does on a fresh machine (only the port is ours, to run beside other tests).
  const env = { PORT: String(port), LOG_LEVEL: 'info' };
  const demo = await startDemo(env);
  const { banner } = demo;
  const curl = /curl -s -X POST (\S+)\/v1\/invoices -H 'Authorization: Bearer (sk_\w+)' -H 'Content-Type: application\/json' -d '(\{[^']+\})'/.exec(banner);
  assert.ok(curl, 'the banner has a ready-to-paste curl command');
  assert.equal(curl[1], `http://127.0.0.1:${port}`);
  assert.ok(demo.output().includes('embedded Postgres'), 'the embedded Postgres was started');
  // Everything a user needs for the other credential forms and for checking signatures.
  const key = /API key +id (pk_\w+) +secret (sk_\w+)/.exec(banner);
  assert.ok(key, 'the banner shows the key id and secret');
  assert.equal(key[2], curl[2]);
  assert.match(banner, /Merchant +id demo +\(with the secret: 'x-api-key: sk_[A-Za-z0-9]+' and 'merchant-id: demo'\)\n/);
  const webhookSecret = /webhook secret (whsec_\w+)/.exec(banner)?.[1];
  assert.ok(webhookSecret, 'the banner shows the webhook secret');
  const receiverUrl = /demo receiver at (http:\/\/127\.0\.0\.1:(\d+)\/webhooks)/.exec(banner);
  assert.ok(receiverUrl, 'the banner shows where webhooks go');
  assert.match(banner, /retried after 5 s, 15 s, 1 min, 5 min, 15 min/);
  const saved = demoJson();
  assert.deepEqual(
    { merchantId: saved.merchantId, keyId: saved.keyId, secret: saved.secret, webhookSecret: saved.webhookSecret, receiverPort: saved.receiverPort, webhookUrl: saved.webhookUrl },
    { merchantId: 'demo', keyId: key[1], secret: key[2], webhookSecret, receiverPort: Number(receiverUrl[2]), webhookUrl: receiverUrl[1] },
  );

  const api = curl[1];
  const headers = { authorization: `Bearer ${curl[2]}`, 'content-type': 'application/json' };
  for (const authorization of [`Bearer ${key[1]}:${key[2]}`, `Basic ${Buffer.from(`${key[1]}:${key[2]}`).toString('base64')}`]) {
    assert.equal((await fetch(`${api}/v1/balances`, { headers: { authorization } })).status, 200, authorization.split(' ')[0]);
  }
  const create = (body: string) => fetch(`${api}/v1/invoices`, { method: 'POST', headers, body }).then((r) => r.json() as Promise<{ id: string; status: string; checkout_url: string }>);
  const invoice = await create(curl[3] ?? '');
  assert.equal(invoice.status, 'pending');
  assert.equal((await fetch(invoice.checkout_url)).status, 200);

  // Part of it first: the invoice stays pending, and demo pay says what remains.
  const part = await run(['demo', 'pay', invoice.id, '10'], env);
  assert.equal(part.code, 0, part.stderr);
  assert.match(part.stdout, /paid 10 USDT-ERC20 to 0x[0-9a-fA-F]{40} in transaction 0x[0-9a-f]{64}/);
  assert.match(part.stdout, /stays pending \(underpaid\) with 15 USDT-ERC20 of 25 USDT-ERC20 still to pay/);
  const current = () => fetch(`${api}/v1/invoices/${invoice.id}`, { headers }).then((r) => r.json() as Promise<{ status: string; received_amount: string; events: Array<{ to_status: string }> }>);
  await waitFor(async () => ((await current()).received_amount === '10' ? true : undefined), { what: 'the partial payment to be seen' });
  const rest = await run(['demo', 'pay', invoice.id], env);
  assert.equal(rest.code, 0, rest.stderr);
  assert.match(rest.stdout, /paid 15 USDT-ERC20 to 0x[0-9a-fA-F]{40} in transaction 0x[0-9a-f]{64}/);
  assert.match(rest.stdout, /turns confirming now and paid after 3 confirmations/);
  const done = await waitFor(async () => {
    const now = await current();
    return now.status === 'paid' ? now : undefined;
  }, { what: 'the demo invoice to be paid' });
  assert.deepEqual([...new Set(done.events.map((e) => e.to_status))], ['pending', 'confirming', 'paid']);
  await waitFor(async () => (/"type":"invoice\.paid"[^\n]*"signature":"valid"[^\n]*demo receiver/.test(demo.output()) ? true : undefined), { what: 'the demo receiver to log the paid webhook' });
  const balances = await fetch(`${api}/v1/balances`, { headers }).then((r) => r.json() as Promise<{ data: Array<{ asset: string; available: string }> }>);
  assert.equal(balances.data.find((b) => b.asset === 'USDT-ERC20')?.available, '25');

  // Paid already: nothing is sent, and it says so. A canceled invoice: the coins go to suspense,
  // and it says so. Bad input: one sentence on stderr, exit 2, no stack trace. (Run side by side:
  // each command is a cold start of the CLI.)
  const canceled = await create('{"asset":"USDT-ERC20","amount":"2"}');
  assert.equal((await fetch(`${api}/v1/invoices/${canceled.id}/cancel`, { method: 'POST', headers: { authorization: headers.authorization } })).status, 200);
  const badInput = [
    [['demo', 'pay', 'not-an-id'], /^settle demo pay: "not-an-id" is not an invoice id: give the id \(a uuid\) that POST \/v1\/invoices returned\n$/],
    [['demo', 'pay', '00000000-0000-4000-8000-000000000000'], /^settle demo pay: there is no invoice 00000000-0000-4000-8000-000000000000 in the demo's database\n$/],
    [['demo', 'pay', canceled.id, 'ten'], /^settle demo pay: "ten" is not an amount of USDT-ERC20: [^\n]+\n$/],
  ] as const;
  const [again, late, ...bad] = await Promise.all([
    run(['demo', 'pay', invoice.id], env),
    run(['demo', 'pay', canceled.id], env),
    ...badInput.map(([args]) => run([...args], env)),
  ]);
  assert.equal(again?.code, 1);
  assert.match(again?.stderr ?? '', /is already paid \(25 USDT-ERC20 received, status paid\), so nothing was sent/);
  assert.equal(late?.code, 0, late?.stderr);
  assert.match(late?.stdout ?? '', /the invoice is canceled, so these coins do not pay it: they go to the suspense account/);
  badInput.forEach(([args, message], i) => {
    assert.equal(bad[i]?.code, 2, `${args.join(' ')}: ${bad[i]?.stderr}`);
    assert.match(bad[i]?.stderr ?? '', message);
    assert.equal(bad[i]?.stdout, '');
  });

  // A restart: the receiver listens on the same port, so webhooks queued before it still arrive.
  assert.equal(await stopDemo(), 0, 'a clean shutdown');
  const restarted = await startDemo(env);
  assert.ok(restarted.banner.includes(`demo receiver at ${receiverUrl[1]}`), 'the receiver kept its port');
  assert.ok(restarted.banner.includes(`id ${key[1]}   secret ${key[2]}`), 'the same key');
  const paidHook = await fetch(`${api}/v1/webhooks/deliveries?invoice_id=${invoice.id}`, { headers }).then((r) => r.json() as Promise<{ data: Array<{ id: string; url: string; event_type: string }> }>);
  const delivery = paidHook.data.find((d) => d.event_type === 'invoice.paid');
  assert.ok(delivery);
  assert.equal(delivery.url, receiverUrl[1]);
  // Redelivered after the restart, the event reaches the receiver again.
  const redo = await fetch(`${api}/v1/webhooks/deliveries/${delivery.id}/redeliver`, { method: 'POST', headers: { authorization: headers.authorization } });
  assert.equal(redo.status, 202);
  await waitFor(async () => (/"type":"invoice\.paid"[^\n]*"signature":"valid"[^\n]*demo receiver/.test(restarted.output()) ? true : undefined), { what: 'the redelivered webhook at the restarted receiver' });

  // Its port taken by someone else, the receiver moves, says where, and remembers the new port.
  assert.equal(await stopDemo(), 0);
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(Number(receiverUrl[2]), '127.0.0.1', resolve));
  try {
    const moved = await startDemo(env);
    const newUrl = /demo receiver at (http:\/\/127\.0\.0\.1:(\d+)\/webhooks)/.exec(moved.banner);
    assert.ok(newUrl);
    assert.notEqual(newUrl[2], receiverUrl[2]);
    assert.equal(demoJson().receiverPort, Number(newUrl[2]));
    assert.equal(await stopDemo(), 0);
  } finally {
    await new Promise<void>((resolve) => squatter.close(() => resolve()));
  }
});
