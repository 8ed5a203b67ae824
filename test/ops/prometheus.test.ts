// The operator's view with a real Prometheus (Debian package `prometheus`): promtool accepts the
// scrape config and the alert rules in grafana/prometheus, Prometheus scrapes a running Settle,
// and every query of the Grafana dashboard parses and the essential ones return data.
// Skips with a notice when Prometheus is not installed (Grafana cannot be installed here).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { anvilSkipReason } from '../helpers/anvil.ts';
import { startEvmTestChain, type EvmTestChain } from '../helpers/evm-chain.ts';
import { startTestEngine, type TestEngine } from '../helpers/engine.ts';
import { waitFor } from '../helpers/wait.ts';
import { freePort } from '../../src/ports.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const installed = spawnSync('prometheus', ['--version'], { stdio: 'ignore' }).status === 0 && spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;
const skip = anvilSkipReason() ?? (installed ? undefined : 'prometheus is not installed (Debian package prometheus); skipping the dashboard check');
if (!installed) console.log(`# ${skip}`);

let chain: EvmTestChain | undefined;
let settle: TestEngine | undefined;
let prometheus: ChildProcess | undefined;
const dir = mkdtempSync(join(tmpdir(), 'settle-prometheus-'));
after(async () => {
  prometheus?.kill('SIGTERM');
  await settle?.stop();
  await chain?.anvil.stop();
  rmSync(dir, { recursive: true, force: true });
});

if (skip === undefined) {
  chain = await startEvmTestChain();
  settle = await startTestEngine(import.meta.filename, { chains: chain.config() });
}


interface Panel { title: string; type: string; targets?: Array<{ expr: string }> }

test('promtool accepts the alert rules and a scrape config like the shipped one', { skip }, () => {
  const rules = spawnSync('promtool', ['check', 'rules', join(ROOT, 'grafana/prometheus/alerts.yml')], { encoding: 'utf8' });
  assert.equal(rules.status, 0, rules.stdout + rules.stderr);
  const shipped = readFileSync(join(ROOT, 'grafana/prometheus/prometheus.yml'), 'utf8').replace('/etc/prometheus/alerts.yml', join(ROOT, 'grafana/prometheus/alerts.yml'));
  writeFileSync(join(dir, 'shipped.yml'), shipped);
  const config = spawnSync('promtool', ['check', 'config', join(dir, 'shipped.yml')], { encoding: 'utf8' });
  assert.equal(config.status, 0, config.stdout + config.stderr);
});

// The test-level timeout only guards against a hang; each wait below has its own deadline.
test('Prometheus scrapes Settle and every dashboard query parses; the essential ones have data', { skip, timeout: 10 * 60_000 }, async () => {
  // Some traffic first: an invoice paid on the dev chain.
  const merchant = await settle!.merchant('Ops');
  const invoice = await fetch(`${settle!.url}/v1/invoices`, {
    method: 'POST', headers: { ...merchant.auth, 'content-type': 'application/json' }, body: JSON.stringify({ asset: 'USDT-ERC20', amount: '1' }),
  }).then((r) => r.json() as Promise<{ address: string }>);
  await chain!.payToken(invoice.address, 1_000_000n);
  await chain!.anvil.mine(3);

  const target = new URL(settle!.url).host;
  writeFileSync(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: settle\n    static_configs:\n      - targets: ['${target}']\n`);
  const port = await freePort();
  prometheus = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: 'ignore' });
  const api = `http://127.0.0.1:${port}/api/v1`;
  const query = async (expr: string) => {
    const reply = (await (await fetch(`${api}/query?query=${encodeURIComponent(expr)}`, { signal: AbortSignal.timeout(60_000) })).json()) as { status: string; error?: string; data?: { result: unknown[] } };
    return reply;
  };
  await waitFor(async () => {
    const up = await query('up{job="settle"}').catch(() => undefined);
    return (up?.data?.result as Array<{ value: [number, string] }> | undefined)?.[0]?.value[1] === '1' ? true : undefined;
  }, { what: 'Prometheus to scrape Settle' });
  // A few scrapes, so rate() has two points: wait for them, not for a time.
  await waitFor(async () => {
    const scrapes = await query('count_over_time(up{job="settle"}[5m])');
    return Number((scrapes.data?.result as Array<{ value: [number, string] }> | undefined)?.[0]?.value[1] ?? 0) >= 3;
  }, { what: 'three scrapes of Settle' });

  const dashboard = JSON.parse(readFileSync(join(ROOT, 'grafana/dashboards/settle.json'), 'utf8')) as { panels: Panel[] };
  const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
  assert.ok(exprs.length >= 20);
  for (const { panel, expr } of exprs) {
    const reply = await query(expr);
    assert.equal(reply.status, 'success', `${panel}: ${expr}: ${reply.error}`);
  }
  for (const essential of ['settle_scanner_height_blocks{chain="eth"}', 'settle_chain_head_height_blocks{chain="eth"}', 'settle_scanner_halted{chain="eth"}', 'settle_invoices_total', 'settle_http_request_duration_seconds_count', 'process_resident_memory_bytes']) {
    const reply = await query(essential);
    assert.ok((reply.data?.result.length ?? 0) > 0, `${essential} has no data`);
  }
});
