/**
 * The host side of gratuitous ARP / unsolicited NA for the instance runners:
 * an interface's MAC and IPv6 link-local address (read once per interface and
 * cached until the host's links or addresses change: the daemon calls
 * `forget` on every rtnetlink link or address notification, so a MAC that
 * changed, or a link-local that was still missing, is read again), raw
 * Ethernet frames through the addon, and real timers.
 */
import { parseAddress } from '../wire/codec/index.js';
import { interfaceInfo, sendEthernetFrame } from '../wire/socket/index.js';
import { networkInterfaces } from 'node:os';
import type { AnnounceIo } from '../infra/vrrp/announcer.js';

/** How the host's interfaces are read (tests give fakes). */
export interface InterfaceReaders {
  mac(dev: string): Uint8Array | null;
  /** The interface's addresses as text. */
  addresses(dev: string): readonly { family: 4 | 6; address: string }[];
}

const hostReaders: InterfaceReaders = {
  mac: (dev) => {
    const info = interfaceInfo(dev);
    return info.ok ? info.value.mac : null;
  },
  // One interface's addresses from getifaddrs (about 0.1 ms): a new Master
  // reads them before its first unsolicited NA, on the takeover's path, where
  // readHostInterfaces' sysfs walk of every interface took 3-4 ms.
  addresses: (dev) =>
    (networkInterfaces()[dev] ?? []).map((a) => ({ family: a.family === 'IPv6' ? (6 as const) : (4 as const), address: a.address.replace(/%.*$/, '') })),
};

export function hostAnnounceIo(read: InterfaceReaders = hostReaders): AnnounceIo & { forget(): void } {
  const known = new Map<string, { mac: Uint8Array; linkLocal: Uint8Array | null }>();
  return {
    interfaceOf: (dev) => {
      const cached = known.get(dev);
      if (cached) return cached;
      const mac = read.mac(dev);
      if (mac === null) return null;
      const ll = read.addresses(dev).find((a) => a.family === 6 && /^fe80:/i.test(a.address));
      const entry = { mac, linkLocal: ll ? (parseAddress(ll.address) ?? null) : null };
      known.set(dev, entry);
      return entry;
    },
    forget: () => known.clear(),
    sendFrame: (dev, frame) => {
      const r = sendEthernetFrame(dev, frame);
      return r.ok ? { ok: true } : { ok: false, code: r.code };
    },
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
    now: () => performance.now(),
  };
}
