/**
 * Raw IPv4 sockets deliver the IP header in front of the VRRP message
 * (raw(7)); IPv6 raw sockets never do. This strips it.
 *
 * Returns the payload as a view on `datagram` (no copy), or a reason when
 * the header is not a plausible IPv4 header: too short, version not 4,
 * IHL below 5 words, or IHL / total length beyond the datagram.
 */
export type StripResult =
  | { ok: true; payload: Buffer; headerLength: number }
  | { ok: false; reason: 'short' | 'version' | 'ihl' | 'length' };

export function stripIpv4Header(datagram: Buffer): StripResult {
  if (datagram.length < 20) return { ok: false, reason: 'short' };
  const first = datagram[0]!;
  if (first >> 4 !== 4) return { ok: false, reason: 'version' };
  const headerLength = (first & 0x0f) * 4;
  if (headerLength < 20 || headerLength > datagram.length) return { ok: false, reason: 'ihl' };
  // Linux keeps the total-length field in network order for raw sockets
  // (unlike some BSDs); Ethernet padding could follow, so cut at it.
  const total = datagram.readUInt16BE(2);
  if (total < headerLength || total > datagram.length) return { ok: false, reason: 'length' };
  return { ok: true, payload: datagram.subarray(headerLength, total), headerLength };
}
