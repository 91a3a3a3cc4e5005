/**
 * The host side of gratuitous ARP / unsolicited NA for the instance runners:
 * an interface's MAC and IPv6 link-local address (read once per interface and
 * cached), raw Ethernet frames through the addon, and real timers.
 */
import { parseAddress } from '../wire/codec/index.js';
import { interfaceInfo, sendEthernetFrame } from '../wire/socket/index.js';
import { readHostInterfaces } from '../infra/host/interfaces.js';
import type { AnnounceIo } from '../infra/vrrp/announcer.js';

export function hostAnnounceIo(): AnnounceIo {
  const macs = new Map<string, { mac: Uint8Array; linkLocal: Uint8Array | null }>();
  return {
    interfaceOf: (dev) => {
      const cached = macs.get(dev);
      if (cached) return cached;
      const info = interfaceInfo(dev);
      if (!info.ok) return null;
      const ll = readHostInterfaces()
        .get(dev)
        ?.addresses.find((a) => a.family === 6 && /^fe80:/i.test(a.address));
      const entry = { mac: info.value.mac, linkLocal: ll ? (parseAddress(ll.address) ?? null) : null };
      macs.set(dev, entry);
      return entry;
    },
    sendFrame: (dev, frame) => {
      const r = sendEthernetFrame(dev, frame);
      return r.ok ? { ok: true } : { ok: false, code: r.code };
    },
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
    now: () => performance.now(),
  };
}
