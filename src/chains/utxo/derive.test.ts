// Deposit address derivation against the published BIP84 / BIP49 / BIP44 vectors (mnemonic
// "abandon … about"), and Litecoin cross-checked with an independent derivation (bip32 from the
// seed + bitcoinjs-lib payments with a Litecoin network object, CHAINS.md §1.6).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Mnemonic } from 'ethers';
import { BIP32Factory } from 'bip32';
import * as ecc from 'tiny-secp256k1';
import * as bitcoin from 'bitcoinjs-lib';
import { createUtxoDeriver } from './derive.ts';
import { scriptToKey } from './script.ts';
import { addressToScript } from './address.ts';
import { addressParams } from './networks.ts';

const bip32 = BIP32Factory(ecc);
const MNEMONIC = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
const seed = Buffer.from(Mnemonic.fromPhrase(MNEMONIC).computeSeed().slice(2), 'hex');
const litecoin = { messagePrefix: '\x19Litecoin Signed Message:\n', bech32: 'ltc', bip32: { public: 0x0488b21e, private: 0x0488ade4 }, pubKeyHash: 0x30, scriptHash: 0x32, wif: 0xb0 };

/** The account key at `path` from the mnemonic, serialized with the given public version bytes. */
function accountKey(path: string, version: number): string {
  return bip32.fromSeed(seed, { wif: 0x80, bip32: { public: version, private: 0x0488ade4 } }).derivePath(path).neutered().toBase58();
}

test('BIP84: the zpub of account 0 gives the published receive addresses (and change on chain 1)', () => {
  const zpub = 'zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs';
  assert.equal(accountKey("m/84'/0'/0'", 0x04b24746), zpub, 'the zpub is the one of the BIP84 mnemonic');
  const deriver = createUtxoDeriver({ coin: 'btc', network: 'mainnet', xpub: zpub });
  assert.equal(deriver.scriptType, 'p2wpkh');
  assert.equal(deriver.derive(0).address, 'bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu');
  assert.equal(deriver.derive(1).address, 'bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g');
  assert.equal(createUtxoDeriver({ coin: 'btc', network: 'mainnet', xpub: zpub, chain: 1 }).derive(0).address, 'bc1q8c6fshw2dlwun7ekn9qwf37cu2rn755upcp6el');
});

test('BIP49: the upub of account 0 (testnet) gives the published P2SH-P2WPKH address', () => {
  const upub = 'upub5EFU65HtV5TeiSHmZZm7FUffBGy8UKeqp7vw43jYbvZPpoVsgU93oac7Wk3u6moKegAEWtGNF8DehrnHtv21XXEMYRUocHqguyjknFHYfgY';
  const first = createUtxoDeriver({ coin: 'btc', network: 'testnet', xpub: upub }).derive(0);
  assert.equal(first.address, '2Mww8dCYPUpKHofjgcXcBCEGmniw9CoaiD2');
  assert.equal(Buffer.from(first.script).toString('hex'), 'a914336caa13e08b96080a32b5d818d59b4ab3b3674287');
  assert.equal(Buffer.from(first.key).toString('hex'), '02336caa13e08b96080a32b5d818d59b4ab3b36742');
});

test('BIP44: an xpub with scriptType p2pkh gives the well-known first address of the mnemonic', () => {
  const xpub = 'xpub6BosfCnifzxcFwrSzQiqu2DBVTshkCXacvNsWGYJVVhhawA7d4R5WSWGFNbi8Aw6ZRc1brxMyWMzG3DSSSSoekkudhUd9yLb6qx39T9nMdj';
  assert.equal(accountKey("m/44'/0'/0'", 0x0488b21e), xpub);
  const deriver = createUtxoDeriver({ coin: 'btc', network: 'mainnet', xpub, scriptType: 'p2pkh' });
  assert.equal(deriver.derive(0).address, '1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA');
});

