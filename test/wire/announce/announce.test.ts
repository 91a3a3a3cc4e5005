import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildGratuitousArp, buildUnsolicitedNa } from '../../../wire/announce/index.js';
import { parseIPv4, parseIPv6 } from '../../../wire/codec/index.js';

const mac = Uint8Array.from([0x02, 0x11, 0x22, 0x33, 0x44, 0x55]);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** RFC 1071 written independently of the codec: one's-complement sum of 16-bit words. */
function internetSum(...parts: Uint8Array[]): number {
  const all = Buffer.concat(parts.map((p) => Buffer.from(p)));
  let sum = 0;
  for (let i = 0; i < all.length; i += 2) sum += (all[i]! << 8) | (all[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

test('gratuitous ARP: broadcast request with sender = target = VIP', () => {
  const vip = parseIPv4('198.18.1.100')!;
  const f = buildGratuitousArp(mac, vip);
  assert.equal(f.length, 60, 'padded to the Ethernet minimum');
  assert.equal(hex(f.subarray(0, 6)), 'ffffffffffff');
  assert.equal(hex(f.subarray(6, 12)), '021122334455');
  assert.equal(f.readUInt16BE(12), 0x0806);
  assert.equal(hex(f.subarray(14, 22)), '0001080006040001'); // Ethernet/IPv4, 6/4, request
  assert.equal(hex(f.subarray(22, 28)), '021122334455');
  assert.equal(hex(f.subarray(28, 32)), 'c6120164');
  assert.equal(hex(f.subarray(32, 38)), 'ffffffffffff');
  assert.equal(hex(f.subarray(38, 42)), 'c6120164');
  assert.ok(f.subarray(42).every((b) => b === 0));
});

test('unsolicited NA: all-nodes, hop limit 255, override, target link-layer option, valid checksum', () => {
  const target = parseIPv6('fd00:198:18:1::100')!;
  const source = parseIPv6('fe80::11:22ff:fe33:4455')!;
  const f = buildUnsolicitedNa({ mac, target, source });
  assert.equal(f.length, 14 + 40 + 32);
  assert.equal(hex(f.subarray(0, 6)), '333300000001');
  assert.equal(f.readUInt16BE(12), 0x86dd);
  const ip = f.subarray(14, 54);
  assert.equal(ip[0]! >> 4, 6);
  assert.equal(ip.readUInt16BE(4), 32);
  assert.equal(ip[6], 58);
  assert.equal(ip[7], 255);
  assert.equal(hex(ip.subarray(8, 24)), hex(source));
  assert.equal(hex(ip.subarray(24, 40)), 'ff020000000000000000000000000001');
  const na = f.subarray(54);
  assert.equal(na[0], 136);
  assert.equal(na[1], 0);
  assert.equal(na[4], 0x20, 'override only: not router, not solicited');
  assert.equal(hex(na.subarray(8, 24)), hex(target));
  assert.equal(hex(na.subarray(24, 32)), '0201021122334455');
  // Pseudo-header: source, destination, upper-layer length, next header.
  const pseudo = Buffer.alloc(40);
  pseudo.set(source, 0);
  pseudo.set(ip.subarray(24, 40), 16);
  pseudo.writeUInt32BE(32, 32);
  pseudo[39] = 58;
  assert.equal(internetSum(pseudo, na), 0xffff, 'checksum verifies');
  assert.notEqual(na.readUInt16BE(2), 0);
});

test('NA router flag and wrong-length inputs', () => {
  const target = parseIPv6('fd00:198:18:1::100')!;
  const source = parseIPv6('fe80::1')!;
  assert.equal(buildUnsolicitedNa({ mac, target, source, router: true })[54 + 4], 0xa0);
  assert.throws(() => buildGratuitousArp(mac, target), RangeError);
  assert.throws(() => buildGratuitousArp(mac.subarray(0, 5), parseIPv4('198.18.1.1')!), RangeError);
  assert.throws(() => buildUnsolicitedNa({ mac, target: parseIPv4('198.18.1.1')!, source }), RangeError);
});
