import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { TronWeb } from 'tronweb';
import {
  base58CheckDecode,
  isTronAddress,
  tronAddressFromBody,
  tronAddressFromHex,
  tronAddressToBody,
  tronAddressToBodyHex,
} from './address.ts';

const USDT = 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t';
const USDT_BODY = 'a614f803b6fd780986a42c78ec9c7f77e6ded13c';
// From the TronGrid page in the fixtures: owner_address 41 79309a… is TM1zz…x9R.
const FIXTURE_BODY = '79309abcff2cf531070ca9222a1f72c4a5136874';
const FIXTURE_ADDRESS = 'TM1zzNDZD2DPASbKcgdVoTYhfmYgtfwx9R';

test('tronAddressFromBody() prepends 41 to the 20-byte body before base58check', () => {
  assert.equal(tronAddressFromBody(Buffer.from(USDT_BODY, 'hex')), USDT);
  assert.equal(tronAddressFromBody(Buffer.from(FIXTURE_BODY, 'hex')), FIXTURE_ADDRESS);
  assert.equal(tronAddressToBodyHex(USDT), USDT_BODY);
});

test('a 20-byte log address through tronweb fromHex() is silently wrong; ours is right', () => {
  // The pitfall: logs and topics carry the body without 41, and fromHex encodes whatever it gets.
  const wrong = TronWeb.address.fromHex(USDT_BODY);
  assert.notEqual(wrong, USDT);
  assert.equal(isTronAddress(wrong), false, 'the wrong result is not even a TRON address (no 0x41 payload)');
  assert.equal(tronAddressFromHex(USDT_BODY), USDT);
  assert.equal(tronAddressFromHex(`41${USDT_BODY}`), USDT);
  assert.equal(TronWeb.address.fromHex(`41${USDT_BODY}`), USDT, 'with the prefix, tronweb agrees');
});

test('tronAddressFromHex() refuses lengths it cannot read without guessing', () => {
  assert.throws(() => tronAddressFromHex(`42${USDT_BODY}`), /TRON address in hex/);
  assert.throws(() => tronAddressFromHex(USDT_BODY.slice(2)), /TRON address in hex/);
  assert.throws(() => tronAddressFromBody(new Uint8Array(21)), /20 bytes/);
});

test('our base58check agrees with tronweb on random addresses, both ways', () => {
  for (let i = 0; i < 300; i += 1) {
    const body = randomBytes(20);
    if (i === 0) body.fill(0);
    const ours = tronAddressFromBody(body);
    assert.equal(ours, TronWeb.address.fromHex(`41${body.toString('hex')}`));
    assert.equal(Buffer.from(tronAddressToBody(ours) as Uint8Array).toString('hex'), body.toString('hex'));
    assert.equal(TronWeb.address.toHex(ours), `41${body.toString('hex')}`);
  }
});

test('tronAddressToBody() rejects bad checksums, other prefixes and non-base58 text', () => {
  const last = USDT.at(-1) === 'a' ? 'b' : 'a';
  assert.equal(tronAddressToBody(USDT.slice(0, -1) + last), undefined);
  assert.equal(tronAddressToBody('0OIl'), undefined);
  assert.equal(tronAddressToBody(''), undefined);
  // A valid base58check string of a Bitcoin address: right checksum, wrong prefix.
  assert.notEqual(base58CheckDecode('1BoatSLRHtKNngkdXEeobR76b53LETtpyT'), undefined);
  assert.equal(tronAddressToBody('1BoatSLRHtKNngkdXEeobR76b53LETtpyT'), undefined);
  assert.throws(() => tronAddressToBodyHex('TXYZ'), /not a TRON base58check address/);
});
