/**
 * UDP_CHECK (keepalived's check_udp.c and udp_bind_connect / udp_socket_state
 * in layer4.c): send `payload` (without one, keepalived's 32-byte filler) on a
 * connected UDP socket, then within connect_timeout:
 *
 * - an ICMP destination unreachable (port, host or network) is down;
 * - without require_reply, any reply or silence is up: keepalived reads
 *   silence as "nobody said no";
 * - with require_reply, a reply is needed. When require_reply carries a hex
 *   string, the reply must also be min_reply_length..max_reply_length long and
 *   match that string over the shorter of the two lengths, x nibbles matching
 *   anything.
 * An invalid hex payload or require_reply string is a config error keepalived
 * reports and then runs without (filler payload, any reply accepted).
 *
 * keepalived only checks the lengths when require_reply has a hex string
 * (udp_check_thread calls check_udp_reply only with reply_data), though its man
 * page says require_reply alone checks them; this probe does what keepalived
 * does, so a config judged up there is judged up here.
 */
import { destination } from './connect.js';
import { addressText, exchangeDatagram } from './datagram.js';
import { fail, type ConnectOptions, type ProbeContext, type ProbeResult, type ProbeTarget } from './types.js';

export interface HexPattern {
  bytes: Uint8Array;
  /** per byte, the bits to ignore (x nibbles); absent when there are none */
  mask: Uint8Array | undefined;
}

/**
 * keepalived's read_hex_str: hex digits in pairs, blanks between groups; a
 * digit alone before a blank or the end is one byte ("Ab12f 3" is AB 12 0F 03).
 * With `wildcards`, x or X is a nibble that matches anything.
 * @returns the bytes, or null for an empty or invalid string (keepalived's config error)
 */
export function parseHex(text: string, wildcards: boolean): HexPattern | null {
  const nibble = (c: string): number | 'x' | null => {
    if (/^[0-9a-fA-F]$/.test(c)) return parseInt(c, 16);
    if (wildcards && (c === 'x' || c === 'X')) return 'x';
    return null;
  };
  const bytes: number[] = [];
  const mask: number[] = [];
  let i = 0;
  while (true) {
    while (text[i] === ' ' || text[i] === '\t') i++;
    if (i >= text.length) break;
    const hi = nibble(text[i++]!);
    if (hi === null) return null;
    let value = hi === 'x' ? 0 : hi;
    let m = hi === 'x' ? 0x0f : 0;
    if (i < text.length && text[i] !== ' ' && text[i] !== '\t') {
      const lo = nibble(text[i++]!);
      if (lo === null) return null;
      value = (value << 4) | (lo === 'x' ? 0 : lo);
      m = (m << 4) | (lo === 'x' ? 0x0f : 0);
    }
    bytes.push(value);
    mask.push(m);
  }
  if (bytes.length === 0) return null;
  return { bytes: Uint8Array.from(bytes), mask: mask.some((b) => b !== 0) ? Uint8Array.from(mask) : undefined };
}

/** udp_bind_connect without a payload: "keepalived check - " repeated over 32 bytes. */
export const DEFAULT_UDP_PAYLOAD: Uint8Array = Buffer.from('keepalived check - '.repeat(2).slice(0, 32), 'latin1');

/** keepalived's default min_reply_length and max_reply_length. */
export const DEFAULT_MIN_REPLY = 0;
export const DEFAULT_MAX_REPLY = 255;

export interface UdpProbeOptions extends ConnectOptions {
  /** payload as configured (hex); absent or invalid: keepalived's filler */
  payload?: string;
  /** require_reply: true alone, or the hex string the reply must match */
  requireReply?: boolean | string;
  minReplyLength?: number;
  maxReplyLength?: number;
}

/** keepalived's check_udp_reply: null when the reply passes, else why not. */
export function replyMismatch(reply: Uint8Array, want: HexPattern, minLen: number, maxLen: number): string | null {
  // keepalived receives into max_reply_length + 1 bytes, so a longer reply reads as max + 1.
  if (reply.length < minLen || reply.length > maxLen) return `reply of ${reply.length} bytes, outside ${minLen}..${maxLen}`;
  const n = Math.min(reply.length, want.bytes.length);
  for (let i = 0; i < n; i++) {
    const ignore = want.mask?.[i] ?? 0;
    if (((reply[i]! ^ want.bytes[i]!) & ~ignore & 0xff) !== 0) {
      return `reply byte ${i} is ${hex(reply[i]!)}, expected ${hex(want.bytes[i]!)}${ignore ? ` (mask ${hex(ignore)})` : ''}`;
    }
  }
  return null;
}

const hex = (b: number): string => b.toString(16).padStart(2, '0');

export async function udpProbe(target: ProbeTarget, options: UdpProbeOptions, ctx: ProbeContext = {}): Promise<ProbeResult> {
  try {
    const dst = destination(target, options);
    const what = `udp ${addressText(dst)}`;
    // As keepalived after its config error: an invalid payload sends the filler,
    // an invalid require_reply string accepts any reply.
    const payload = options.payload === undefined ? null : parseHex(options.payload, false);
    const required = options.requireReply !== undefined && options.requireReply !== false;
    const want = typeof options.requireReply === 'string' ? parseHex(options.requireReply, true) : null;
    const minLen = options.minReplyLength ?? DEFAULT_MIN_REPLY;
    const maxLen = options.maxReplyLength ?? DEFAULT_MAX_REPLY;
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    return await exchangeDatagram(
      {
        dst,
        payload: payload?.bytes ?? DEFAULT_UDP_PAYLOAD,
        signal: ctx.signal,
        onReply: (reply) => {
          if (want !== null) {
            const why = replyMismatch(reply.subarray(0, maxLen + 1), want, minLen, maxLen);
            if (why !== null) return fail('reply', `${what}: ${why}`);
          }
          return { ok: true, detail: `${what}: reply of ${reply.length} bytes in ${elapsed()} ms` };
        },
        onTimeout: (ms) =>
          required
            ? fail('timeout', `${what}: no reply within ${ms} ms (require_reply)`)
            : { ok: true, detail: `${what}: no reply and no ICMP error within ${ms} ms` },
      },
      options,
    );
  } catch (err) {
    return fail('connect', `unexpected: ${String(err)}`);
  }
}
