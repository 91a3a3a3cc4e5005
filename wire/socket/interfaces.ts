import { nativeWire } from './native.js';
import { failureFrom, type SysResult } from './result.js';

export interface InterfaceInfo {
  index: number;
  /** 6 bytes. */
  mac: Buffer;
}

/** Index and MAC of an interface (in `netns` when given); ENODEV when it does not exist. */
export function interfaceInfo(ifname: string, netns?: string): SysResult<InterfaceInfo> {
  try {
    return { ok: true, value: nativeWire().interfaceInfo({ ifname, netns }) };
  } catch (error) {
    return failureFrom(error);
  }
}

/**
 * Transmits one complete Ethernet frame (destination MAC first) on an
 * interface through AF_PACKET: gratuitous ARP and unsolicited NA.
 */
export function sendEthernetFrame(ifname: string, frame: Buffer, netns?: string): SysResult<void> {
  const code = nativeWire().sendFrame({ ifname, netns }, frame);
  if (code === null) return { ok: true, value: undefined };
  return { ok: false, code, message: `send frame on ${ifname}: ${code}` };
}

/** "02:00:5e:00:01:33" for a 6-byte MAC. */
export function formatMac(mac: Buffer): string {
  return [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
}
