/**
 * ICMP (RFC 792) and ICMPv6 (RFC 4443) echo messages for PING_CHECK: building an
 * echo request, and reading what a raw ICMP socket hands back, an echo reply or
 * an error that quotes one of our requests. Pure bytes; matching a message to
 * the probe that caused it is the caller's business.
 */
import { checksumValue, sumWords, verifies } from './checksum.js';
import { checkIpv4Header } from './ipv4-header.js';

export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMETER_PROBLEM = 12;
export const ICMP6_DEST_UNREACH = 1;
export const ICMP6_PACKET_TOO_BIG = 2;
export const ICMP6_TIME_EXCEEDED = 3;
export const ICMP6_PARAMETER_PROBLEM = 4;
export const ICMP6_ECHO_REQUEST = 128;
export const ICMP6_ECHO_REPLY = 129;

const IPPROTO_ICMP = 1;
const IPPROTO_ICMPV6 = 58;
const ECHO_HEADER_LENGTH = 8;
const IPV6_HEADER_LENGTH = 40;

export interface EchoFields {
  identifier: number;
  sequence: number;
}

/**
 * An echo request: type, code 0, checksum, identifier, sequence, then `payload`.
 * The IPv4 checksum is computed here; the ICMPv6 one is left zero because it
 * covers a pseudo-header with the source address the kernel picks, and Linux
 * fills it for every raw ICMPv6 socket (RFC 3542 §3.1).
 */
export function encodeEchoRequest(family: 4 | 6, echo: EchoFields, payload: Uint8Array): Buffer {
  const out = Buffer.alloc(ECHO_HEADER_LENGTH + payload.length);
  out[0] = family === 4 ? ICMP_ECHO_REQUEST : ICMP6_ECHO_REQUEST;
  out.writeUInt16BE(echo.identifier & 0xffff, 4);
  out.writeUInt16BE(echo.sequence & 0xffff, 6);
  out.set(payload, ECHO_HEADER_LENGTH);
  if (family === 4) out.writeUInt16BE(checksumValue(sumWords(out, 0, out.length), 0), 2);
  return out;
}

export type IcmpMessage =
  | { kind: 'echo-reply'; identifier: number; sequence: number; payload: Uint8Array }
  /** An error quoting an echo request we may have sent: which one, to where, and the ICMP type and code. */
  | { kind: 'error'; type: number; code: number; identifier: number; sequence: number; quotedDestination: Uint8Array }
  /** Another ICMP message, or an error quoting something that is not an echo request. */
  | { kind: 'other'; type: number }
  | { kind: 'malformed'; detail: string };

/**
 * Reads one datagram of a raw ICMP socket: for IPv4 it starts with the IP
 * header (Linux raw IPv4 sockets deliver it), for IPv6 with the ICMPv6 header.
 * An IPv4 echo reply with a bad checksum is malformed; ICMPv6 ones were
 * checked by the kernel. Never throws.
 */
export function decodeIcmp(family: 4 | 6, datagram: Uint8Array): IcmpMessage {
  let message = datagram;
  if (family === 4) {
    const header = checkIpv4Header(datagram);
    if (!header.ok) return { kind: 'malformed', detail: `IPv4 header: ${header.error.detail}` };
    if (datagram[9] !== IPPROTO_ICMP) return { kind: 'malformed', detail: `IP protocol ${datagram[9]}, not ICMP` };
    message = datagram.subarray(header.headerLength);
  }
  if (message.length < ECHO_HEADER_LENGTH) return { kind: 'malformed', detail: `${message.length}-byte ICMP message, 8 at least` };
  const type = message[0]!;
  const code = message[1]!;
  if (type === (family === 4 ? ICMP_ECHO_REPLY : ICMP6_ECHO_REPLY)) {
    if (family === 4 && !verifies(sumWords(message, 0, message.length), 0)) return { kind: 'malformed', detail: 'bad ICMP checksum' };
    return { kind: 'echo-reply', identifier: u16(message, 4), sequence: u16(message, 6), payload: message.subarray(ECHO_HEADER_LENGTH) };
  }
  if (!isError(family, type)) return { kind: 'other', type };
  const quoted = quotedEchoRequest(family, message.subarray(ECHO_HEADER_LENGTH));
  if (quoted === undefined) return { kind: 'other', type };
  return { kind: 'error', type, code, ...quoted };
}

