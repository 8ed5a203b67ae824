import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCallbackUrl, guardedLookup, isPrivateAddress } from './ssrf.ts';
import { signatureHeader, verifySignature } from './signature.ts';

test('private, loopback, link-local and CGNAT addresses are recognised, in IPv4, IPv6 and mapped forms', () => {
  for (const address of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fc00::1', 'fd12:3456::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '224.0.0.1']) {
    assert.equal(isPrivateAddress(address), true, address);
  }
  for (const address of ['8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:1.1.1.1']) {
    assert.equal(isPrivateAddress(address), false, address);
  }
});

test('callback URLs must be http(s), without credentials, and not private unless allowed', () => {
  assert.equal(checkCallbackUrl('https://shop.example/hooks', false), undefined);
  assert.equal(checkCallbackUrl('http://203.0.113.9:8080/x', false), undefined);
  assert.equal(checkCallbackUrl('ftp://shop.example/', false), 'scheme_not_allowed');
  assert.equal(checkCallbackUrl('javascript:alert(1)', false), 'scheme_not_allowed');
  assert.equal(checkCallbackUrl('not a url', false), 'not_a_url');
  assert.equal(checkCallbackUrl('https://user:pass@shop.example/', false), 'credentials_not_allowed');
  assert.equal(checkCallbackUrl('http://127.0.0.1:9000/', false), 'private_address');
  assert.equal(checkCallbackUrl('http://localhost/', false), 'private_address');
  assert.equal(checkCallbackUrl('http://[::1]/', false), 'private_address');
  assert.equal(checkCallbackUrl('http://169.254.169.254/latest/meta-data', false), 'private_address');
  assert.equal(checkCallbackUrl('http://127.0.0.1:9000/', true), undefined);
});

test('at delivery, a name resolving only to private addresses is refused', async () => {
  const lookup = guardedLookup(false);
  const error = await new Promise<Error | null>((resolve) => lookup('localhost', {}, (err) => resolve(err)));
  assert.match(error?.message ?? '', /resolves only to private addresses/);
  const allowed = await new Promise<string | undefined>((resolve) => guardedLookup(true)('localhost', {}, (err, address) => resolve(err === null ? String(address) : undefined)));
  assert.ok(allowed === '127.0.0.1' || allowed === '::1');
});

test('the webhook signature verifies over the exact body and a recent timestamp only', () => {
  const body = '{"id":"e1","type":"invoice.paid"}';
  const header = signatureHeader('whsec_test', body, 1_800_000_000);
  assert.match(header, /^t=1800000000,v1=[0-9a-f]{64}$/);
  assert.equal(verifySignature('whsec_test', body, header, 1_800_000_010), true);
  assert.equal(verifySignature('whsec_other', body, header, 1_800_000_010), false);
  assert.equal(verifySignature('whsec_test', `${body} `, header, 1_800_000_010), false);
  assert.equal(verifySignature('whsec_test', body, header, 1_800_001_000), false, 'too old');
  assert.equal(verifySignature('whsec_test', body, 'garbage', 1_800_000_010), false);
});
