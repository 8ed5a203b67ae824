// The `settle` command as users run it: a child process, its exit code and its output.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testDatabase } from '../helpers/db.ts';
import { createLedgerWriter } from '../../src/ledger/transfers.ts';
import { ensureAccounts, ensureLedger } from '../../src/ledger/accounts.ts';
import { transferId } from '../../src/ledger/ids.ts';

const BIN = fileURLToPath(new URL('../../bin/settle.mjs', import.meta.url));
const db = await testDatabase(import.meta.filename);

interface Run { code: number | null; stdout: string; stderr: string }

function settle(args: string[], env: Record<string, string> = {}, onStdout?: (text: string, child: ReturnType<typeof spawn>) => void): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      onStdout?.(stdout, child);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

test('settle with no command, an unknown command or a bad flag prints usage and exits 2', async () => {
  const none = await settle([]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /Usage: settle <command>/);
  const unknown = await settle(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"[\s\S]*Usage:/);
  const badFlag = await settle(['check', '--no-such-flag']);
  assert.equal(badFlag.code, 2);
  assert.match(badFlag.stderr, /Unknown option '--no-such-flag'[\s\S]*Usage:/);
  const help = await settle(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /start[\s\S]*migrate[\s\S]*check/);
});

test('an invalid config stops start-up with exit 2 naming each bad field', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'settle-cli-'));
  const file = join(dir, 'settle.json');
  writeFileSync(file, JSON.stringify({ http: { port: -1 }, database: { poolMax: 'many' } }));
  const run = await settle(['start', '--config', file], { PORT: '' });
  assert.equal(run.code, 2);
  assert.match(run.stderr, /http\.port: /);
  assert.match(run.stderr, /database\.poolMax: /);
  const envRun = await settle(['start'], { PORT: 'eighty' });
  assert.equal(envRun.code, 2);
  assert.match(envRun.stderr, /PORT \(environment\)/);
});

test('settle check exits 0 on a consistent ledger and 1 naming a broken invariant', async () => {
  const ledger = await ensureLedger(db.sql, { code: 'CLI', chain: 'test', asset: 'C', decimals: 2 });
  const [world, merchant] = await ensureAccounts(db.sql, [{ ledger: ledger.id, code: 'world' }, { ledger: ledger.id, code: 'merchant', owner: 'm' }]);
  const writer = createLedgerWriter(db.sql);
  await writer.createTransfers([{ id: transferId('cli', 1), debitAccountId: world as bigint, creditAccountId: merchant as bigint, amount: 5n, ledger: ledger.id, code: 'deposit' }]);

  const ok = await settle(['check'], { DATABASE_URL: db.url });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /ledger invariants hold/);

  await db.sql`update accounts set credits_posted = credits_posted + 1 where id = ${String(merchant)}`;
  const broken = await settle(['check', '--json'], { DATABASE_URL: db.url, LOG_LEVEL: 'silent' });
  assert.equal(broken.code, 1);
  const report = JSON.parse(broken.stdout) as { ok: boolean; violations: Array<{ invariant: string; accountIds: string[] }> };
  assert.equal(report.ok, false);
  assert.ok(report.violations.some((v) => v.invariant === 'account_totals_mismatch' && v.accountIds.includes(String(merchant))));
  await db.sql`update accounts set credits_posted = credits_posted - 1 where id = ${String(merchant)}`;
});

test('settle start serves /health and /metrics, and stops cleanly on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'settle-cli-'));
  const file = join(dir, 'settle.json');
  writeFileSync(file, JSON.stringify({ http: { port: 0 } }));
  let checked: Promise<void> | undefined;
  const run = await settle(['start', '--config', file], { DATABASE_URL: db.url }, (stdout, child) => {
    const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)","msg":"HTTP server listening/.exec(stdout);
    if (match === null || checked !== undefined) return;
    checked = (async () => {
      const health = await fetch(`${match[1]}/health`);
      assert.equal(health.status, 200);
      const body = (await health.json()) as { status: string; components: Record<string, { status: string }> };
      assert.equal(body.status, 'ok');
      assert.equal(body.components.database?.status, 'ok');
      const metrics = await fetch(`${match[1]}/metrics`);
      assert.equal(metrics.status, 200);
      const text = await metrics.text();
      assert.match(text, /process_cpu_user_seconds_total/);
      assert.match(text, /settle_http_request_duration_seconds_bucket\{.*route="\/health"/);
    })().finally(() => child.kill('SIGTERM'));
  });
  await checked;
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /database schema is current/);
  assert.match(run.stdout, /shutting down/);
});

