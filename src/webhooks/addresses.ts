// One classification of IP addresses, used for every address Settle would connect to on a
// merchant's behalf: a callback URL's host when the URL is accepted (API and CLI), and each
// address DNS returns at delivery, which is then the only address the connection may use.
//
// An address is public when it is globally reachable unicast: IPv4 outside every range of the
// IANA IPv4 Special-Purpose Address Registry (and multicast, 224.0.0.0/4), IPv6 inside global
// unicast 2000::/3 and outside every range of the IANA IPv6 Special-Purpose Address Registry.
// Every listed range is refused, even those the registry marks globally reachable (AS112, AMT,
// PCP/TURN anycast): no merchant receives webhooks there, and a shorter rule is easier to trust.
//
// IPv6 forms through which a connection reaches an IPv4 address are judged by that IPv4 address,
// so ::ffff:127.0.0.1 is loopback and ::ffff:8.8.8.8 is as public as 8.8.8.8: IPv4-mapped
// ::ffff:0:0/96 (the kernel connects over IPv4), NAT64 64:ff9b::/96 (a translator does) and 6to4
// 2002::/16 (a relay does). The deprecated IPv4-compatible ::/96 and IPv4-translated
// ::ffff:0:0:0/96 forms are refused whatever they carry, and so is Teredo (2001::/32), which hides
// its IPv4 address and lies inside 2001::/23.
//
// The parser is our own and exact: IPv4 only as four decimal parts without leading zeros (the
// WHATWG URL parser has already turned 0x7f.1, 2130706433 and 0177.0.0.1 into 127.0.0.1; where
// no URL parser ran, an ambiguous form is simply not an address), IPv6 in every RFC 4291 form,
// with an optional zone (%eth0), which does not change the class.

export type IpVersion = 4 | 6;

export interface AddressClass {
  version: IpVersion;
  /** Canonical text: dotted IPv4; lower-case, zero-compressed IPv6 (RFC 5952; mapped as ::ffff:a.b.c.d). */
  address: string;
  /** Undefined for a public address; otherwise the special-purpose range it lies in, for messages and logs. */
  range: string | undefined;
}

interface Range {
  bits: bigint;
  prefixLength: number;
  name: string;
}

// IANA IPv4 Special-Purpose Address Registry (as of 2025), plus multicast and the limited broadcast.
const IPV4_SPECIAL: ReadonlyArray<readonly [string, number, string]> = [
  ['0.0.0.0', 8, '0.0.0.0/8 "this network"'],
  ['10.0.0.0', 8, '10.0.0.0/8 private-use'],
  ['100.64.0.0', 10, '100.64.0.0/10 shared address space (CGNAT)'],
  ['127.0.0.0', 8, '127.0.0.0/8 loopback'],
  ['169.254.0.0', 16, '169.254.0.0/16 link-local'],
  ['172.16.0.0', 12, '172.16.0.0/12 private-use'],
  ['192.0.0.0', 24, '192.0.0.0/24 IETF protocol assignments'],
  ['192.0.2.0', 24, '192.0.2.0/24 documentation (TEST-NET-1)'],
  ['192.31.196.0', 24, '192.31.196.0/24 AS112-v4'],
  ['192.52.193.0', 24, '192.52.193.0/24 AMT'],
  ['192.88.99.0', 24, '192.88.99.0/24 deprecated 6to4 relay anycast'],
  ['192.168.0.0', 16, '192.168.0.0/16 private-use'],
  ['192.175.48.0', 24, '192.175.48.0/24 direct delegation AS112 service'],
  ['198.18.0.0', 15, '198.18.0.0/15 benchmarking'],
  ['198.51.100.0', 24, '198.51.100.0/24 documentation (TEST-NET-2)'],
  ['203.0.113.0', 24, '203.0.113.0/24 documentation (TEST-NET-3)'],
  ['224.0.0.0', 4, '224.0.0.0/4 multicast'],
  ['240.0.0.0', 4, '240.0.0.0/4 reserved'], // includes 255.255.255.255, the limited broadcast
];

// IANA IPv6 Special-Purpose Address Registry (as of 2025), plus multicast and deprecated site-local.
// The routed embedding prefixes (::ffff:0:0/96, 64:ff9b::/96, 2002::/16) are judged before this list.
const IPV6_SPECIAL: ReadonlyArray<readonly [string, number, string]> = [
  ['::', 96, '::/96 deprecated IPv4-compatible'],
  ['::ffff:0:0:0', 96, '::ffff:0:0:0/96 IPv4-translated'],
  ['64:ff9b:1::', 48, '64:ff9b:1::/48 local-use IPv4/IPv6 translation'],
  ['100::', 64, '100::/64 discard-only'],
  ['100:0:0:1::', 64, '100:0:0:1::/64 dummy prefix'],
  ['2001::', 32, '2001::/32 Teredo'],
  ['2001:2::', 48, '2001:2::/48 benchmarking'],
  ['2001:10::', 28, '2001:10::/28 deprecated ORCHID'],
  ['2001:20::', 28, '2001:20::/28 ORCHIDv2'],
  ['2001::', 23, '2001::/23 IETF protocol assignments'],
  ['2001:db8::', 32, '2001:db8::/32 documentation'],
  ['2620:4f:8000::', 48, '2620:4f:8000::/48 direct delegation AS112 service'],
  ['3fff::', 20, '3fff::/20 documentation'],
  ['5f00::', 16, '5f00::/16 segment routing (SRv6) SIDs'],
  ['fc00::', 7, 'fc00::/7 unique-local'],
  ['fe80::', 10, 'fe80::/10 link-local'],
  ['fec0::', 10, 'fec0::/10 deprecated site-local'],
  ['ff00::', 8, 'ff00::/8 multicast'],
];

