import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/**
 * Which addresses a capability may connect to. By default only public ones: a tool's URL comes from
 * a file, but its host name resolves at call time and its redirects come from the remote server, so
 * a capability could otherwise be steered at the gateway's own machine or its private network
 * (SSRF). A file that means to call such an address says `allow_private_network: true`.
 * The check runs on the addresses the connection actually uses (the socket's lookup), so a name
 * that resolves differently between a check and the connect cannot slip through.
 */

const RANGES: [string, number, 'ipv4' | 'ipv6', string][] = [
  ['0.0.0.0', 8, 'ipv4', 'an unspecified ("this network") address'],
  ['127.0.0.0', 8, 'ipv4', 'a loopback address'],
  ['10.0.0.0', 8, 'ipv4', 'a private address'],
  ['172.16.0.0', 12, 'ipv4', 'a private address'],
  ['192.168.0.0', 16, 'ipv4', 'a private address'],
  ['100.64.0.0', 10, 'ipv4', 'a shared (carrier-grade NAT) address'],
  ['169.254.0.0', 16, 'ipv4', 'a link-local address'],
  ['::', 128, 'ipv6', 'the unspecified address'],
  ['::1', 128, 'ipv6', 'a loopback address'],
  ['fe80::', 10, 'ipv6', 'a link-local address'],
  ['fc00::', 7, 'ipv6', 'a unique-local (private) address'],
];

const blocks = RANGES.map(([network, prefix, family, what]) => {
  const list = new BlockList();
  list.addSubnet(network, prefix, family);
  return { list, family, what };
});

/** Why this address may not be called without allow_private_network, or undefined for a public address. */
export function privateAddressKind(address: string): string | undefined {
  const bare = address.replace(/^\[|\]$/g, '');
  const family = isIP(bare);
  if (family === 0) return undefined;
  // IPv4 written in IPv6 (::ffff:a.b.c.d, ::a.b.c.d, NAT64 64:ff9b::a.b.c.d) is judged as that IPv4 address.
  const embedded = family === 6 ? embeddedIpv4(bare) : undefined;
  if (embedded !== undefined) return privateAddressKind(embedded);
  const type = family === 4 ? 'ipv4' : 'ipv6';
  return blocks.find((b) => b.family === type && b.list.check(bare, type))?.what;
}

/** The IPv4 address inside an IPv4-mapped, IPv4-compatible or NAT64 IPv6 address. */
function embeddedIpv4(address: string): string | undefined {
  const groups = expandIpv6(address);
  if (!groups) return undefined;
  const high = groups.slice(0, 6);
  const mapped = high.slice(0, 5).every((g) => g === 0) && (high[5] === 0xffff || high[5] === 0);
  const nat64 = high[0] === 0x64 && high[1] === 0xff9b && high.slice(2).every((g) => g === 0);
  // ::/96 holds :: and ::1 themselves, judged as IPv6.
  if (high[5] === 0 && !nat64 && groups[6] === 0) return undefined;
  if (!mapped && !nat64) return undefined;
  return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.');
}

/** Eight 16-bit groups, or undefined if the text is not an IPv6 address. */
function expandIpv6(address: string): number[] | undefined {
  let text = address.toLowerCase().replace(/%.*$/, '');
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...Array<number>(Math.max(0, fill)).fill(0), ...tail];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

/** The connection was refused by the policy: nothing was sent. Not a fault of the remote server. */
export class BlockedAddressError extends Error {
  readonly code = 'ERR_PRIVATE_ADDRESS';
  constructor(host: string, address: string, kind: string) {
    const where = host === address ? `${address} is ${kind}` : `${host} resolves to ${address}, ${kind}`;
    super(`${where}; a capability may call it only if its file sets allow_private_network: true`);
    this.name = 'BlockedAddressError';
  }
}

/** Throws BlockedAddressError for a private address (an IP literal in a URL never reaches lookup). */
export function checkAddress(host: string, address: string): void {
  const kind = privateAddressKind(address);
  if (kind !== undefined) throw new BlockedAddressError(host, address, kind);
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A drop-in for dns.lookup as node:net calls it (one address, or all with `all: true`) that fails
 * when any resolved address is private: one bad address in a DNS answer refuses the host.
 */
export function guardedLookup(hostname: string, options: LookupOneOptions | LookupAllOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    for (const { address } of addresses) {
      const kind = privateAddressKind(address);
      if (kind !== undefined) return callback(new BlockedAddressError(hostname, address, kind) as NodeJS.ErrnoException, []);
    }
    if ((options as LookupAllOptions).all) return callback(null, addresses);
    const first = addresses[0]!;
    callback(null, first.address, first.family);
  });
}