test('settle merchant create and key create/revoke print what the operator needs; the key works once, then not', async () => {
  const created = await settle(['merchant', 'create', '--name', 'CLI shop', '--id', 'cli-shop', '--callback-url', 'https://shop.example/hooks'], { DATABASE_URL: db.url });
  assert.equal(created.code, 0, created.stderr);
  const merchant = JSON.parse(created.stdout) as { id: string; webhook_secret: string };
  assert.equal(merchant.id, 'cli-shop');
  assert.match(merchant.webhook_secret, /^whsec_/);
  const key = await settle(['key', 'create', '--merchant', 'cli-shop', '--label', 'ci', '--ip', '127.0.0.1'], { DATABASE_URL: db.url });
  assert.equal(key.code, 0, key.stderr);
  const { key_id: keyId, secret } = JSON.parse(key.stdout) as { key_id: string; secret: string };
  assert.match(keyId, /^pk_/);
  assert.match(secret, /^sk_/);
  const [stored] = await db.sql<{ secret_sha256: Buffer; ip_allow: string[] }[]>`select secret_sha256, ip_allow from api_keys where id = ${keyId}`;
  assert.ok(stored !== undefined && !stored.secret_sha256.toString('utf8').includes(secret), 'only a hash of the secret is stored');
  assert.deepEqual(stored.ip_allow, ['127.0.0.1']);
  const missing = await settle(['key', 'create'], { DATABASE_URL: db.url });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--merchant is required/);
  const revoked = await settle(['key', 'revoke', '--merchant', 'cli-shop', '--key', keyId], { DATABASE_URL: db.url });
  assert.equal(revoked.code, 0);
  const [row] = await db.sql<{ revoked_at: Date | null }[]>`select revoked_at from api_keys where id = ${keyId}`;
  assert.notEqual(row?.revoked_at, null);
  const again = await settle(['key', 'revoke', '--merchant', 'cli-shop', '--key', keyId], { DATABASE_URL: db.url });
  assert.equal(again.code, 1);
});

