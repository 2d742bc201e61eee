import net from 'node:net';

/**
 * Addresses a remote origin may not resolve to unless it is named in ORIGINS_ALLOW_PRIVATE:
 * everything that reaches this host, its network or its cloud's metadata service instead of
 * the public internet. IPv4-mapped and NAT64 IPv6 forms are judged by the IPv4 they carry.
 */
const v4 = new net.BlockList();
for (const [net4, prefix] of [
  ['0.0.0.0', 8], // "this network", 0.0.0.0 reaches localhost on Linux
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT (carrier and some cloud VPCs)
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local: cloud metadata (169.254.169.254)
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and 255.255.255.255 broadcast
] as const)
  v4.addSubnet(net4, prefix, 'ipv4');

const v6 = new net.BlockList();
v6.addAddress('::', 'ipv6'); // unspecified
v6.addAddress('::1', 'ipv6'); // loopback
for (const [net6, prefix] of [
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated, still routed by some stacks)
  ['ff00::', 8], // multicast
] as const)
  v6.addSubnet(net6, prefix, 'ipv6');

/** True when `address` (an IP literal, as a resolver or a socket reports it) is not a public unicast address. */
export function isPrivateAddress(address: string): boolean {
  const ip = address.replace(/^\[|\]$/g, '').replace(/%.*$/, ''); // brackets, zone id (fe80::1%eth0)
  const family = net.isIP(ip);
  if (family === 4) return v4.check(ip, 'ipv4');
  if (family !== 6) return true; // not an address at all: never connect to it
  const embedded = embeddedIpv4(ip);
  if (embedded !== undefined) return embedded === null || v4.check(embedded, 'ipv4');
  return v6.check(ip, 'ipv6');
}

/**
 * The IPv4 inside ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible) and 64:ff9b::a.b.c.d (NAT64);
 * undefined for other IPv6 addresses, null when the form is one of those but unreadable.
 */
function embeddedIpv4(ip: string): string | null | undefined {
  const groups = expandIpv6(ip);
  if (!groups) return null;
  const zero = (from: number, to: number) => groups.slice(from, to).every((g) => g === 0);
  const mapped = zero(0, 5) && groups[5] === 0xffff;
  const compatible = zero(0, 6) && (groups[6] !== 0 || groups[7] > 1); // not :: or ::1
  const nat64 = groups[0] === 0x64 && groups[1] === 0xff9b && zero(2, 6);
  if (!mapped && !compatible && !nat64) return undefined;
  return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join('.');
}

/** Eight 16-bit groups of a valid IPv6 literal (with :: and a dotted IPv4 tail expanded). */
function expandIpv6(ip: string): number[] | null {
  let text = ip.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const b = dotted[1].split('.').map(Number);
    text = `${text.slice(0, -dotted[1].length)}${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const part = (s: string | undefined) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const h = part(head);
  const t = part(tail);
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill(0), ...t];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}
