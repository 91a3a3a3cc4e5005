/**
 * The Internet checksum (RFC 1071) in pieces that let decode verify a packet in one
 * pass without copying: sums of byte ranges and of pseudo-headers are added, then
 * folded once.
 */

/** Unfolded one's-complement sum of big-endian 16-bit words in buf[start, end); an odd tail byte is padded with zero. */
export function sumWords(buf: Uint8Array, start: number, end: number): number {
  let sum = 0;
  let i = start;
  // The largest VRRP message (255 IPv6 addresses, 4088 bytes) sums to < 2^28: no overflow.
  for (; i + 1 < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (i < end) sum += buf[i]! << 8;
  return sum;
}

/** Folds carries back in (end-around carry) and returns the 16-bit one's-complement sum. */
export function foldSum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/**
 * Unfolded sum of an IPv4 or IPv6 pseudo-header (RFC 5798 §5.2.8; RFC 8200 §8.1):
 * source, destination, protocol 112 and the VRRP message length. Both layouts sum
 * the same words, whatever the field widths, because zero padding adds nothing.
 */
export function pseudoHeaderSum(source: Uint8Array, destination: Uint8Array, protocol: number, length: number): number {
  return sumWords(source, 0, source.length) + sumWords(destination, 0, destination.length) + protocol + (length >>> 16) + (length & 0xffff);
}

/**
 * The checksum field value for a message whose own sum (checksum field zero) is
 * `messageSum` and whose pseudo-header sums to `prefixSum` (0 for none).
 */
export function checksumValue(messageSum: number, prefixSum: number): number {
  return ~foldSum(messageSum + prefixSum) & 0xffff;
}

/** True when a message sum taken WITH its checksum field (plus a prefix) verifies: it folds to 0xffff. */
export function verifies(sumWithChecksum: number, prefixSum: number): boolean {
  return foldSum(sumWithChecksum + prefixSum) === 0xffff;
}