test('settle merchant create and key create refuse what the API would refuse: exit 2, one sentence naming the flag, nothing stored', async () => {
  const [{ count: merchantsBefore } = { count: 0 }] = await db.sql<{ count: number }[]>`select count(*)::int as count from merchants`;
  const merchantCases: Array<[string[], RegExp]> = [
    [['--callback-url', 'javascript:alert(1)'], /--callback-url "javascript:alert\(1\)" is not valid: callback URLs must be http:\/\/ or https:\/\//],
    [['--callback-url', 'http://127.0.0.1:9/x'], /--callback-url "http:\/\/127\.0\.0\.1:9\/x" is refused: .*private, loopback/],
    [['--callback-url', 'http://[::ffff:127.0.0.1]:9/x'], /--callback-url .* is refused/],
    [['--callback-url', 'https://user:pw@shop.example/'], /--callback-url .*credentials/],
    [['--id', 'no spaces allowed'], /--id "no spaces allowed" is not valid/],
  ];
  for (const [flags, message] of merchantCases) {
    const run = await settle(['merchant', 'create', '--name', 'Bad shop', ...flags], { DATABASE_URL: db.url });
    assert.equal(run.code, 2, `${flags.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, message);
    assert.equal(run.stderr.trim().split('\n').length, 1, `one line, no usage: ${run.stderr}`);
  }
  const [{ count: merchantsAfter } = { count: 0 }] = await db.sql<{ count: number }[]>`select count(*)::int as count from merchants`;
  assert.equal(merchantsAfter, merchantsBefore);

  const shop = await settle(['merchant', 'create', '--name', 'Flag shop', '--id', 'flag-shop'], { DATABASE_URL: db.url });
  assert.equal(shop.code, 0, shop.stderr);
  const keyCases: Array<[string[], RegExp]> = [
    [['--ip', 'not-an-ip'], /--ip "not-an-ip" is not valid: must be one IP address/],
    [['--ip', '127.0.0.1', '--ip', '10.0.0.0/8'], /--ip "10\.0\.0\.0\/8" is not valid/],
    [['--origin', '*'], /--origin "\*" is not valid: must be an Origin like https:\/\/shop\.example/],
    [['--origin', 'https://shop.example/'], /--origin "https:\/\/shop\.example\/" is not valid/],
    [['--origin', 'javascript:alert(1)'], /--origin .* is not valid/],
  ];
  for (const [flags, message] of keyCases) {
    const run = await settle(['key', 'create', '--merchant', 'flag-shop', ...flags], { DATABASE_URL: db.url });
    assert.equal(run.code, 2, `${flags.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, message);
  }
  const [{ count: keys } = { count: -1 }] = await db.sql<{ count: number }[]>`select count(*)::int as count from api_keys where merchant_id = 'flag-shop'`;
  assert.equal(keys, 0, 'no key was stored');

  const unknown = await settle(['key', 'create', '--merchant', 'no-such-shop'], { DATABASE_URL: db.url });
  assert.deepEqual([unknown.code, unknown.stderr.trim()], [1, 'settle key: no merchant no-such-shop']);
  const twice = await settle(['merchant', 'create', '--name', 'Again', '--id', 'flag-shop'], { DATABASE_URL: db.url });
  assert.deepEqual([twice.code, twice.stderr.trim()], [1, 'settle merchant: a merchant with id flag-shop exists already']);

  const good = await settle(['key', 'create', '--merchant', 'flag-shop', '--ip', '2001:DB8:0:0:0:0:0:7', '--origin', 'https://shop.example'], { DATABASE_URL: db.url });
  assert.equal(good.code, 0, good.stderr);
  const { key_id: keyId } = JSON.parse(good.stdout) as { key_id: string };
  const [stored] = await db.sql<{ ip_allow: string[]; origin_allow: string[] }[]>`select ip_allow, origin_allow from api_keys where id = ${keyId}`;
  assert.deepEqual(stored, { ip_allow: ['2001:db8::7'], origin_allow: ['https://shop.example'] }, 'the address is kept in the form the server compares');
});

test('settle inspect block decodes a fixture block, or says why not', async () => {
  const fixture = fileURLToPath(new URL('../../../shared/fixtures/btc/mainnet/block300025.raw', import.meta.url));
  const { existsSync } = await import('node:fs');
  const bad = await settle(['inspect', 'block', '--chain', 'doge', '/dev/null']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--chain must be/);
  if (!existsSync(fixture)) {
    console.log('# ../shared/fixtures is absent; skipping the inspect check on a real block');
    return;
  }
  const run = await settle(['inspect', 'block', '--chain', 'btc', fixture]);
  assert.equal(run.code, 0, run.stderr);
  const report = JSON.parse(run.stdout) as { hash: string; height: number; tx_count: number; merkle_ok: boolean; txids: string[] };
  assert.equal(report.hash, '0000000000000000821c4e0acc40f88bedbce3b73ba2358b5ade58a9022cc78c');
  assert.equal(report.height, 300025);
  assert.equal(report.tx_count, 461);
  assert.equal(report.merkle_ok, true);
  assert.equal(report.txids.length, 461);
});

test('settle demo pay answers a bad invoice id or a missing invoice with one sentence and exit 2, never a stack trace', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'settle-cli-demo-'));
  const file = join(dir, 'settle.json');
  writeFileSync(file, JSON.stringify({ database: { embedded: { dataDir: join(dir, '.settle', 'pg') } } }));
  const oneSentence = (run: Run) => {
    assert.equal(run.stdout, '');
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
  };
  const badId = await settle(['demo', 'pay', 'not-an-id', '--config', file]);
  assert.equal(badId.code, 2);
  assert.match(badId.stderr, /^settle demo pay: "not-an-id" is not an invoice id/);
  oneSentence(badId);
  const notRun = await settle(['demo', 'pay', '00000000-0000-4000-8000-000000000000', '--config', file]);
  assert.equal(notRun.code, 1);
  assert.match(notRun.stderr, /^settle demo pay: the demo has not run yet: start it with `npm start` first/);
  oneSentence(notRun);
  // A demo that has run (its state file), on a database without that invoice.
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(dir, '.settle'), { recursive: true });
  writeFileSync(join(dir, '.settle', 'demo.json'), JSON.stringify({ version: 1, mnemonic: 'test', token: '0x5fbdb2315678afecb367f032d93f642f64180aa3', rpcUrl: 'http://127.0.0.1:9' }));
  const missing = await settle(['demo', 'pay', '00000000-0000-4000-8000-000000000000', '10', '--config', file], { DATABASE_URL: db.url });
  assert.equal(missing.code, 2, missing.stderr);
  assert.match(missing.stderr, /^settle demo pay: there is no invoice 00000000-0000-4000-8000-000000000000 in the demo's database/);
  oneSentence(missing);
});
