import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { computeBlockId, emptyHeader, readBlockHeaderObject, verifyBlockId, type TronBlockHeader } from './header.ts';
import { JsonCursor } from './json-scan.ts';
import { decodeBlockHeader } from '../../../test/helpers/tron-proto.ts';

const fixtures = fileURLToPath(new URL('../../../../shared/fixtures/tron/mainnet/', import.meta.url));
const haveFixtures = existsSync(fixtures);
if (!haveFixtures) console.log(`# tron fixtures not found at ${fixtures}: the mainnet header tests are skipped`);

/** The mainnet headers of the fixtures, as the JSON a node prints for block_header. */
function mainnetHeaders(file: string): Array<{ json: string; blockId: string; number: number }> {
  const fixture = JSON.parse(readFileSync(fixtures + file, 'utf8')) as { blocks: string[] };
  return fixture.blocks.map((hex) => {
    const { header, witnessSignature } = decodeBlockHeader(Buffer.from(hex.slice(2), 'hex'));
    const raw = `{"number":${header.number},"txTrieRoot":"${header.txTrieRoot}","witness_address":"${header.witnessAddress}","parentHash":"${header.parentHash}","version":${header.version},"timestamp":${header.timestamp}}`;
    return { json: `{"raw_data":${raw},"witness_signature":"${witnessSignature}"}`, blockId: '', number: header.number };
  });
}

function read(json: string): TronBlockHeader {
  const header = emptyHeader();
  readBlockHeaderObject(new JsonCursor(new Uint8Array(Buffer.from(json))), header);
  return header;
}

test('computeBlockId() reproduces mainnet blockIDs from header JSON, and consecutive headers link', { skip: !haveFixtures }, () => {
  const headers = mainnetHeaders('untron_trigger_79729218_caf54b.json');
  assert.equal(headers.length, 20);
  const first = read(headers[0]!.json);
  // The blockID the fixture (and TronScan) give for block 79,729,218.
  assert.equal(computeBlockId(first), '0000000004c0924231619ab7d3cfc3040d8b80a18f92556ce10b49ce24c56458');
  let previous = computeBlockId(first);
  for (const { json, number } of headers.slice(1)) {
    const header = read(json);
    assert.equal(header.number, number);
    assert.equal(header.parentHash, previous, `block ${number} links to its parent`);
    previous = computeBlockId(header);
  }
  const other = read(mainnetHeaders('untron_tron_tx_proof_78812179_1d649769.json')[0]!.json);
  assert.equal(computeBlockId(other), '0000000004b2941332abc391c34010a9734cc1eb96624888765a1f4caf193db1');
});

test('verifyBlockId() rejects a header whose fields were changed', { skip: !haveFixtures }, () => {
  const header = read(mainnetHeaders('untron_trigger_79729218_caf54b.json')[0]!.json);
  header.blockId = computeBlockId(header);
  verifyBlockId(header);
  assert.throws(() => verifyBlockId({ ...header, timestampMs: header.timestampMs + 3000 }), /does not match its header/);
  assert.throws(() => verifyBlockId({ ...header, txTrieRoot: '00'.repeat(32) }), /does not match its header/);
});

test('readBlockHeaderObject() refuses fields it cannot encode and malformed hashes', () => {
  assert.throws(() => read('{"raw_data":{"number":1,"nonce":"00"}}'), /unknown field "nonce"/);
  assert.throws(() => read('{"raw_data":{"parentHash":"abc"}}'), /parentHash must be 64 hex digits/);
  assert.throws(() => read(`{"raw_data":{"parentHash":"${'zz'.repeat(32)}"}}`), /parentHash is not hex/);
  assert.throws(() => read('{"raw_data":{"number":-5}}'), /non-negative integer/);
});
