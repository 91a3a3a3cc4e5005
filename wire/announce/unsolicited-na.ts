import { checksumValue, pseudoHeaderSum, sumWords } from '../codec/index.js';
import { ETHERTYPE_IPV6, ethernetFrame, requireLength } from './ethernet.js';

const ALL_NODES = new Uint8Array([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
const ALL_NODES_MAC = new Uint8Array([0x33, 0x33, 0, 0, 0, 1]);
const ICMPV6 = 58;
const NA_LENGTH = 24 + 8; // RFC 4861 section 4.4 + one target link-layer address option

export interface UnsolicitedNaOptions {
  /** 6 bytes: the interface MAC, sent as frame source and as the target link-layer address. */
  mac: Uint8Array;
  /** 16 bytes: the address being announced (the VIP). */
  target: Uint8Array;
  /** 16 bytes: the IPv6 source, normally the interface's link-local address. */
  source: Uint8Array;
  /** Router flag (RFC 4861 section 4.4); false by default. */
  router?: boolean;
}

/**
 * An unsolicited Neighbour Advertisement (RFC 4861 section 7.2.6) to
 * all-nodes ff02::1: Override set, Solicited clear, hop limit 255 (receivers
 * drop NDP with any other, section 7.1.2), with the target link-layer
 * address option and the ICMPv6 checksum computed over the pseudo-header.
 *
 * @returns a complete Ethernet frame for sendEthernetFrame.
 */
export function buildUnsolicitedNa(options: UnsolicitedNaOptions): Buffer {
  const { mac, target, source } = options;
  requireLength('target address', target, 16);
  requireLength('source address', source, 16);
  const frame = ethernetFrame(ALL_NODES_MAC, mac, ETHERTYPE_IPV6, 40 + NA_LENGTH);
  const ip = 14;
  frame.writeUInt32BE(0x60000000, ip); // version 6, class 0, flow 0
  frame.writeUInt16BE(NA_LENGTH, ip + 4);
  frame[ip + 6] = ICMPV6;
  frame[ip + 7] = 255;
  frame.set(source, ip + 8);
  frame.set(ALL_NODES, ip + 24);
  const na = ip + 40;
  frame[na] = 136;
  frame[na + 1] = 0;
  frame[na + 4] = (options.router ? 0x80 : 0) | 0x20; // R | O; S clear
  frame.set(target, na + 8);
  frame[na + 24] = 2; // target link-layer address option
  frame[na + 25] = 1; // length in units of 8 bytes
  frame.set(mac, na + 26);
  const sum = sumWords(frame, na, na + NA_LENGTH);
  frame.writeUInt16BE(checksumValue(sum, pseudoHeaderSum(source, ALL_NODES, ICMPV6, NA_LENGTH)), na + 2);
  return frame;
}
