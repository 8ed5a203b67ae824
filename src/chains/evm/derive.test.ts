import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HDNodeWallet } from 'ethers';
import { createEvmDeriver } from './derive.ts';

const MNEMONIC = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
const account = HDNodeWallet.fromPhrase(MNEMONIC, undefined, "m/44'/60'/0'");
const xpub = account.neuter().extendedKey;

test("createEvmDeriver() derives m/44'/60'/0'/0/i: the published address of the test mnemonic", () => {
  const deriver = createEvmDeriver({ xpub });
  // The well-known first address of "abandon … about" (MetaMask, ethers, Trezor test vectors).
  assert.equal(deriver.derive(0).address, '0x9858EfFD232B4033E47d90003D41EC34EcaEda94');
});

test('createEvmDeriver() gives the addresses ethers derives from the same mnemonic', () => {
  const deriver = createEvmDeriver({ xpub });
  for (const index of [0, 1, 2, 19, 1000, 2 ** 31 - 1]) {
    const expected = HDNodeWallet.fromPhrase(MNEMONIC, undefined, `m/44'/60'/0'/0/${index}`).address;
    const derived = deriver.derive(index);
    assert.equal(derived.address, expected, `index ${index}`);
    assert.equal(derived.index, index);
    assert.equal(Buffer.from(derived.key).toString('hex'), expected.slice(2).toLowerCase(), 'the key is the 20 address bytes');
  }
});

test('createEvmDeriver() refuses private keys, keys at another depth and garbage', () => {
  assert.throws(() => createEvmDeriver({ xpub: account.extendedKey }), /private/);
  const root = HDNodeWallet.fromPhrase(MNEMONIC, undefined, 'm');
  assert.throws(() => createEvmDeriver({ xpub: root.neuter().extendedKey }), /depth 0/);
  assert.throws(() => createEvmDeriver({ xpub: 'xpub-not-a-key' }), /not a valid/);
});

test('derive() refuses indexes outside the non-hardened range', () => {
  const deriver = createEvmDeriver({ xpub });
  assert.throws(() => deriver.derive(-1), RangeError);
  assert.throws(() => deriver.derive(2 ** 31), RangeError);
  assert.throws(() => deriver.derive(1.5), RangeError);
});