const IPV4_RANGES = IPV4_SPECIAL.map(([text, prefixLength, name]) => range(parseIpv4(text), 32, prefixLength, name));
const IPV6_RANGES = IPV6_SPECIAL.map(([text, prefixLength, name]) => range(parseIpv6(text), 128, prefixLength, name));
const GLOBAL_UNICAST = range(parseIpv6('2000::'), 128, 3, '2000::/3 global unicast');

/** Classifies an IP address literal; undefined when `text` is not one (a host name, or garbage). */
export function classifyAddress(text: string): AddressClass | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { version: 4, address: formatIpv4(v4), range: ipv4Range(v4) };
  const v6 = parseIpv6(text);
  if (v6 === undefined) return undefined;
  return { version: 6, address: formatIpv6(v6), range: ipv6Range(v6) };
}

/** True when `text` is an IP literal of a globally reachable unicast address. */
export function isPublicAddress(text: string): boolean {
  const found = classifyAddress(text);
  return found !== undefined && found.range === undefined;
}

/** The canonical text of an IP literal (what Node reports as a peer's address), or undefined. */
export function canonicalAddress(text: string): string | undefined {
  return classifyAddress(text)?.address;
}

function ipv4Range(value: bigint): string | undefined {
  return IPV4_RANGES.find((r) => inRange(value, r, 32))?.name;
}

function ipv6Range(value: bigint): string | undefined {
  if (value === 0n) return '::/128 unspecified';
  if (value === 1n) return '::1/128 loopback';
  const embedded = embeddedIpv4(value);
  if (embedded !== undefined) {
    const inner = ipv4Range(embedded.ipv4);
    return inner === undefined ? undefined : `${embedded.form} of ${formatIpv4(embedded.ipv4)} (${inner})`;
  }
  const special = IPV6_RANGES.find((r) => inRange(value, r, 128));
  if (special !== undefined) return special.name;
  return inRange(value, GLOBAL_UNICAST, 128) ? undefined : 'outside 2000::/3 global unicast (reserved)';
}

/** The IPv4 address an IPv6 address carries in a form that routes to it, with the form's name. */
function embeddedIpv4(value: bigint): { ipv4: bigint; form: string } | undefined {
  const low32 = value & 0xffff_ffffn;
  const high96 = value >> 32n;
  if (high96 === 0xffffn) return { ipv4: low32, form: 'IPv4-mapped ::ffff:0:0/96' };
  if (high96 === 0x0064_ff9b_0000_0000_0000_0000n) return { ipv4: low32, form: 'NAT64 64:ff9b::/96' };
  if (value >> 112n === 0x2002n) return { ipv4: (value >> 80n) & 0xffff_ffffn, form: '6to4 2002::/16' };
  return undefined;
}

function range(bits: bigint | undefined, width: number, prefixLength: number, name: string): Range {
  if (bits === undefined || prefixLength < 0 || prefixLength > width) throw new Error(`bad special-purpose range ${name}`);
  return { bits: bits >> BigInt(width - prefixLength), prefixLength, name };
}

function inRange(value: bigint, r: Range, width: number): boolean {
  return value >> BigInt(width - r.prefixLength) === r.bits;
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    // Decimal only, no leading zero: "010" means 8 to some parsers and 10 to others.
    if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return undefined;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function parseIpv6(input: string): bigint | undefined {
  const zone = input.indexOf('%');
  if (zone === 0 || zone === input.length - 1) return undefined;
  const text = zone === -1 ? input : input.slice(0, zone);
  if (text.length > 45 || !/^[0-9A-Fa-f:.]+$/.test(text)) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = groupsOf(halves[0] as string, halves.length === 1 ? 'last' : 'inner');
  const tail = halves.length === 2 ? groupsOf(halves[1] as string, 'last') : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(group), 0n);
}

/** Hex groups of one side of "::"; a dotted IPv4 tail (two groups) is allowed only at the very end. */
function groupsOf(side: string, position: 'last' | 'inner'): number[] | undefined {
  if (side === '') return [];
  const parts = side.split(':');
  const groups: number[] = [];
  for (const [i, part] of parts.entries()) {
    if (part.includes('.')) {
      const v4 = position === 'last' && i === parts.length - 1 ? parseIpv4(part) : undefined;
      if (v4 === undefined) return undefined;
      groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
    } else if (/^[0-9A-Fa-f]{1,4}$/.test(part)) {
      groups.push(parseInt(part, 16));
    } else {
      return undefined;
    }
  }
  return groups;
}

function formatIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
}

function formatIpv6(value: bigint): string {
  if (value >> 32n === 0xffffn) return `::ffff:${formatIpv4(value & 0xffff_ffffn)}`;
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((shift) => Number((value >> shift) & 0xffffn));
  // RFC 5952: compress the longest run of two or more zero groups, the first one on a tie.
  let best = { start: -1, length: 1 };
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.start === -1) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.length).join(':')}`;
}
