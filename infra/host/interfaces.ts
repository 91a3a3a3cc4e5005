/**
 * Facts about the host the daemon runs on: its interfaces and addresses,
 * link state, and whether the process holds the capabilities it needs.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import type { HostInterface, HostInterfaces } from './types.js';

/** The interfaces of the current network namespace, with their addresses. */
export function readHostInterfaces(): HostInterfaces {
  const out = new Map<string, HostInterface>();
  for (const [name, list] of Object.entries(networkInterfaces())) {
    out.set(name, {
      name,
      up: linkUp(name) ?? false,
      addresses: (list ?? []).map((a) => ({
        address: a.address.replace(/%.*$/, ''),
        family: a.family === 'IPv6' ? (6 as const) : (4 as const),
        prefix: Number(a.cidr?.split('/')[1] ?? (a.family === 'IPv6' ? 128 : 32)),
      })),
    });
  }
  // os.networkInterfaces() lists only interfaces with an address; an
  // unnumbered interface can still carry VRRP in unicast-less setups, so
  // add the rest from sysfs with no addresses.
  try {
    for (const name of readdirSafe('/sys/class/net')) if (!out.has(name)) out.set(name, { name, up: linkUp(name) ?? false, addresses: [] });
  } catch {
    /* no sysfs: keep what os reported */
  }
  // libuv (os.networkInterfaces) skips interfaces that are not up and
  // running, so a link without carrier at start looked unnumbered and its
  // instances could not be planned; keepalived starts them in FAULT instead.
  // Ask the kernel through iproute2 for those (start and reload only).
  const unnumbered = [...out.values()].filter((i) => i.addresses.length === 0);
  if (unnumbered.length > 0) {
    const fromIp = addressesFromIp();
    for (const iface of unnumbered) {
      const found = fromIp.get(iface.name);
      if (found) out.set(iface.name, { ...iface, addresses: found });
    }
  }
  return out;
}

/** Every interface's addresses from `ip -j addr show`; empty when iproute2 is missing or fails. */
function addressesFromIp(): Map<string, HostInterface['addresses']> {
  const out = new Map<string, HostInterface['addresses']>();
  try {
    const text = execFileSync('ip', ['-j', 'addr', 'show'], { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] });
    const parsed = JSON.parse(text || '[]') as { ifname?: string; addr_info?: { family?: string; local?: string; prefixlen?: number }[] }[];
    for (const link of parsed) {
      if (!link.ifname) continue;
      out.set(
        link.ifname,
        (link.addr_info ?? [])
          .filter((a) => (a.family === 'inet' || a.family === 'inet6') && typeof a.local === 'string')
          .map((a) => ({
            address: a.local!,
            family: a.family === 'inet6' ? (6 as const) : (4 as const),
            prefix: a.prefixlen ?? (a.family === 'inet6' ? 128 : 32),
          })),
      );
    }
  } catch {
    // keep what os reported
  }
  return out;
}

function readdirSafe(dir: string): string[] {
  return readdirSync(dir).filter((n) => !n.startsWith('.'));
}

/**
 * Whether an interface can carry traffic: administratively up with carrier.
 * Read from sysfs, at start and reload; while running, the daemon follows
 * rtnetlink notifications (link-state.ts, the same rule) and polls this only
 * when it cannot subscribe.
 * @returns undefined when the interface does not exist.
 */
export function linkUp(name: string): boolean | undefined {
  try {
    const state = readFileSync(`/sys/class/net/${name}/operstate`, 'utf8').trim();
    // Loopback and some virtual devices report "unknown" while working.
    return state === 'up' || state === 'unknown';
  } catch {
    return undefined;
  }
}

const CAP_NET_ADMIN = 12;
const CAP_NET_RAW = 13;

/**
 * The capabilities vipflow needs that this process lacks: CAP_NET_RAW for
 * raw VRRP and packet sockets, CAP_NET_ADMIN for addresses and multicast.
 */
export function missingCapabilities(): string[] {
  let eff: bigint;
  try {
    const line = readFileSync('/proc/self/status', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('CapEff:'));
    eff = BigInt('0x' + (line?.split(/\s+/)[1] ?? '0'));
  } catch {
    return [];
  }
  const missing: string[] = [];
  if (!(eff & (1n << BigInt(CAP_NET_RAW)))) missing.push('CAP_NET_RAW');
  if (!(eff & (1n << BigInt(CAP_NET_ADMIN)))) missing.push('CAP_NET_ADMIN');
  return missing;
}
