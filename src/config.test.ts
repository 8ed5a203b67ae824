import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from './config.ts';
import { ConfigError } from './errors.ts';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail('expected the config to be rejected');
}

test('loadConfig() with nothing configured gives the documented defaults', () => {
  const config = loadConfig({ env: {} });
  assert.equal(config.http.host, '127.0.0.1');
  assert.equal(config.http.port, 8080);
  assert.equal(config.database.url, undefined);
  assert.equal(config.database.embedded.dataDir, '.settle/pg');
  assert.equal(config.log.level, 'info');
  assert.deepEqual(config.chains, {});
  assert.equal(config.http.requestTimeoutMs, 30_000);
  assert.equal(config.http.headersTimeoutMs, 15_000);
  assert.equal(config.http.authFailures.addressBurst, 20);
});

test('HTTP timeouts are checked against each other', () => {
  const problems = problemsOf(() => loadConfig({ env: {}, overrides: { http: { headersTimeoutMs: 20_000, requestTimeoutMs: 10_000 } } }));
  assert.match(problems.join('\n'), /http\.headersTimeoutMs: headersTimeoutMs may not exceed requestTimeoutMs/);
});

test('the environment overrides the file, and explicit overrides win over both', () => {
  const dir = mkdtempSync(join(tmpdir(), 'settle-config-'));
  const file = join(dir, 'settle.json');
  writeFileSync(file, JSON.stringify({ http: { port: 9000, host: '0.0.0.0' }, log: { level: 'debug' } }));
  const config = loadConfig({ env: { SETTLE_CONFIG: file, PORT: '9100', DATABASE_URL: 'postgres://u@h/db' } });
  assert.equal(config.http.port, 9100);
  assert.equal(config.http.host, '0.0.0.0');
  assert.equal(config.log.level, 'debug');
  assert.equal(config.database.url, 'postgres://u@h/db');
  assert.equal(loadConfig({ env: { SETTLE_CONFIG: file }, overrides: { http: { port: 1 } } }).http.port, 1);
});

test('an invalid config names every bad field and why', () => {
  const problems = problemsOf(() =>
    loadConfig({
      env: { PORT: '80a', DATABASE_URL: 'mysql://x' },
      overrides: { http: { port: 70000 }, log: { level: 'loud' as never }, extra: true } as never,
    }),
  );
  const text = problems.join('\n');
  assert.match(text, /PORT \(environment\): must be an integer/);
  assert.match(text, /http\.port: .*(65535|too big)/i);
  assert.match(text, /log\.level: /);
  assert.match(text, /database\.url: must be a postgres/);
  assert.match(text, /unknown field\(s\) "extra"/);
});

test('a missing or malformed config file is reported, not ignored', () => {
  assert.match(problemsOf(() => loadConfig({ env: { SETTLE_CONFIG: '/nonexistent/settle.json' } }))[0] ?? '', /cannot be read/);
  const dir = mkdtempSync(join(tmpdir(), 'settle-config-'));
  const file = join(dir, 'bad.json');
  writeFileSync(file, '{ not json');
  assert.match(problemsOf(() => loadConfig({ env: {}, file }))[0] ?? '', /not valid JSON/);
  writeFileSync(file, '[1,2]');
  assert.match(problemsOf(() => loadConfig({ env: {}, file }))[0] ?? '', /must hold a JSON object/);
});

test('chain configs are checked per family', () => {
  const problems = problemsOf(() =>
    loadConfig({
      env: {},
      overrides: {
        chains: {
          eth: { family: 'evm', chainId: 1, native: { code: 'ETH', symbol: 'ETH', decimals: 18 }, rpc: { url: 'ftp://x' }, tokens: [{ code: 'USDT-ERC20', symbol: 'USDT', contract: '0x12', decimals: 6 }] },
          BAD: { family: 'utxo', coin: 'doge' },
        },
      } as never,
    }),
  );
  const text = problems.join('\n');
  assert.match(text, /chains\.eth\.rpc\.url: must be an http/);
  assert.match(text, /chains\.eth\.tokens\.0\.contract: must be a 0x-prefixed 20-byte hex address/);
  assert.match(text, /chains\.BAD: chain names are lower-case/);
  const ok = loadConfig({ env: {}, overrides: { chains: { tron: { family: 'tron', rpc: { url: 'http://127.0.0.1:8090' } } } } });
  const tron = ok.chains.tron;
  assert.ok(tron?.family === 'tron');
  assert.equal(tron.confirmations, 19, 'TRC-20 needs 19 confirmations by default, as the seeds state');
  assert.equal(tron.native.code, 'TRX');
});
