/** Ethernet II framing shared by the announce builders. */
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;
export const BROADCAST_MAC: Uint8Array = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
/** 802.3 minimum frame without the FCS (the NIC adds it). */
const MIN_FRAME = 60;

/**
 * A frame of `payloadLength` bytes after the 14-byte header, zero-padded to the
 * Ethernet minimum. The payload is written by the caller at offset 14.
 */
export function ethernetFrame(destination: Uint8Array, source: Uint8Array, etherType: number, payloadLength: number): Buffer {
  requireLength('destination MAC', destination, 6);
  requireLength('source MAC', source, 6);
  const frame = Buffer.alloc(Math.max(MIN_FRAME, 14 + payloadLength));
  frame.set(destination, 0);
  frame.set(source, 6);
  frame.writeUInt16BE(etherType, 12);
  return frame;
}

/** Wrong lengths are programmer mistakes (callers hold parsed bytes), hence a throw. */
export function requireLength(what: string, bytes: Uint8Array, length: number): void {
  if (bytes.length !== length) throw new RangeError(`${what} must be ${length} bytes, got ${bytes.length}`);
}
