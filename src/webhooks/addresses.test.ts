import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalAddress, classifyAddress, isPublicAddress } from './addresses.ts';

// One address (at least) inside every IPv4 range refused, with its edges where they matter.
const SPECIAL_IPV4 = [
  '0.0.0.0', '0.255.255.255', '10.0.0.1', '10.255.255.255', '100.64.0.1', '100.127.255.255', '127.0.0.1', '127.255.255.254',
  '169.254.169.254', '172.16.0.1', '172.31.255.255', '192.0.0.1', '192.0.0.9', '192.0.0.170', '192.0.2.1', '192.31.196.1',
  '192.52.193.1', '192.88.99.1', '192.168.1.1', '192.175.48.1', '198.18.0.1', '198.19.255.255', '198.51.100.7', '203.0.113.7',
  '224.0.0.1', '239.255.255.250', '240.0.0.1', '255.255.255.255',
];

const SPECIAL_IPV6 = [
  '::', '::1', '0:0:0:0:0:0:0:1', 'fc00::1', 'fd12:3456::1', 'fe80::1', 'fe80::1%eth0', 'febf::1', 'fec0::1', 'ff02::1', 'ff0e::1',
  '100::1', '100::ffff:ffff:ffff:ffff', '100:0:0:1::1', '2001::1', '2001:0:4136:e378:8000:63bf:3fff:fdd2', '2001:1::1', '2001:2::1',
  '2001:3::1', '2001:4:112::1', '2001:10::1', '2001:20::1', '2001:30::1', '2001:1ff::1', '2001:db8::1', '2001:db8:ffff::1',
  '2620:4f:8000::1', '3fff::1', '3fff:fff::1', '5f00::1', '64:ff9b:1::1', '1::', '4000::1', 'e000::1',
  // IPv4 inside IPv6: mapped (every spelling), NAT64, 6to4, and the deprecated forms whatever they carry.
  '::ffff:127.0.0.1', '::ffff:7f00:1', '0:0:0:0:0:ffff:7f00:1', '::FFFF:7F00:0001', '::ffff:169.254.169.254', '::ffff:10.0.0.1',
  '::ffff:192.168.0.1', '::ffff:0.0.0.0', '::ffff:100.64.0.1', '::ffff:198.18.0.1', '64:ff9b::7f00:1', '64:ff9b::127.0.0.1',
  '64:ff9b::a9fe:a9fe', '2002:7f00:1::', '2002:a00:1::1', '2002:c0a8:101::', '::127.0.0.1', '::8.8.8.8', '::ffff:0:8.8.8.8',
];

const PUBLIC = [
  '8.8.8.8', '1.1.1.1', '172.32.0.1', '172.15.255.255', '100.128.0.1', '100.63.255.255', '192.0.3.1', '192.169.0.1', '198.20.0.1',
  '223.255.255.255', '9.255.255.255', '11.0.0.0', '2606:4700::1', '2606:4700:4700::1111', '2001:4860:4860::8888',
  '2a00:1450:4001:800::200e', '2001:200::1', '2001:db9::1', '3fff:1000::1', '2c0f:fb50::1',
  // Decided: an IPv4-mapped, NAT64 or 6to4 address is judged by the IPv4 address it reaches.
  '::ffff:8.8.8.8', '::ffff:808:808', '64:ff9b::8.8.8.8', '2002:808:808::1',
];

test('classifyAddress() refuses every IANA special-purpose IPv4 range, multicast and broadcast', () => {
  for (const address of SPECIAL_IPV4) {
    const found = classifyAddress(address);
    assert.equal(found?.version, 4, address);
    assert.notEqual(found?.range, undefined, `${address} must be special`);
  }
});

test('classifyAddress() refuses special IPv6 ranges, and IPv6 forms that carry a special IPv4 address', () => {
  for (const address of SPECIAL_IPV6) {
    const found = classifyAddress(address);
    assert.equal(found?.version, 6, address);
    assert.notEqual(found?.range, undefined, `${address} must be special`);
  }
  assert.match(classifyAddress('::ffff:7f00:1')?.range ?? '', /IPv4-mapped .* 127\.0\.0\.1 .*loopback/);
  assert.match(classifyAddress('2002:7f00:1::')?.range ?? '', /6to4 .* 127\.0\.0\.1/);
  assert.match(classifyAddress('64:ff9b::7f00:1')?.range ?? '', /NAT64 .* 127\.0\.0\.1/);
});

test('classifyAddress() passes globally reachable unicast addresses', () => {
  for (const address of PUBLIC) {
    assert.equal(classifyAddress(address)?.range, undefined, `${address} must be public`);
    assert.equal(isPublicAddress(address), true, address);
  }
});

test('only exact IP literals are addresses: names, ambiguous IPv4 forms and malformed IPv6 are not', () => {
  for (const text of ['', 'localhost', 'example.com', '127.1', '0x7f.0.0.1', '0177.0.0.1', '2130706433', '127.0.0.01', '256.0.0.1',
    '1.2.3.4.', '1.2.3', '[::1]', ':::', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', ':1:2:3:4:5:6:7', '1:2:3:4:5:6:7:',
    '12345::', 'g::1', '1.2.3.4::', '::1.2.3.4:5', '1:2:3:4:5:6:7:1.2.3.4', '%eth0', '::1%', ' 8.8.8.8']) {
    assert.equal(classifyAddress(text), undefined, JSON.stringify(text));
    assert.equal(isPublicAddress(text), false, JSON.stringify(text));
  }
});

test('canonicalAddress() gives the form Node reports for a peer', () => {
  assert.equal(canonicalAddress('2001:DB8:0:0:0:0:0:7'), '2001:db8::7');
  assert.equal(canonicalAddress('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
  assert.equal(canonicalAddress('2001:0db8:0000:0001:0000:0000:0000:0001'), '2001:db8:0:1::1');
  assert.equal(canonicalAddress('1:2:3:4:5:6:7:8'), '1:2:3:4:5:6:7:8');
  assert.equal(canonicalAddress('0:0:0:0:0:ffff:7f00:1'), '::ffff:127.0.0.1');
  assert.equal(canonicalAddress('::'), '::');
  assert.equal(canonicalAddress('fe80::1%eth0'), 'fe80::1');
  assert.equal(canonicalAddress('203.0.113.7'), '203.0.113.7');
});
