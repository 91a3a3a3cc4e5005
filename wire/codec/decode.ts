/**
 * VRRP advertisement decoding: syntax only, like FRR's vrrp_pkt_parse_datagram.
 * Whether the VRID, priority, interval, addresses or authentication suit the local
 * router is the caller's decision (RFC 5798 §7.1 steps after the checksum).
 * Decoding never throws: every input maps to a {@link DecodeResult}.
 */
import { sumWords, verifies } from './checksum.js';
import { checkIpv4Header, ipv4HeaderFields, type Ipv4Header, type Ipv4HeaderErrorKind } from './ipv4-header.js';
import {
  IPPROTO_VRRP,
  type ChecksumAcceptance,
  type ChecksumVariant,
  type DecodeErrorKind,
  type DecodeOptions,
  type DecodeResult,
  type PacketContext,
  type VrrpAdvert,
} from './types.js';

/** Fixed header bytes common to both versions; VRRPv2 adds 8 bytes of Authentication Data after the addresses. */
export const VRRP_HEADER_LENGTH = 8;
export const VRRP_V2_AUTH_LENGTH = 8;

/**
 * Decodes one VRRP message (the IP payload only).
 *
 * @param message the VRRP bytes; not retained (addresses are copied out).
 * @param context the IP source and destination. Their length selects the family
 *   (4: IPv4, 16: IPv6) and they feed the VRRPv3 pseudo-header checksum.
 * @param options which VRRPv3/IPv4 checksum variants to accept (default either).
 * @returns `{ ok: true, packet, checksumVariant }` with the variant the packet used,
 *   or `{ ok: false, error: { kind, detail } }`. Checks, in order: a context of two
 *   4- or two 16-byte addresses ('family-mismatch'), length ≥ 8 ('short-buffer'),
 *   version 2 or 3 ('bad-version'), type 1 ('bad-type'), no VRRPv2 over IPv6
 *   ('family-mismatch'), exact length for Count IPvX
 *   Addr ('address-count-mismatch'), checksum ('bad-checksum'), VRID ≠ 0
 *   ('vrid-zero'), interval ≠ 0 ('bad-interval'), v2 Auth Type 0/1
 *   ('unsupported-auth-type' for 2, 'unknown-auth-type' above).
 *   Both versions decode in any context: the version is reported, the caller decides.
 *   A Count of 0 is accepted (RFC 5798 asks for ≥ 1, but the length is consistent
 *   and refusing it is a policy decision). The VRRPv3 reserved bits are ignored
 *   (RFC 5798 §5.2.5), so re-encoding clears them.
 */
export function decodeVrrp(message: Uint8Array, context: PacketContext, options?: DecodeOptions): DecodeResult {
  const alen = context.source.length;
  if ((alen !== 4 && alen !== 16) || context.destination.length !== alen) {
    return fail('family-mismatch', `context addresses of ${context.source.length} and ${context.destination.length} bytes; expected two of 4 or two of 16`);
  }
  const addressSum = sumWords(context.source, 0, alen) + sumWords(context.destination, 0, alen);
  const trailer = options?.authTrailerLength ?? 0;
  if (trailer > 0 && message.length < trailer + VRRP_HEADER_LENGTH)
    return fail('short-buffer', `${message.length} bytes, too short for a VRRP header and a ${trailer}-byte trailer`);
  // keepalived's IPv6 checksum (the kernel's) covers the auth_hmac trailer; its IPv4 one covers the message only.
  const checksumEnd = alen === 16 ? message.length : message.length - trailer;
  return decodeMessage(message, 0, message.length - trailer, alen, addressSum, options?.checksum ?? 'either', checksumEnd);
}

export type DatagramErrorKind = Ipv4HeaderErrorKind | 'not-vrrp' | DecodeErrorKind;

export type DatagramResult =
  | { readonly ok: true; readonly header: Ipv4Header; readonly packet: VrrpAdvert; readonly checksumVariant: ChecksumVariant }
  | { readonly ok: false; readonly error: { readonly kind: DatagramErrorKind; readonly detail: string } };

/**
 * Decodes what a raw IPv4 socket delivers: the IPv4 header (see parseIpv4Header),
 * protocol 112 ('not-vrrp' otherwise, e.g. 51 for an AH-wrapped VRRPv2 advert),
 * then the VRRP message with the header's addresses as context. Never throws.
 */
export function decodeIpv4Datagram(datagram: Uint8Array, options?: DecodeOptions): DatagramResult {
  const check = checkIpv4Header(datagram);
  if (!check.ok) return check;
  const protocol = datagram[9]!;
  if (protocol !== IPPROTO_VRRP) return fail('not-vrrp', `IP protocol ${protocol}, VRRP is ${IPPROTO_VRRP}`);
  const end = datagram.length - (options?.authTrailerLength ?? 0);
  const decoded = decodeMessage(datagram, check.headerLength, end, 4, sumWords(datagram, 12, 20), options?.checksum ?? 'either');
  if (!decoded.ok) return decoded;
  return { ok: true, header: ipv4HeaderFields(datagram, check.headerLength), packet: decoded.packet, checksumVariant: decoded.checksumVariant };
}

