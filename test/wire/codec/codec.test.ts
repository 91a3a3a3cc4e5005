import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkAuthentication,
  decodeIpv4Datagram,
  decodeVrrp,
  encodeVrrp,
  noAuthData,
  simplePassword,
  type VrrpV2Advert,
  type VrrpV3Advert,
} from '../../../wire/codec/index.js';
import { ctx, fixChecksum, hex, ip, V4_MCAST, V6_MCAST } from './helpers.js';

const v2: VrrpV2Advert = {
  version: 2,
  vrid: 51,
  priority: 100,
  advertIntervalSec: 1,
  authType: 'simple',
  authData: simplePassword('secret12'),
  addresses: [ip('198.18.0.100'), ip('198.18.0.101')],
};
const v3v4: VrrpV3Advert = { version: 3, vrid: 7, priority: 254, maxAdvertIntervalCs: 100, addresses: [ip('198.18.0.100')] };
const v3v6: VrrpV3Advert = { version: 3, vrid: 7, priority: 1, maxAdvertIntervalCs: 4095, addresses: [ip('fe80::7'), ip('fd00:198:18::7')] };

test('VRRPv2 layout: header, addresses, then 8 bytes of auth data', () => {
  const bytes = encodeVrrp(v2, V4_MCAST);
  assert.equal(bytes.length, 8 + 2 * 4 + 8);
  assert.equal(bytes[0], 0x21);
  assert.equal(bytes[1], 51);
  assert.equal(bytes[2], 100);
  assert.equal(bytes[3], 2);
  assert.equal(bytes[4], 1, 'auth type simple');
  assert.equal(bytes[5], 1, 'advert interval seconds');
  assert.equal(hex(bytes.subarray(8, 16)), 'c6120064c6120065');
  assert.equal(bytes.subarray(16).toString('latin1'), 'secret12');
});

test('VRRPv3 layout: 12-bit interval, no auth data', () => {
  const bytes = encodeVrrp({ ...v3v4, maxAdvertIntervalCs: 0xabc }, V4_MCAST);
  assert.equal(bytes.length, 12);
  assert.equal(bytes[0], 0x31);
  assert.equal(bytes[4], 0x0a);
  assert.equal(bytes[5], 0xbc);
});

test('round trip of v2, v3/IPv4 and v3/IPv6 with the reported checksum variant', () => {
  const cases = [
    [v2, V4_MCAST, 'without-pseudo-header'],
    [v3v4, V4_MCAST, 'with-pseudo-header'],
    [v3v6, V6_MCAST, 'with-pseudo-header'],
  ] as const;
  for (const [packet, context, variant] of cases) {
    const r = decodeVrrp(encodeVrrp(packet, context), context);
    assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
    assert.deepEqual(r.packet, packet);
    assert.equal(r.checksumVariant, variant);
  }
});

test('decoded addresses are copies, not views of the receive buffer', () => {
  const bytes = encodeVrrp(v3v4, V4_MCAST);
  const r = decodeVrrp(bytes, V4_MCAST);
  bytes.fill(0);
  assert.ok(r.ok);
  assert.deepEqual(r.packet.addresses[0], ip('198.18.0.100'));
});

test('VRRPv3/IPv4 checksum variants: encode either, decode reports which; pinning refuses the other', () => {
  const withPh = encodeVrrp(v3v4, V4_MCAST);
  const withoutPh = encodeVrrp(v3v4, V4_MCAST, { checksumVariant: 'without-pseudo-header' });
  assert.notEqual(hex(withPh), hex(withoutPh));
  assert.equal(hex(withPh.subarray(8)), hex(withoutPh.subarray(8)), 'only the checksum differs');

  const a = decodeVrrp(withPh, V4_MCAST);
  const b = decodeVrrp(withoutPh, V4_MCAST);
  assert.ok(a.ok && b.ok);
  assert.equal(a.checksumVariant, 'with-pseudo-header');
  assert.equal(b.checksumVariant, 'without-pseudo-header');
  assert.deepEqual(a.packet, b.packet);

  const pinnedWith = decodeVrrp(withoutPh, V4_MCAST, { checksum: 'with-pseudo-header' });
  assert.equal(!pinnedWith.ok && pinnedWith.error.kind, 'bad-checksum');
  const pinnedWithout = decodeVrrp(withPh, V4_MCAST, { checksum: 'without-pseudo-header' });
  assert.equal(!pinnedWithout.ok && pinnedWithout.error.kind, 'bad-checksum');
});

test('the pseudo-header carries the real destination: a unicast advert does not verify against the multicast group', () => {
  const unicast = ctx('198.18.0.1', '198.18.0.2');
  const bytes = encodeVrrp(v3v4, unicast);
  assert.ok(decodeVrrp(bytes, unicast).ok);
  const r = decodeVrrp(bytes, V4_MCAST, { checksum: 'with-pseudo-header' });
  assert.equal(!r.ok && r.error.kind, 'bad-checksum');
  const v6 = ctx('fd00:198:18::1', 'fd00:198:18::2');
  assert.equal(decodeVrrp(encodeVrrp(v3v6, v6), V6_MCAST).ok, false);
});

test('IPv6 always uses the pseudo-header, whatever the encode option says', () => {
  const a = encodeVrrp(v3v6, V6_MCAST);
  const b = encodeVrrp(v3v6, V6_MCAST, { checksumVariant: 'without-pseudo-header' });
  assert.equal(hex(a), hex(b));
  const r = decodeVrrp(a, V6_MCAST, { checksum: 'without-pseudo-header' });
  assert.ok(r.ok);
  assert.equal(r.checksumVariant, 'with-pseudo-header');
});

