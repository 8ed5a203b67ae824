import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BIP32Factory } from 'bip32';
import * as ecc from 'tiny-secp256k1';
import { Mnemonic } from 'ethers';
import { TronWeb } from 'tronweb';
import { createTronDeriver, TRON_ACCOUNT_PATH } from './derive.ts';
import { tronAddressToBodyHex } from './address.ts';

const bip32 = BIP32Factory(ecc);
const ABANDON = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';

function accountXpub(phrase: string): { xpub: string; xprv: string } {
  const seed = Buffer.from(Mnemonic.fromPhrase(phrase).computeSeed().slice(2), 'hex');
  const account = bip32.fromSeed(seed).derivePath(TRON_ACCOUNT_PATH);
  return { xpub: account.neutered().toBase58(), xprv: account.toBase58() };
}

test('derive() gives the published TRON addresses of the "abandon … about" mnemonic', () => {
  // Published for m/44'/195'/0'/0/i (Ian Coleman's BIP39 tool; index 0 is also the test case of
  // Ledger's TRON app): the same four in independent wallets' test suites.
  const published = ['TUEZSdKsoDHQMeZwihtdoBiN46zxhGWYdH', 'TSeJkUh4Qv67VNFwY8LaAxERygNdy6NQZK', 'TYJPRrdB5APNeRs4R7fYZSwW3TcrTKw2gx', 'TRhVWK5XEDkQBDevcdCWW7RW51aRncty4W'];
  const deriver = createTronDeriver({ xpub: accountXpub(ABANDON).xpub });
  published.forEach((address, index) => {
    const derived = deriver.derive(index);
    assert.equal(derived.address, address, `index ${index}`);
    assert.equal(derived.index, index);
    assert.equal(Buffer.from(derived.key).toString('hex'), tronAddressToBodyHex(address), 'the key is the 20-byte body');
  });
});

test('derive() agrees with tronweb fromMnemonic on another mnemonic, from the xpub alone', () => {
  const phrase = 'legal winner thank year wave sausage worth useful legal winner thank yellow';
  const deriver = createTronDeriver({ xpub: accountXpub(phrase).xpub });
  for (const index of [0, 1, 7, 1000, 2 ** 31 - 1]) {
    const expected = TronWeb.fromMnemonic(phrase, `${TRON_ACCOUNT_PATH}/0/${index}`);
    assert.ok(!(expected instanceof Error) && typeof expected.address === 'string');
    assert.equal(deriver.derive(index).address, expected.address, `index ${index}`);
  }
});

test('createTronDeriver() refuses private keys, keys at the wrong depth and bad indexes', () => {
  const { xprv } = accountXpub(ABANDON);
  assert.throws(() => createTronDeriver({ xpub: xprv }), /private key/);
  const seed = Buffer.from(Mnemonic.fromPhrase(ABANDON).computeSeed().slice(2), 'hex');
  const changeLevel = bip32.fromSeed(seed).derivePath(`${TRON_ACCOUNT_PATH}/0`).neutered().toBase58();
  assert.throws(() => createTronDeriver({ xpub: changeLevel }), /depth 4/);
  assert.throws(() => createTronDeriver({ xpub: 'xpub-not-a-key' }), /not an extended public key/);
  const deriver = createTronDeriver({ xpub: accountXpub(ABANDON).xpub });
  assert.throws(() => deriver.derive(-1), /address index/);
  assert.throws(() => deriver.derive(2 ** 31), /address index/);
});