function decodeMessage(
  buf: Uint8Array,
  start: number,
  end: number,
  alen: number,
  addressSum: number,
  accept: ChecksumAcceptance,
  checksumEnd = end,
): DecodeResult {
  const length = end - start;
  if (length < VRRP_HEADER_LENGTH) return fail('short-buffer', `${length} bytes, a VRRP header needs ${VRRP_HEADER_LENGTH}`);
  const b0 = buf[start]!;
  const version = b0 >> 4;
  if (version !== 2 && version !== 3) return fail('bad-version', `version ${version}, expected 2 or 3`);
  if ((b0 & 0x0f) !== 1) return fail('bad-type', `type ${b0 & 0x0f}, only 1 (ADVERTISEMENT) is defined`);
  if (version === 2 && alen !== 4) return fail('family-mismatch', 'VRRPv2 received over IPv6; VRRPv2 is IPv4 only');
  const count = buf[start + 3]!;
  const expected = VRRP_HEADER_LENGTH + count * alen + (version === 2 ? VRRP_V2_AUTH_LENGTH : 0);
  if (length !== expected) {
    return fail('address-count-mismatch', `${length} bytes, but ${count} IPv${alen === 4 ? 4 : 6} address(es) in VRRPv${version} make ${expected}`);
  }

  const sum = sumWords(buf, start, checksumEnd);
  let checksumVariant: ChecksumVariant;
  if (version === 2) {
    if (!verifies(sum, 0)) return badChecksum(buf, start, 'VRRPv2 (no pseudo-header)');
    checksumVariant = 'without-pseudo-header';
  } else {
    const pseudo = addressSum + IPPROTO_VRRP + (checksumEnd - start);
    if (alen === 16 || accept === 'with-pseudo-header') {
      if (!verifies(sum, pseudo)) return badChecksum(buf, start, 'VRRPv3 with pseudo-header');
      checksumVariant = 'with-pseudo-header';
    } else if (accept === 'without-pseudo-header') {
      if (!verifies(sum, 0)) return badChecksum(buf, start, 'VRRPv3 without pseudo-header');
      checksumVariant = 'without-pseudo-header';
    } else if (verifies(sum, pseudo)) {
      checksumVariant = 'with-pseudo-header';
    } else if (verifies(sum, 0)) {
      checksumVariant = 'without-pseudo-header';
    } else {
      return badChecksum(buf, start, 'VRRPv3 with or without pseudo-header');
    }
  }

  const vrid = buf[start + 1]!;
  if (vrid === 0) return fail('vrid-zero', 'VRID 0; valid VRIDs are 1..255');
  const priority = buf[start + 2]!;
  const addresses = copyAddresses(buf, start + VRRP_HEADER_LENGTH, count, alen);

  if (version === 2) {
    const advertIntervalSec = buf[start + 5]!;
    if (advertIntervalSec === 0) return fail('bad-interval', 'Adver Int 0 seconds; must be at least 1');
    const authCode = buf[start + 4]!;
    if (authCode === 2) return fail('unsupported-auth-type', 'Auth Type 2 (IP Authentication Header) is obsolete (RFC 3768) and not supported');
    if (authCode > 2) return fail('unknown-auth-type', `Auth Type ${authCode}; known types are 0 (none) and 1 (simple password)`);
    const authStart = end - VRRP_V2_AUTH_LENGTH;
    const authData = new Uint8Array(VRRP_V2_AUTH_LENGTH);
    for (let i = 0; i < VRRP_V2_AUTH_LENGTH; i++) authData[i] = buf[authStart + i]!;
    return {
      ok: true,
      packet: { version: 2, vrid, priority, advertIntervalSec, authType: authCode === 0 ? 'none' : 'simple', authData, addresses },
      checksumVariant,
    };
  }
  const maxAdvertIntervalCs = ((buf[start + 4]! & 0x0f) << 8) | buf[start + 5]!;
  if (maxAdvertIntervalCs === 0) return fail('bad-interval', 'Max Adver Int 0 centiseconds; must be 1..4095');
  return { ok: true, packet: { version: 3, vrid, priority, maxAdvertIntervalCs, addresses }, checksumVariant };
}

/**
 * Copies each address into its own small Uint8Array: decode must not alias a receive
 * buffer the caller will reuse. Measured (bench/codec.ts): separate copies of <= 64 bytes
 * stay on V8's heap and cost about a third of subarray views into one shared block,
 * whose creation forces the block's backing store off-heap.
 */
function copyAddresses(buf: Uint8Array, at: number, count: number, alen: number): Uint8Array[] {
  const addresses = new Array<Uint8Array>(count);
  for (let k = 0; k < count; k++) {
    const a = new Uint8Array(alen);
    for (let i = 0; i < alen; i++) a[i] = buf[at + i]!;
    addresses[k] = a;
    at += alen;
  }
  return addresses;
}

function badChecksum(buf: Uint8Array, start: number, variant: string): { ok: false; error: { kind: 'bad-checksum'; detail: string } } {
  const field = (buf[start + 6]! << 8) | buf[start + 7]!;
  return fail('bad-checksum', `checksum 0x${field.toString(16).padStart(4, '0')} does not verify as ${variant}`);
}

function fail<K extends string>(kind: K, detail: string): { ok: false; error: { kind: K; detail: string } } {
  return { ok: false, error: { kind, detail } };
}
