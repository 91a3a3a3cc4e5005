/**
 * The IPv4 header in front of what a raw IPv4 socket delivers (Linux raw sockets
 * include it on receive; IPv6 raw sockets do not, RFC 3542 §3). Pure: it reads, never
 * validates routing facts such as the TTL, which is the caller's check.
 */

export interface Ipv4Header {
  /** IHL * 4, 20..60. The VRRP message starts here. */
  readonly headerLength: number;
  readonly ttl: number;
  readonly protocol: number;
  /** Total Length field, equal to the buffer length. */
  readonly totalLength: number;
  /** 4 bytes, a copy. */
  readonly source: Uint8Array;
  /** 4 bytes, a copy. */
  readonly destination: Uint8Array;
}

export type Ipv4HeaderErrorKind = 'short-buffer' | 'bad-version' | 'bad-ihl' | 'length-mismatch';

export type Ipv4HeaderResult =
  { readonly ok: true; readonly header: Ipv4Header } | { readonly ok: false; readonly error: { readonly kind: Ipv4HeaderErrorKind; readonly detail: string } };

/** The fixed header fields decode needs, checked but not copied (no allocation on the hot path). */
export type Ipv4HeaderCheck =
  | { readonly ok: true; readonly headerLength: number }
  | { readonly ok: false; readonly error: { readonly kind: Ipv4HeaderErrorKind; readonly detail: string } };

/**
 * Checks that `datagram` starts with a well-formed IPv4 header whose Total Length is
 * exactly the buffer length (what keepalived and FRR require of a raw-socket read; a
 * longer buffer means the caller passed more than it received).
 * Never throws. Errors: 'short-buffer' (< 20 bytes or < IHL*4), 'bad-version'
 * (not 4), 'bad-ihl' (IHL < 5), 'length-mismatch' (Total Length differs from the
 * buffer length or is smaller than the header).
 */
export function checkIpv4Header(datagram: Uint8Array): Ipv4HeaderCheck {
  const n = datagram.length;
  if (n < 20) return fail('short-buffer', `${n} bytes, an IPv4 header needs at least 20`);
  const b0 = datagram[0]!;
  if (b0 >> 4 !== 4) return fail('bad-version', `IP version ${b0 >> 4}, expected 4`);
  const headerLength = (b0 & 0x0f) * 4;
  if (headerLength < 20) return fail('bad-ihl', `IHL ${b0 & 0x0f}, at least 5 required`);
  if (n < headerLength) return fail('short-buffer', `${n} bytes, IHL says the header has ${headerLength}`);
  const totalLength = (datagram[2]! << 8) | datagram[3]!;
  if (totalLength !== n || totalLength < headerLength) {
    return fail('length-mismatch', `Total Length ${totalLength}, received ${n} bytes with a ${headerLength}-byte header`);
  }
  return { ok: true, headerLength };
}

/**
 * The header length of the `length` bytes of `datagram` from `offset` when
 * {@link checkIpv4Header} would accept them, else -1: the same checks, with no
 * result object and no view, for a socket's per-datagram path (the reason,
 * when one is wanted, comes from checkIpv4Header).
 */
export function acceptedIpv4HeaderLength(datagram: Uint8Array, length: number, offset = 0): number {
  if (length < 20 || offset + length > datagram.length) return -1;
  const b0 = datagram[offset]!;
  const headerLength = (b0 & 0x0f) * 4;
  if (b0 >> 4 !== 4 || headerLength < 20 || length < headerLength) return -1;
  return ((datagram[offset + 2]! << 8) | datagram[offset + 3]!) === length ? headerLength : -1;
}

/**
 * Parses the IPv4 header of a raw-socket datagram: the checks of
 * {@link checkIpv4Header}, then the fields with copies of both addresses.
 * Never throws; the header checksum is not verified (the kernel drops bad ones).
 */
export function parseIpv4Header(datagram: Uint8Array): Ipv4HeaderResult {
  const check = checkIpv4Header(datagram);
  if (!check.ok) return check;
  return { ok: true, header: ipv4HeaderFields(datagram, check.headerLength) };
}

/** The fields of a header that {@link checkIpv4Header} accepted. */
export function ipv4HeaderFields(datagram: Uint8Array, headerLength: number): Ipv4Header {
  return {
    headerLength,
    ttl: datagram[8]!,
    protocol: datagram[9]!,
    totalLength: datagram.length,
    source: copyBytes(datagram, 12, 4),
    destination: copyBytes(datagram, 16, 4),
  };
}

/** A plain Uint8Array copy, whatever the input's class (a Buffer's slice would be a view). */
function copyBytes(from: Uint8Array, start: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = from[start + i]!;
  return out;
}

function fail(kind: Ipv4HeaderErrorKind, detail: string): { ok: false; error: { kind: Ipv4HeaderErrorKind; detail: string } } {
  return { ok: false, error: { kind, detail } };
}
