import { BROADCAST_MAC, ETHERTYPE_ARP, ethernetFrame, requireLength } from './ethernet.js';

/**
 * A gratuitous ARP for an IPv4 address now served by `mac`: an ARP request
 * (RFC 5227 section 3 "ARP Announcement") broadcast, with sender and target
 * protocol address both the VIP. The target hardware address is all-ones, as
 * keepalived sends it (peers ignore it in a request). Linux peers update an
 * existing neighbour entry from it; they do not create one (arp_accept=0).
 *
 * @param mac 6 bytes, the interface's MAC (also the frame's source).
 * @param address 4 bytes, the IPv4 address being announced.
 * @returns a complete Ethernet frame padded to 60 bytes, for sendEthernetFrame.
 */
export function buildGratuitousArp(mac: Uint8Array, address: Uint8Array): Buffer {
  requireLength('IPv4 address', address, 4);
  const frame = ethernetFrame(BROADCAST_MAC, mac, ETHERTYPE_ARP, 28);
  const arp = 14;
  frame.writeUInt16BE(1, arp); // hardware type Ethernet
  frame.writeUInt16BE(0x0800, arp + 2); // protocol IPv4
  frame[arp + 4] = 6;
  frame[arp + 5] = 4;
  frame.writeUInt16BE(1, arp + 6); // request
  frame.set(mac, arp + 8);
  frame.set(address, arp + 14);
  frame.set(BROADCAST_MAC, arp + 18);
  frame.set(address, arp + 24);
  return frame;
}
