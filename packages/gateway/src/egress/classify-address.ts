import { BlockList, isIP } from 'node:net';

/**
 * What kind of address an IP is, for the egress policy. Everything but `public` is refused
 * unless the operator allow-lists it.
 */
export type AddressClass =
  | 'public'
  | 'private'
  | 'loopback'
  | 'link_local'
  | 'metadata'
  | 'unspecified'
  | 'reserved';

type Range = readonly [network: string, prefix: number, cls: Exclude<AddressClass, 'public'>];

// Order matters: the first matching range names the class (metadata before link-local / ULA).
// Sources: RFC 6890 (special-purpose registries), cloud metadata docs (AWS IMDS 169.254.169.254
// and fd00:ec2::254, https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html).
const IPV4_RANGES: readonly Range[] = [
  ['169.254.169.254', 32, 'metadata'],
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'private'], // carrier-grade NAT; Alibaba's metadata 100.100.100.200 lives here
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link_local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'],
  ['192.0.2.0', 24, 'reserved'],
  ['192.88.99.0', 24, 'reserved'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'reserved'],
  ['198.51.100.0', 24, 'reserved'],
  ['203.0.113.0', 24, 'reserved'],
  ['224.0.0.0', 4, 'reserved'], // multicast
  ['240.0.0.0', 4, 'reserved'], // includes 255.255.255.255
];

const IPV6_RANGES: readonly Range[] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['fd00:ec2::254', 128, 'metadata'],
  ['fc00::', 7, 'private'], // unique local
  ['fe80::', 10, 'link_local'],
  ['fec0::', 10, 'private'], // deprecated site-local
  ['ff00::', 8, 'reserved'], // multicast
  ['100::', 64, 'reserved'], // discard-only
  ['2001::', 32, 'reserved'], // Teredo: hides an IPv4 address we would have to decode
  ['2001:db8::', 32, 'reserved'], // documentation
  ['64:ff9b:1::', 48, 'reserved'], // local-use NAT64
];

const lists = new Map<Exclude<AddressClass, 'public'>, BlockList>();
for (const [network, prefix, cls] of [...IPV4_RANGES, ...IPV6_RANGES]) {
  let list = lists.get(cls);
  if (!list) {
    list = new BlockList();
    lists.set(cls, list);
  }
  list.addSubnet(network, prefix, isIP(network) === 6 ? 'ipv6' : 'ipv4');
}
const ORDER = [...new Set([...IPV4_RANGES, ...IPV6_RANGES].map(([, , cls]) => cls))];

/**
 * Classifies an IP address (v4 or v6, canonical or not). IPv6 forms that carry an IPv4 address —
 * IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96` and 6to4
 * `2002::/16` — are judged by the IPv4 address inside, so `::ffff:127.0.0.1` is loopback.
 * A string that is not an IP address is `reserved` (refused).
 */
export function classifyAddress(address: string): AddressClass {
  const ip = stripZone(address);
  const family = isIP(ip);
  if (family === 4) return classifyIn(ip, 'ipv4');
  if (family !== 6) return 'reserved';
  const bytes = ipv6Bytes(ip);
  if (!bytes) return 'reserved';
  const embedded = embeddedIPv4(bytes);
  if (embedded !== undefined) return classifyIn(embedded, 'ipv4');
  return classifyIn(ip, 'ipv6');
}

function classifyIn(ip: string, family: 'ipv4' | 'ipv6'): AddressClass {
  for (const cls of ORDER) if (lists.get(cls)?.check(ip, family)) return cls;
  return 'public';
}

function stripZone(address: string): string {
  const unbracketed = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const zone = unbracketed.indexOf('%');
  return zone === -1 ? unbracketed : unbracketed.slice(0, zone);
}

/** The IPv4 address an IPv6 address stands for, when it is one of the embedding forms. */
function embeddedIPv4(b: Uint8Array): string | undefined {
  const zeros = (from: number, to: number) => b.subarray(from, to).every((x) => x === 0);
  const v4 = (at: number) => `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
  // ::ffff:a.b.c.d (mapped)
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return v4(12);
  // ::a.b.c.d (compatible, deprecated) — but not :: and ::1 themselves
  if (zeros(0, 12) && !(zeros(12, 15) && (b[15] === 0 || b[15] === 1))) return v4(12);
  // 64:ff9b::/96 (well-known NAT64 prefix)
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12)) return v4(12);
  // 2002:aabb:ccdd::/48 (6to4)
  if (b[0] === 0x20 && b[1] === 0x02) return v4(2);
  return undefined;
}

/** The 16 bytes of an IPv6 address (with `::` and a trailing dotted IPv4 part expanded). */
export function ipv6Bytes(ip: string): Uint8Array | undefined {
  let text = ip.toLowerCase();
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    const parts = text
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
    tail.push(...parts);
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  const bytes = new Uint8Array(16);
  for (const [i, group] of all.entries()) {
    if (!/^[0-9a-f]{1,4}$/.test(group)) return undefined;
    const value = Number.parseInt(group, 16);
    bytes[i * 2] = value >> 8;
    bytes[i * 2 + 1] = value & 0xff;
  }
  if (tail.length === 4) bytes.set(tail, 12);
  return bytes;
}
