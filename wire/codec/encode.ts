/**
 * VRRP advertisement encoding. The description is trusted to come from validated
 * configuration, so an impossible one (VRID 0, an interval out of range, an address
 * of the wrong family) is a programmer mistake and throws RangeError.
 */
import { checksumValue, pseudoHeaderSum, sumWords } from './checksum.js';
import { VRRP_HEADER_LENGTH, VRRP_V2_AUTH_LENGTH } from './decode.js';
import { IPPROTO_VRRP, type EncodeOptions, type PacketContext, type VrrpAdvert } from './types.js';

/**
 * Encodes an advertisement and computes its checksum.
 *
 * @param packet what to send; addresses must have the context's length.
 * @param context source and destination of the IP packet that will carry it: their
 *   length selects the family, and VRRPv3 includes them in its pseudo-header (for
 *   unicast the destination is the peer, not the multicast group).
 * @param options the VRRPv3/IPv4 checksum variant (default 'with-pseudo-header',
 *   as keepalived and FRR send); ignored for VRRPv2 and IPv6, which have one variant.
 * @returns a new Buffer holding exactly the VRRP message (no IP header).
 * @throws RangeError for a description that no valid packet matches.
 * Round trip: decodeVrrp(encodeVrrp(p, c, o), c) yields p and the chosen variant.
 */
export function encodeVrrp(packet: VrrpAdvert, context: PacketContext, options?: EncodeOptions): Buffer {
  const alen = context.source.length;
  if ((alen !== 4 && alen !== 16) || context.destination.length !== alen) {
    throw new RangeError(`encodeVrrp: context addresses of ${context.source.length} and ${context.destination.length} bytes`);
  }
  checkField('vrid', packet.vrid, 1, 255);
  checkField('priority', packet.priority, 0, 255);
  const count = packet.addresses.length;
  if (count > 255) throw new RangeError(`encodeVrrp: ${count} addresses, at most 255 fit in Count IPvX Addr`);
  for (const a of packet.addresses) {
    if (a.length !== alen) throw new RangeError(`encodeVrrp: a ${a.length}-byte address in an IPv${alen === 4 ? 4 : 6} packet`);
  }

  const addressBytes = count * alen;
  const length = VRRP_HEADER_LENGTH + addressBytes + (packet.version === 2 ? VRRP_V2_AUTH_LENGTH : 0);
  const out = Buffer.allocUnsafe(length);
  out[1] = packet.vrid;
  out[2] = packet.priority;
  out[3] = count;
  out[6] = 0;
  out[7] = 0;
  let at = VRRP_HEADER_LENGTH;
  for (const a of packet.addresses) {
    out.set(a, at);
    at += alen;
  }

  let pseudo = 0;
  if (packet.version === 2) {
    if (alen !== 4) throw new RangeError('encodeVrrp: VRRPv2 is IPv4 only');
    checkField('advertIntervalSec', packet.advertIntervalSec, 1, 255);
    if (packet.authType !== 'none' && packet.authType !== 'simple') throw new RangeError(`encodeVrrp: auth type ${String(packet.authType)}`);
    if (packet.authData.length !== VRRP_V2_AUTH_LENGTH) throw new RangeError(`encodeVrrp: authData must be ${VRRP_V2_AUTH_LENGTH} bytes`);
    out[0] = 0x21;
    out[4] = packet.authType === 'none' ? 0 : 1;
    out[5] = packet.advertIntervalSec;
    out.set(packet.authData, at);
  } else if (packet.version === 3) {
    checkField('maxAdvertIntervalCs', packet.maxAdvertIntervalCs, 1, 4095);
    out[0] = 0x31;
    // The top 4 bits of this word are reserved and sent as zero (RFC 5798 §5.2.5).
    out[4] = packet.maxAdvertIntervalCs >> 8;
    out[5] = packet.maxAdvertIntervalCs & 0xff;
    if (alen === 16 || (options?.checksumVariant ?? 'with-pseudo-header') === 'with-pseudo-header') {
      pseudo = pseudoHeaderSum(context.source, context.destination, IPPROTO_VRRP, length);
    }
  } else {
    throw new RangeError(`encodeVrrp: version ${String((packet as { version: unknown }).version)}`);
  }

  const checksum = checksumValue(sumWords(out, 0, length), pseudo);
  out[6] = checksum >> 8;
  out[7] = checksum & 0xff;
  return out;
}

function checkField(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`encodeVrrp: ${name} ${value} outside ${min}..${max}`);
  }
}