function isError(family: 4 | 6, type: number): boolean {
  if (family === 4) return type === ICMP_DEST_UNREACH || type === ICMP_TIME_EXCEEDED || type === ICMP_PARAMETER_PROBLEM;
  return type === ICMP6_DEST_UNREACH || type === ICMP6_PACKET_TOO_BIG || type === ICMP6_TIME_EXCEEDED || type === ICMP6_PARAMETER_PROBLEM;
}

/**
 * The invoking packet an error quotes (RFC 792: its IP header and at least 8
 * bytes; RFC 4443 §2.4: as much as fits) when it was an echo request: the
 * request's identifier, sequence and destination.
 */
function quotedEchoRequest(family: 4 | 6, quoted: Uint8Array): (EchoFields & { quotedDestination: Uint8Array }) | undefined {
  let start: number;
  let destination: Uint8Array;
  if (family === 4) {
    if (quoted.length < 20 || quoted[0]! >> 4 !== 4) return undefined;
    start = (quoted[0]! & 0x0f) * 4;
    if (start < 20 || quoted[9] !== IPPROTO_ICMP) return undefined;
    destination = new Uint8Array(quoted.subarray(16, 20));
  } else {
    // An extension header between the two would hide the echo request; we never send one.
    if (quoted.length < IPV6_HEADER_LENGTH || quoted[0]! >> 4 !== 6 || quoted[6] !== IPPROTO_ICMPV6) return undefined;
    start = IPV6_HEADER_LENGTH;
    destination = new Uint8Array(quoted.subarray(24, 40));
  }
  if (quoted.length < start + ECHO_HEADER_LENGTH) return undefined;
  if (quoted[start] !== (family === 4 ? ICMP_ECHO_REQUEST : ICMP6_ECHO_REQUEST)) return undefined;
  return { identifier: u16(quoted, start + 4), sequence: u16(quoted, start + 6), quotedDestination: destination };
}

const V4_UNREACH: Record<number, string> = {
  0: 'network unreachable',
  1: 'host unreachable',
  2: 'protocol unreachable',
  3: 'port unreachable',
  4: 'fragmentation needed',
  5: 'source route failed',
  6: 'destination network unknown',
  7: 'destination host unknown',
  9: 'network administratively prohibited',
  10: 'host administratively prohibited',
  11: 'network unreachable for TOS',
  12: 'host unreachable for TOS',
  13: 'communication administratively prohibited',
};

const V6_UNREACH: Record<number, string> = {
  0: 'no route to destination',
  1: 'communication administratively prohibited',
  2: 'beyond scope of source address',
  3: 'address unreachable',
  4: 'port unreachable',
  5: 'source address failed ingress/egress policy',
  6: 'reject route to destination',
};

/** A reader's name for an ICMP error type and code, e.g. "host unreachable". */
export function describeIcmpError(family: 4 | 6, type: number, code: number): string {
  if (family === 4) {
    if (type === ICMP_DEST_UNREACH) return V4_UNREACH[code] ?? `destination unreachable (code ${code})`;
    if (type === ICMP_TIME_EXCEEDED) return code === 0 ? 'TTL exceeded in transit' : 'fragment reassembly time exceeded';
    if (type === ICMP_PARAMETER_PROBLEM) return 'parameter problem';
  } else {
    if (type === ICMP6_DEST_UNREACH) return V6_UNREACH[code] ?? `destination unreachable (code ${code})`;
    if (type === ICMP6_PACKET_TOO_BIG) return 'packet too big';
    if (type === ICMP6_TIME_EXCEEDED) return code === 0 ? 'hop limit exceeded in transit' : 'fragment reassembly time exceeded';
    if (type === ICMP6_PARAMETER_PROBLEM) return 'parameter problem';
  }
  return `ICMP type ${type} code ${code}`;
}

function u16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}
