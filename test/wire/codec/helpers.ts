import { checksumValue, IPPROTO_VRRP, parseAddress, pseudoHeaderSum, sumWords, type PacketContext } from '../../../wire/codec/index.js';

/** Address text to bytes, failing the test (not returning undefined) on a typo. */
export function ip(text: string): Uint8Array {
  const bytes = parseAddress(text);
  if (!bytes) throw new Error(`test address ${text} does not parse`);
  return bytes;
}

export function ctx(source: string, destination: string): PacketContext {
  return { source: ip(source), destination: ip(destination) };
}

export const V4_MCAST = ctx('198.18.0.1', '224.0.0.18');
export const V6_MCAST = ctx('fe80::1', 'ff02::12');

/**
 * Rewrites the checksum of a VRRP message after a test has patched other bytes, so
 * that decode gets past the checksum and reports the error the test is after.
 */
export function fixChecksum(message: Uint8Array, context: PacketContext, withPseudoHeader: boolean): Uint8Array {
  const out = Uint8Array.from(message);
  out[6] = 0;
  out[7] = 0;
  const prefix = withPseudoHeader ? pseudoHeaderSum(context.source, context.destination, IPPROTO_VRRP, out.length) : 0;
  const c = checksumValue(sumWords(out, 0, out.length), prefix);
  out[6] = c >> 8;
  out[7] = c & 0xff;
  return out;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}

export function fromHex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'hex'));
}
