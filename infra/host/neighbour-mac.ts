/**
 * The link-layer address the kernel's neighbour table holds for an IPv4
 * address, read from /proc/net/arp (this process's network namespace). A raw
 * IP socket never sees the Ethernet header, so this is the only cheap source
 * of a sender's MAC; a host that only multicasts to us has often no entry.
 * Called only for rate-limited reports, never per packet.
 */
import { readFileSync } from 'node:fs';

/** Pure: the MAC of `address` on `device` in /proc/net/arp's text, or null (incomplete entries included). */
export function macFromArpTable(text: string, address: string, device: string): string | null {
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // IP address, HW type, Flags, HW address, Mask, Device
    if (f.length < 6 || f[0] !== address || f[5] !== device) continue;
    const mac = f[3]!;
    return f[2] === '0x0' || mac === '00:00:00:00:00:00' ? null : mac;
  }
  return null;
}

export function neighbourMac(address: string, device: string, family: 4 | 6): string | null {
  if (family !== 4) return null;
  try {
    return macFromArpTable(readFileSync('/proc/net/arp', 'utf8'), address, device);
  } catch {
    return null;
  }
}
