import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { CallbackUrl, checkCallbackUrl, pinnedLookup, resolveTarget, type Resolve } from './ssrf.ts';
import { signatureHeader, verifySignature } from './signature.ts';

// Every way the issue (and the URL parser) lets a special-purpose host be written.
const REFUSED_URLS = [
  'http://127.0.0.1:9000/', 'http://localhost/', 'http://LOCALHOST:80/', 'http://localhost./x', 'http://foo.localhost/',
  'http://foo.localhost./', 'http://printer.local/', 'http://metadata.google.internal/', 'http://nas.home.arpa/',
  'http://[::1]/', 'http://[::]/', 'http://0.0.0.0/', 'http://0/', 'http://169.254.169.254/latest/meta-data',
  'http://[::ffff:127.0.0.1]:8080/x', 'http://[0:0:0:0:0:ffff:7f00:1]:8080/x', 'http://[::ffff:169.254.169.254]/',
  'http://[::ffff:10.0.0.1]/', 'http://[64:ff9b::7f00:1]/', 'http://[64:ff9b::127.0.0.1]/', 'http://[2002:7f00:1::]/',
  'http://[::127.0.0.1]/', 'http://[fe80::1]/', 'http://[fd00::1]/', 'http://[2001:db8::1]/', 'http://[2001::1]/',
  'http://192.0.0.1/', 'http://198.18.0.1/', 'http://203.0.113.9:8080/x', 'http://100.64.0.1/', 'http://224.0.0.1/',
  'http://255.255.255.255/', 'http://10.0.0.1/', 'http://172.16.0.1/', 'http://192.168.0.1/',
  // IPv4 forms the URL parser turns into 127.0.0.1 / 10.0.0.1 before we look.
  'http://2130706433/', 'http://0x7f000001/', 'http://0x7f.0.0.1/', 'http://0177.0.0.1/', 'http://127.1/', 'http://127.0.0.1./',
  'http://%31%32%37.0.0.1/', 'http://012.0.0.1/', 'https://127.0.0.1:443/',
];

const ACCEPTED_URLS = [
  'https://shop.example/hooks', 'http://8.8.8.8:8080/x', 'https://[2606:4700::1]/hooks', 'https://[::ffff:8.8.8.8]/x',
  'https://hooks.shop.example./x', 'https://localhost.shop.example/', 'https://notlocalhost/',
];

test('callback URLs that reach a special-purpose address, in any spelling, are refused', () => {
  for (const url of REFUSED_URLS) assert.equal(checkCallbackUrl(url, false), 'private_address', url);
});

test('callback URLs on public addresses and names pass; allowPrivateAddresses lets the private ones through', () => {
  for (const url of ACCEPTED_URLS) assert.equal(checkCallbackUrl(url, false), undefined, url);
  for (const url of REFUSED_URLS) assert.equal(checkCallbackUrl(url, true), undefined, url);
});

test('callback URLs must be http(s), without credentials or control characters', () => {
  assert.equal(checkCallbackUrl('ftp://shop.example/', false), 'scheme_not_allowed');
  assert.equal(checkCallbackUrl('javascript:alert(1)', true), 'scheme_not_allowed');
  assert.equal(checkCallbackUrl('file:///etc/passwd', true), 'scheme_not_allowed');
  assert.equal(checkCallbackUrl('not a url', false), 'not_a_url');
  assert.equal(checkCallbackUrl('https://shop.example/\u0000', true), 'not_a_url');
  assert.equal(checkCallbackUrl('https://shop.exa\tmple/', true), 'not_a_url');
  assert.equal(checkCallbackUrl('https://user:pass@shop.example/', false), 'credentials_not_allowed');
  assert.equal(CallbackUrl.safeParse('javascript:alert(1)').success, false);
  assert.equal(CallbackUrl.safeParse(`https://shop.example/${'x'.repeat(2000)}`).success, false);
  assert.equal(CallbackUrl.safeParse('https://shop.example/hooks').success, true);
});

function resolverOf(answers: LookupAddress[][]): Resolve & { calls: number } {
  const resolve = Object.assign(async () => {
    const answer = answers[Math.min(resolve.calls, answers.length - 1)] as LookupAddress[];
    resolve.calls += 1;
    return answer;
  }, { calls: 0 });
  return resolve;
}

test('at delivery, a name is resolved once and refused when any of its addresses is special', async () => {
  const mixed = resolverOf([[{ address: '8.8.8.8', family: 4 }, { address: '::ffff:127.0.0.1', family: 6 }]]);
  const outcome = await resolveTarget(new URL('https://hooks.shop.example/x'), false, mixed, 1_000);
  assert.equal(outcome.ok, false);
  assert.equal(!outcome.ok && outcome.error, 'blocked_address');
  assert.equal(mixed.calls, 1);

  const publicOnly = resolverOf([[{ address: '2606:4700::1', family: 6 }, { address: '8.8.8.8', family: 4 }]]);
  const allowed = await resolveTarget(new URL('https://hooks.shop.example/x'), false, publicOnly, 1_000);
  assert.deepEqual(allowed.ok && allowed.addresses.map((a) => a.address), ['2606:4700::1', '8.8.8.8']);
  assert.equal(publicOnly.calls, 1);
});

test('at delivery, IP literals are checked without DNS, and local names are refused before it', async () => {
  const resolve = resolverOf([[{ address: '8.8.8.8', family: 4 }]]);
  for (const url of ['http://127.0.0.1:9/', 'http://[::ffff:7f00:1]:9/', 'http://[2002:7f00:1::]/', 'http://localhost./', 'http://a.localhost/']) {
    const outcome = await resolveTarget(new URL(url), false, resolve, 1_000);
    assert.equal(!outcome.ok && outcome.error, 'blocked_address', url);
  }
  assert.equal(resolve.calls, 0);
  const literal = await resolveTarget(new URL('http://[::ffff:7f00:1]:9/'), true, resolve, 1_000);
  assert.deepEqual(literal.ok && literal.addresses, [{ address: '::ffff:127.0.0.1', family: 6 }]);
});

test('at delivery, a resolver that fails or never answers is a dns_error or a timeout', async () => {
  const failing: Resolve = async () => Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.example'), { code: 'ENOTFOUND' }));
  const failed = await resolveTarget(new URL('https://nowhere.example/'), false, failing, 1_000);
  assert.equal(!failed.ok && failed.error, 'dns_error');
  const silent: Resolve = () => new Promise(() => {});
  const stuck = await resolveTarget(new URL('https://slow.example/'), false, silent, 50);
  assert.equal(!stuck.ok && stuck.error, 'timeout');
});

test('pinnedLookup() answers only with the checked addresses, in the shape node:net asks for', async () => {
  const lookup = pinnedLookup([{ address: '2606:4700::1', family: 6 }, { address: '8.8.8.8', family: 4 }]);
  const ask = (options: { all?: boolean; family?: number }) => new Promise<unknown[]>((resolve) => lookup('any.example', options, (...args) => resolve(args)));
  assert.deepEqual(await ask({ all: true }), [null, [{ address: '2606:4700::1', family: 6 }, { address: '8.8.8.8', family: 4 }]]);
  assert.deepEqual(await ask({}), [null, '2606:4700::1', 6]);
  assert.deepEqual(await ask({ family: 4 }), [null, '8.8.8.8', 4]);
  const none = await new Promise<unknown[]>((resolve) => pinnedLookup([{ address: '8.8.8.8', family: 4 }])('x', { family: 6 }, (...args) => resolve(args)));
  assert.equal((none[0] as NodeJS.ErrnoException).code, 'ENOTFOUND');
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
