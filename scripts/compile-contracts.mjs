#!/usr/bin/env node
// Compiles the test contracts in contracts/ with solc-js (npm `solc`, offline: the compiler is
// in the package) and writes contracts/<Name>.json (ABI + creation bytecode of every contract
// in the file). The JSON is committed; test/evm/contracts.test.ts recompiles and fails when it
// is stale. Run: node scripts/compile-contracts.mjs

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const contractsDir = fileURLToPath(new URL('../contracts/', import.meta.url));
/** Source files compiled, each to a JSON artifact of the same name. */
export const SOURCES = ['TestToken.sol'];

/** The artifact of one source file, as the JSON text that is committed. */
export function compileContract(file) {
  const solc = require('solc');
  const input = {
    language: 'Solidity',
    sources: { [file]: { content: readFileSync(contractsDir + file, 'utf8') } },
    settings: {
      optimizer: { enabled: true, runs: 200 },
      // Anvil runs the latest hardfork; cancun is old enough for any node and new enough for 0.8.
      evmVersion: 'cancun',
      metadata: { bytecodeHash: 'none' },
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length > 0) throw new Error(`solc: ${errors.map((e) => e.formattedMessage).join('\n')}`);
  const contracts = {};
  for (const [name, contract] of Object.entries(output.contracts[file])) {
    contracts[name] = { abi: contract.abi, bytecode: `0x${contract.evm.bytecode.object}` };
  }
  return `${JSON.stringify({ compiler: `solc ${solc.version()}`, source: `contracts/${file}`, contracts }, null, 2)}\n`;
}

export function artifactPath(file) {
  return contractsDir + file.replace(/\.sol$/, '.json');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const file of SOURCES) {
    writeFileSync(artifactPath(file), compileContract(file));
    console.log(`compiled contracts/${file} → ${artifactPath(file).slice(contractsDir.length - 'contracts/'.length)}`);
  }
}