test('versions decode in either context: the caller decides what to do with them', () => {
  const r = decodeVrrp(encodeVrrp(v2, V4_MCAST), V4_MCAST, { checksum: 'with-pseudo-header' });
  assert.ok(r.ok);
  assert.equal(r.packet.version, 2);
});

test('decodeIpv4Datagram decodes header and message together', () => {
  const vrrp = encodeVrrp(v3v4, V4_MCAST);
  const header = Buffer.from('45c00000000000 00ff70 0000 c6120001 e0000012'.replace(/ /g, ''), 'hex');
  header.writeUInt16BE(20 + vrrp.length, 2);
  const datagram = Buffer.concat([header, vrrp]);
  const r = decodeIpv4Datagram(datagram);
  assert.ok(r.ok);
  assert.equal(r.header.ttl, 255);
  assert.deepEqual(r.header.source, ip('198.18.0.1'));
  assert.deepEqual(r.packet, v3v4);

  datagram[9] = 51;
  const ah = decodeIpv4Datagram(datagram);
  assert.equal(!ah.ok && ah.error.kind, 'not-vrrp');
  const short = decodeIpv4Datagram(datagram.subarray(0, 10));
  assert.equal(!short.ok && short.error.kind, 'short-buffer');
  datagram[9] = 112;
  datagram[20 + 1] = 0;
  const vrid0 = decodeIpv4Datagram(Buffer.concat([header, fixChecksum(datagram.subarray(20), V4_MCAST, true)]));
  assert.equal(!vrid0.ok && vrid0.error.kind, 'vrid-zero');
});

test('simplePassword truncates to 8 bytes and NUL-pads, as keepalived does', () => {
  assert.equal(hex(simplePassword('secret123456')), hex(Buffer.from('secret12')));
  assert.equal(hex(simplePassword('abc')), '6162630000000000');
  assert.equal(hex(simplePassword('')), '0000000000000000');
  assert.equal(hex(noAuthData()), '0000000000000000');
});

test('checkAuthentication: keepalived semantics for none and simple passwords', () => {
  const packet = decodeVrrp(encodeVrrp(v2, V4_MCAST), V4_MCAST);
  assert.ok(packet.ok && packet.packet.version === 2);
  const p = packet.packet;
  assert.deepEqual(checkAuthentication(p, { type: 'simple', password: 'secret12' }), { ok: true });
  assert.deepEqual(checkAuthentication(p, { type: 'simple', password: 'secret12-and-more' }), { ok: true }, 'configured password is truncated too');
  const wrong = checkAuthentication(p, { type: 'simple', password: 'secret13' });
  assert.equal(!wrong.ok && wrong.error.kind, 'auth-mismatch');
  const prefix = checkAuthentication(p, { type: 'simple', password: 'secret1' });
  assert.equal(!prefix.ok && prefix.error.kind, 'auth-mismatch', 'NUL padding is compared');
  const typeMismatch = checkAuthentication(p, { type: 'none' });
  assert.equal(!typeMismatch.ok && typeMismatch.error.kind, 'auth-type-mismatch');
  const none: VrrpV2Advert = { ...v2, authType: 'none', authData: noAuthData() };
  assert.deepEqual(checkAuthentication(none, { type: 'none' }), { ok: true });
  const noneVsPass = checkAuthentication(none, { type: 'simple', password: 'secret12' });
  assert.equal(!noneVsPass.ok && noneVsPass.error.kind, 'auth-type-mismatch');
});

test('encode refuses impossible descriptions (programmer mistakes)', () => {
  const bad: Array<[string, () => unknown]> = [
    ['vrid 0', () => encodeVrrp({ ...v3v4, vrid: 0 }, V4_MCAST)],
    ['vrid 256', () => encodeVrrp({ ...v3v4, vrid: 256 }, V4_MCAST)],
    ['priority -1', () => encodeVrrp({ ...v3v4, priority: -1 }, V4_MCAST)],
    ['interval 0', () => encodeVrrp({ ...v3v4, maxAdvertIntervalCs: 0 }, V4_MCAST)],
    ['interval 4096', () => encodeVrrp({ ...v3v4, maxAdvertIntervalCs: 4096 }, V4_MCAST)],
    ['fractional', () => encodeVrrp({ ...v3v4, maxAdvertIntervalCs: 1.5 }, V4_MCAST)],
    ['v2 interval 256', () => encodeVrrp({ ...v2, advertIntervalSec: 256 }, V4_MCAST)],
    ['v2 over IPv6', () => encodeVrrp({ ...v2, addresses: [] }, V6_MCAST)],
    ['v6 address in v4 packet', () => encodeVrrp(v3v6, V4_MCAST)],
    ['auth data length', () => encodeVrrp({ ...v2, authData: new Uint8Array(4) }, V4_MCAST)],
    ['256 addresses', () => encodeVrrp({ ...v3v4, addresses: new Array(256).fill(ip('198.18.0.1')) }, V4_MCAST)],
    ['mixed context', () => encodeVrrp(v3v4, { source: ip('198.18.0.1'), destination: ip('ff02::12') })],
  ];
  for (const [name, f] of bad) assert.throws(f, RangeError, name);
});
