/**
 * The host side of gratuitous ARP / unsolicited NA for the instance runners:
 * an interface's index, MAC and IPv6 link-local address (read once per
 * interface and cached until the host's links or link-local addresses
 * change: the daemon calls `forget` on those rtnetlink notifications, so a
 * re-created interface, a MAC that changed, or a link-local that was still
 * missing, is read again), raw Ethernet frames through the addon (a burst in
 * one call), and real timers.
 */
import { parseAddress } from '../wire/codec/index.js';
import { interfaceInfo, sendEthernetFrames, type FramesSent } from '../wire/socket/index.js';
import { networkInterfaces } from 'node:os';
import type { NetlinkMessage } from '../wire/socket/index.js';
import type { AnnounceFrame, AnnounceIo, BurstResult } from '../infra/vrrp/announcer.js';

/** How the host's interfaces are read and frames sent (tests give fakes). */
export interface InterfaceReaders {
  link(dev: string): { index: number; mac: Uint8Array } | null;
  /** The interface's addresses as text. */
  addresses(dev: string): readonly { family: 4 | 6; address: string }[];
  send(ifindexes: Int32Array, frames: Buffer[], rounds: number): FramesSent;
}

const hostReaders: InterfaceReaders = {
  link: (dev) => {
    const info = interfaceInfo(dev);
    return info.ok ? info.value : null;
  },
  // One interface's addresses from getifaddrs (about 0.1 ms): a new Master
  // reads them before its first unsolicited NA, on the takeover's path, where
  // readHostInterfaces' sysfs walk of every interface took 3-4 ms.
  addresses: (dev) =>
    (networkInterfaces()[dev] ?? []).map((a) => ({ family: a.family === 'IPv6' ? (6 as const) : (4 as const), address: a.address.replace(/%.*$/, '') })),
  send: sendEthernetFrames,
};

/** RT_SCOPE_LINK: an IPv6 link-local address, the source of unsolicited NA. */
const SCOPE_LINK = 253;

/**
 * Whether a notification can change what the announcements are built from:
 * a link (its index or MAC) or an IPv6 link-local address. A VIP added or
 * removed is neither: forgetting on those made every new Master read its
 * interface again (an ioctl and getifaddrs) before its gratuitous ARP, since
 * its own VIP's notification came with each takeover. Without that read a
 * takeover's announce step went from 0.31 to 0.13 ms (medians of 30 at 0.01 s
 * adverts), before the first advert.
 */
export function affectsAnnouncements(m: NetlinkMessage): boolean {
  return m.kind === 'link' || (m.family === 6 && m.scope === SCOPE_LINK);
}

export function hostAnnounceIo(read: InterfaceReaders = hostReaders): AnnounceIo & { forget(): void } {
  const known = new Map<string, { index: number; mac: Uint8Array; linkLocal: Uint8Array | null }>();
  const interfaceOf = (dev: string) => {
    const cached = known.get(dev);
    if (cached) return cached;
    const link = read.link(dev);
    if (link === null) return null;
    const ll = read.addresses(dev).find((a) => a.family === 6 && /^fe80:/i.test(a.address));
    const entry = { index: link.index, mac: link.mac, linkLocal: ll ? (parseAddress(ll.address) ?? null) : null };
    known.set(dev, entry);
    return entry;
  };
  return {
    interfaceOf,
    forget: () => known.clear(),
    sendBurst: (frames, rounds) => {
      const ifindexes: number[] = [];
      const sendable: AnnounceFrame[] = [];
      let missing: string | undefined;
      for (const f of frames) {
        // Frames are built from interfaceOf: an interface is read again only if forgotten since, and skipped if gone.
        const index = interfaceOf(f.dev)?.index;
        if (index === undefined) missing ??= f.dev;
        else {
          ifindexes.push(index);
          sendable.push(f);
        }
      }
      const r =
        sendable.length > 0
          ? read.send(
              Int32Array.from(ifindexes),
              sendable.map((f) => f.frame),
              rounds,
            )
          : { sent: 0, failed: 0 };
      const out: BurstResult = { sent: r.sent, failed: r.failed + (frames.length - sendable.length) * rounds };
      if (r.failed > 0) {
        out.code = r.code;
        out.dev = sendable[r.at ?? 0]?.dev;
      } else if (missing !== undefined) {
        out.code = 'ENODEV';
        out.dev = missing;
      }
      return out;
    },
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
    now: () => performance.now(),
  };
}
