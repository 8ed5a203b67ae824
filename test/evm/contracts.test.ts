// The committed contract artifacts are what the committed sources compile to: a stale
// contracts/*.json would make the anvil tests exercise code nobody can read.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

interface CompileScript {
  SOURCES: string[];
  compileContract(file: string): string;
  artifactPath(file: string): string;
}

const scriptUrl = new URL('../../scripts/compile-contracts.mjs', import.meta.url).href;

test('contracts/*.json are the current compilation of contracts/*.sol (run scripts/compile-contracts.mjs)', async () => {
  const script = (await import(scriptUrl)) as CompileScript;
  assert.ok(script.SOURCES.length > 0);
  for (const file of script.SOURCES) {
    const committed = readFileSync(script.artifactPath(file), 'utf8');
    assert.equal(script.compileContract(file), committed, `contracts/${file} changed since its artifact was written`);
  }
});

test('the TestToken artifact has what the tests use: decimals, mint, a blocked-recipient switch, and a contract refusing ether', () => {
  const artifact = JSON.parse(readFileSync(new URL('../../contracts/TestToken.json', import.meta.url), 'utf8')) as {
    contracts: Record<string, { abi: { type: string; name?: string }[]; bytecode: string }>;
  };
  const token = artifact.contracts['TestToken'];
  assert.ok(token !== undefined && /^0x[0-9a-f]{200,}$/.test(token.bytecode));
  const functions = token.abi.filter((entry) => entry.type === 'function').map((entry) => entry.name);
  for (const name of ['decimals', 'mint', 'transfer', 'transferFrom', 'approve', 'setBlocked', 'balanceOf']) assert.ok(functions.includes(name), name);
  const rejector = artifact.contracts['EtherRejector'];
  assert.ok(rejector?.abi.some((entry) => entry.type === 'receive'));
});
