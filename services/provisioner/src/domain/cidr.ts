/** IP addresses and CIDRs as numbers, for the network checks of a cluster request. Pure. */

export type IpFamily = 4 | 6;

export interface Cidr {
  family: IpFamily;
  /** The address as written (host bits included). */
  address: bigint;
  prefix: number;
  text: string;
}

const BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };

export function parseIp(text: string): { family: IpFamily; value: bigint } | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = parseIpv6(text);
  return v6 === undefined ? undefined : { family: 6, value: v6 };
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    // No leading zeros: "010" is octal to some tools and decimal to others.
    if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return undefined;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function parseIpv6(text: string): bigint | undefined {
  if (text.length === 0 || text.length > 45) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (half: string | undefined): number[] | undefined => {
    if (half === undefined || half === '') return [];
    const groups: number[] = [];
    const parts = half.split(':');
    for (const [index, part] of parts.entries()) {
      // An embedded IPv4 address may end the address (::ffff:10.0.0.1).
      if (index === parts.length - 1 && part.includes('.')) {
        const v4 = parseIpv4(part);
        if (v4 === undefined) return undefined;
        groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return undefined;
      groups.push(parseInt(part, 16));
    }
    return groups;
  };
  const head = groupsOf(halves[0]);
  const tail = groupsOf(halves[1]);
  if (!head || !tail) return undefined;
  // An embedded IPv4 address may only end the address.
  if (halves.length === 2 && halves[0]?.includes('.')) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...new Array<number>(halves.length === 1 ? 0 : missing).fill(0), ...tail];
  return groups.reduce((value, group) => (value << 16n) | BigInt(group), 0n);
}

export type CidrParseResult = { ok: true; cidr: Cidr } | { ok: false; problem: string };

export function parseCidr(text: string): CidrParseResult {
  const match = /^([^/\s]+)\/(\d{1,3})$/.exec(text.trim());
  if (!match) return { ok: false, problem: `"${text}" is not a CIDR (address/prefix, e.g. 10.244.0.0/16)` };
  const ip = parseIp(match[1]!);
  if (!ip) return { ok: false, problem: `"${match[1]}" is not an IPv4 or IPv6 address` };
  const prefix = Number(match[2]);
  if (prefix > BITS[ip.family]) return { ok: false, problem: `prefix /${prefix} is longer than an IPv${ip.family} address (${BITS[ip.family]} bits)` };
  return { ok: true, cidr: { family: ip.family, address: ip.value, prefix, text } };
}

function hostMask(cidr: Pick<Cidr, 'family' | 'prefix'>): bigint {
  return (1n << BigInt(BITS[cidr.family] - cidr.prefix)) - 1n;
}

export function networkOf(cidr: Cidr): bigint {
  return cidr.address & ~hostMask(cidr);
}

export function hasHostBits(cidr: Cidr): boolean {
  return (cidr.address & hostMask(cidr)) !== 0n;
}

/** The CIDR written with its host bits cleared, e.g. 10.244.1.0/16 -> 10.244.0.0/16. */
export function canonical(cidr: Cidr): string {
  return `${formatIp(cidr.family, networkOf(cidr))}/${cidr.prefix}`;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const shorter = Math.min(a.prefix, b.prefix);
  const shift = BigInt(BITS[a.family] - shorter);
  return a.address >> shift === b.address >> shift;
}

export function contains(cidr: Cidr, ip: { family: IpFamily; value: bigint }): boolean {
  if (cidr.family !== ip.family) return false;
  const shift = BigInt(BITS[cidr.family] - cidr.prefix);
  return cidr.address >> shift === ip.value >> shift;
}

/** How many ranges of `/size` fit in the CIDR (0 when `size` is shorter than its prefix). */
export function subnetCount(cidr: Cidr, size: number): bigint {
  return size < cidr.prefix ? 0n : 1n << BigInt(size - cidr.prefix);
}

export function formatIp(family: IpFamily, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, index) => Number((value >> BigInt(112 - index * 16)) & 0xffffn));
  // RFC 5952: compress the longest run of two or more zero groups.
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8; ) {
    if (groups[start] !== 0) {
      start += 1;
      continue;
    }
    let end = start;
    while (end < 8 && groups[end] === 0) end += 1;
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
