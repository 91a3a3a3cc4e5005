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

/** Frames per round that sendEthernetFrames hands over in one call (the addon's bound). */
const FRAMES_PER_CALL = 64;
/** Frames in all (rounds included) per call: the addon's bound. */
const MESSAGES_PER_CALL = 4096;

export interface FramesSent {
  sent: number;
  failed: number;
  /** The first failure's errno name and the index of its frame. */
  code?: string;
  at?: number;
}

/**
 * Transmits `rounds` rounds of complete Ethernet frames (frame i on
 * interface index ifindexes[i]) through AF_PACKET, in order, with as few
 * system calls as the addon's bounds allow (sendmmsg): a new Master's
 * gratuitous ARP / NA burst. A frame that fails does not stop the others.
 */
export function sendEthernetFrames(ifindexes: Int32Array, frames: Buffer[], rounds: number, netns?: string): FramesSent {
  const target = { netns };
  const native = nativeWire();
  if (frames.length <= FRAMES_PER_CALL && frames.length * rounds <= MESSAGES_PER_CALL)
    return framesSent(native.sendFrames(target, ifindexes, frames, rounds), 0);
  // More than the addon takes at once: a call per round and per 64 frames, in the same order.
  const out: FramesSent = { sent: 0, failed: 0 };
  for (let r = 0; r < rounds; r++) {
    for (let from = 0; from < frames.length; from += FRAMES_PER_CALL) {
      const to = Math.min(frames.length, from + FRAMES_PER_CALL);
      const part = framesSent(native.sendFrames(target, ifindexes.subarray(from, to), frames.slice(from, to), 1), from);
      out.sent += part.sent;
      if (part.failed > 0 && out.failed === 0) {
        out.code = part.code;
        out.at = part.at;
      }
      out.failed += part.failed;
    }
  }
  return out;
}

function framesSent(r: ReturnType<ReturnType<typeof nativeWire>['sendFrames']>, offset: number): FramesSent {
  if (typeof r === 'number') return { sent: r, failed: 0 };
  return { sent: r.sent, failed: r.failed, code: r.code, at: r.at + offset };
}

/** "02:00:5e:00:01:33" for a 6-byte MAC. */
export function formatMac(mac: Buffer): string {
  return [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
}
