// Address text for scripts and back: the BIP350 segwit vectors (bech32 v0, bech32m v1+), base58
// against bitcoinjs-lib for Bitcoin and Litecoin, and the key format of script.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as bitcoin from 'bitcoinjs-lib';
import { addressToScript, scriptToAddress } from './address.ts';
import { addressParams } from './networks.ts';
import { keyToScript, scriptToKey } from './script.ts';

const btc = addressParams('btc', 'mainnet');
const tbtc = addressParams('btc', 'testnet');

function script(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

test('BIP350 valid segwit addresses decode to their scripts and encode back (lower case)', () => {
  const vectors: Array<[string, string]> = [
    ['BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4', '0014751e76e8199196d454941c45d1b3a323f1433bd6'],
    ['tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7', '00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262'],
    ['bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y', '5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6'],
    ['BC1SW50QGDZ25J', '6002751e'],
    ['bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs', '5210751e76e8199196d454941c45d1b3a323'],
    ['tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy', '0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433'],
    ['tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c', '5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433'],
    ['bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0', '512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798'],
  ];
  for (const [address, scriptHex] of vectors) {
    const params = address.toLowerCase().startsWith('tb1') ? tbtc : btc;
    assert.equal(Buffer.from(addressToScript(address, params) ?? []).toString('hex'), scriptHex, address);
    const bytes = script(scriptHex);
    assert.equal(scriptToAddress(bytes, 0, bytes.length, params), address.toLowerCase());
  }
});

test('BIP350 invalid segwit addresses are refused', () => {
  const invalid = [
    'tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut',
    'bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd',
    'tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf',
    'BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL',
    'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh',
    'tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47',
    'bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4',
    'BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R',
    'bc1pw5dgrnzv',
    'bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav',
    'BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P',
    'tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq',
    'bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf',
    'tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j',
    'bc1gmk9yu',
  ];
  for (const address of invalid) {
    const params = address.toLowerCase().startsWith('tb') ? tbtc : btc;
    assert.equal(addressToScript(address, params), undefined, address);
  }
});

test('base58 and bech32 addresses of random scripts equal bitcoinjs-lib, for Bitcoin and Litecoin networks', () => {
  const litecoin = { messagePrefix: '\x19Litecoin Signed Message:\n', bech32: 'ltc', bip32: { public: 0x0488b21e, private: 0x0488ade4 }, pubKeyHash: 0x30, scriptHash: 0x32, wif: 0xb0 };
  const networks = [
    [btc, bitcoin.networks.bitcoin],
    [tbtc, bitcoin.networks.testnet],
    [addressParams('btc', 'regtest'), bitcoin.networks.regtest],
    [addressParams('ltc', 'mainnet'), litecoin],
    [addressParams('ltc', 'testnet'), { ...litecoin, bech32: 'tltc', pubKeyHash: 0x6f, scriptHash: 0x3a }],
  ] as const;
  for (const [params, network] of networks) {
    for (let i = 0; i < 50; i++) {
      const h20 = randomBytes(20);
      const h32 = randomBytes(32);
      for (const hex of [`76a914${h20.toString('hex')}88ac`, `a914${h20.toString('hex')}87`, `0014${h20.toString('hex')}`, `0020${h32.toString('hex')}`]) {
        const bytes = script(hex);
        const expected = bitcoin.address.fromOutputScript(Buffer.from(bytes), network);
        assert.equal(scriptToAddress(bytes, 0, bytes.length, params), expected);
        assert.deepEqual(addressToScript(expected, params), bytes);
        // Keys: type byte + hash, and back to the same script.
        const key = scriptToKey(bytes);
        assert.ok(key !== undefined);
        assert.deepEqual(keyToScript(key), bytes);
      }
    }
  }
});

test('Litecoin still decodes legacy P2SH (3…) addresses to P2SH scripts; other networks’ addresses are refused', () => {
  const hash = randomBytes(20);
  const legacy = bitcoin.address.toBase58Check(hash, 0x05);
  assert.equal(Buffer.from(addressToScript(legacy, addressParams('ltc', 'mainnet')) ?? []).toString('hex'), `a914${hash.toString('hex')}87`);
  const ltcAddress = bitcoin.address.toBase58Check(hash, 0x30);
  assert.equal(addressToScript(ltcAddress, btc), undefined);
  assert.equal(addressToScript(bitcoin.address.toBech32(hash, 0, 'ltc'), btc), undefined);
});

test('scripts without an address map to null and have no index key', () => {
  const cases = ['6a24aa21a9ed' + '00'.repeat(32), '5820' + '11'.repeat(32), '21' + '02'.repeat(33) + 'ac', '51'];
  for (const hex of cases) {
    const bytes = script(hex);
    assert.equal(scriptToAddress(bytes, 0, bytes.length, addressParams('ltc', 'mainnet')), null, hex);
    assert.equal(scriptToKey(bytes), undefined);
  }
});