test('Litecoin: xpub (p2wpkh), Ltub (p2pkh) and Mtub (p2sh-p2wpkh) match an independent bitcoinjs-lib derivation', () => {
  const root = bip32.fromSeed(seed);
  const cases = [
    { path: "m/84'/2'/0'", version: 0x0488b21e, scriptType: 'p2wpkh' as const, payment: bitcoin.payments.p2wpkh, prefix: /^ltc1q/ },
    { path: "m/44'/2'/0'", version: 0x019da462, scriptType: undefined, payment: bitcoin.payments.p2pkh, prefix: /^L/ },
    { path: "m/49'/2'/0'", version: 0x01b26ef6, scriptType: undefined, payment: undefined, prefix: /^M/ },
  ];
  for (const { path, version, scriptType, payment, prefix } of cases) {
    const xpub = accountKey(path, version);
    const deriver = createUtxoDeriver({ coin: 'ltc', network: 'mainnet', xpub, scriptType });
    for (const index of [0, 1, 17, 1000]) {
      const pubkey = Buffer.from(root.derivePath(`${path}/0/${index}`).publicKey);
      const expected =
        payment !== undefined
          ? payment({ pubkey, network: litecoin }).address
          : bitcoin.payments.p2sh({ redeem: bitcoin.payments.p2wpkh({ pubkey, network: litecoin }), network: litecoin }).address;
      const derived = deriver.derive(index);
      assert.equal(derived.address, expected, `${path}/0/${index}`);
      assert.match(derived.address, prefix);
      assert.deepEqual(derived.key, scriptToKey(derived.script));
      assert.deepEqual(addressToScript(derived.address, addressParams('ltc', 'mainnet')), derived.script);
    }
  }
});

test('regtest encodings: bcrt1 / rltc1 from tpub/vpub keys', () => {
  const vpub = accountKey("m/84'/1'/0'", 0x045f1cf6);
  assert.match(createUtxoDeriver({ coin: 'btc', network: 'regtest', xpub: vpub }).derive(0).address, /^bcrt1q/);
  assert.match(createUtxoDeriver({ coin: 'ltc', network: 'regtest', xpub: vpub }).derive(0).address, /^rltc1q/);
  const tpub = accountKey("m/44'/1'/0'", 0x043587cf);
  assert.match(createUtxoDeriver({ coin: 'ltc', network: 'testnet', xpub: tpub, scriptType: 'p2sh-p2wpkh' }).derive(0).address, /^Q/);
});

test('keys that cannot be used are refused with a reason', () => {
  const zpub = accountKey("m/84'/0'/0'", 0x04b24746);
  const xpub = accountKey("m/44'/0'/0'", 0x0488b21e);
  const xprv = bip32.fromSeed(seed).derivePath("m/44'/0'/0'").toBase58();
  assert.throws(() => createUtxoDeriver({ coin: 'btc', network: 'mainnet', xpub: xprv }), /PRIVATE key/);
  assert.throws(() => createUtxoDeriver({ coin: 'btc', network: 'testnet', xpub: zpub }), /for mainnet/);
  assert.throws(() => createUtxoDeriver({ coin: 'btc', network: 'mainnet', xpub }), /set scriptType/);
  assert.throws(() => createUtxoDeriver({ coin: 'btc', network: 'mainnet', xpub: zpub, scriptType: 'p2pkh' }), /for p2wpkh addresses/);
  assert.throws(() => createUtxoDeriver({ coin: 'btc', network: 'mainnet', xpub: accountKey("m/44'/2'/0'", 0x019da462) }), /for ltc/);
  assert.throws(() => createUtxoDeriver({ coin: 'btc', network: 'mainnet', xpub: `${zpub.slice(0, -1)}x` }), /not valid base58check/);
  assert.throws(() => createUtxoDeriver({ coin: 'btc', network: 'mainnet', xpub: zpub }).derive(2 ** 31), RangeError);
});
