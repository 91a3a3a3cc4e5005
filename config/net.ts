/**
 * Address parsing for configuration values. Pure: node:net's isIP only.
 * keepalived accepts an address optionally followed by /prefix; IPv6 may
 * carry a zone only where the kernel would (link-local), which the loader
 * reports itself, so here a zone is simply rejected.
 */
import { isIPv4, isIPv6 } from 'node:net';

export type Family = 4 | 6;

export interface Cidr {
  address: string;
  family: Family;
  /** undefined when the text had no /prefix */
  prefix?: number;
}

export function ipFamily(text: string): Family | undefined {
  if (isIPv4(text)) return 4;
  if (isIPv6(text) && !text.includes('%')) return 6;
  return undefined;
}

/** Parses `ADDR` or `ADDR/PREFIX`; undefined on any malformation. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const family = ipFamily(addr);
  if (family === undefined) return undefined;
  if (slash < 0) return { address: addr, family };
  const p = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(p)) return undefined;
  const prefix = Number(p);
  if (prefix > (family === 4 ? 32 : 128)) return undefined;
  return { address: addr, family, prefix };
}

function v4ToBigInt(a: string): bigint {
  return a.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
}

function v6ToBigInt(a: string): bigint {
  let text = a;
  // An embedded dotted quad (::ffff:1.2.3.4) becomes two hex groups.
  const dot = text.lastIndexOf('.');
  if (dot >= 0) {
    const colon = text.lastIndexOf(':');
    const v4 = v4ToBigInt(text.slice(colon + 1));
    text = `${text.slice(0, colon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** The address as an integer (for subnet and range arithmetic). */
export function addressToBigInt(address: string, family: Family): bigint {
  return family === 4 ? v4ToBigInt(address) : v6ToBigInt(address);
}

/** True when `address` lies inside `net` (same family, prefix bits equal). */
export function inSubnet(address: string, net: Cidr): boolean {
  const fam = ipFamily(address);
  if (fam === undefined || fam !== net.family) return false;
  const bits = fam === 4 ? 32 : 128;
  const prefix = net.prefix ?? bits;
  const shift = BigInt(bits - prefix);
  return addressToBigInt(address, fam) >> shift === addressToBigInt(net.address, fam) >> shift;
}
