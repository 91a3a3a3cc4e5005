import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeVrrp, encodeVrrp, simplePassword, type DecodeErrorKind, type PacketContext } from '../../../wire/codec/index.js';
import { fixChecksum, ip, V4_MCAST, V6_MCAST } from './helpers.js';

const v2 = encodeVrrp(
  { version: 2, vrid: 51, priority: 100, advertIntervalSec: 1, authType: 'simple', authData: simplePassword('secret12'), addresses: [ip('198.18.0.100')] },
  V4_MCAST,
);
const v3 = encodeVrrp({ version: 3, vrid: 51, priority: 100, maxAdvertIntervalCs: 100, addresses: [ip('198.18.0.100')] }, V4_MCAST);

function patched(base: Uint8Array, at: number, value: number, withPseudoHeader: boolean): Uint8Array {
  const out = Uint8Array.from(base);
  out[at] = value;
  return fixChecksum(out, V4_MCAST, withPseudoHeader);
}

// Each row crafts the smallest input that produces one error kind; the checksum is
// fixed up after patching so that the intended check is the one that fails.
const cases: Array<[DecodeErrorKind, Uint8Array, PacketContext]> = [
  ['short-buffer', new Uint8Array(0), V4_MCAST],
  ['short-buffer', v3.subarray(0, 7), V4_MCAST],
  ['bad-version', patched(v3, 0, 0x41, true), V4_MCAST],
  ['bad-version', patched(v3, 0, 0x11, true), V4_MCAST],
  ['bad-type', patched(v3, 0, 0x32, true), V4_MCAST],
  ['family-mismatch', v2, V6_MCAST],
  ['family-mismatch', v3, { source: ip('198.18.0.1'), destination: ip('ff02::12') }],
  ['family-mismatch', v3, { source: new Uint8Array(5), destination: new Uint8Array(5) }],
  ['address-count-mismatch', patched(v3, 3, 2, true), V4_MCAST],
  ['address-count-mismatch', v3.subarray(0, 11), V4_MCAST],
  ['address-count-mismatch', Buffer.concat([v3, Buffer.alloc(4)]), V4_MCAST],
  ['address-count-mismatch', v2.subarray(0, 12), V4_MCAST] /* auth data missing */,
  ['address-count-mismatch', v3, V6_MCAST] /* 4-byte address where IPv6 needs 16 */,
  ['bad-checksum', Uint8Array.from(v3).fill(0xff, 6, 8), V4_MCAST],
  ['bad-checksum', Uint8Array.from(v2).fill(0xff, 6, 8), V4_MCAST],
  ['vrid-zero', patched(v3, 1, 0, true), V4_MCAST],
  ['vrid-zero', patched(v2, 1, 0, false), V4_MCAST],
  ['bad-interval', patched(v2, 5, 0, false), V4_MCAST],
  ['bad-interval', patched(patched(v3, 4, 0xf0, true), 5, 0, true), V4_MCAST] /* reserved bits set, interval 0 */,
  ['unsupported-auth-type', patched(v2, 4, 2, false), V4_MCAST],
  ['unknown-auth-type', patched(v2, 4, 3, false), V4_MCAST],
  ['unknown-auth-type', patched(v2, 4, 255, false), V4_MCAST],
];

for (const [kind, input, context] of cases) {
  test(`${kind}: crafted input of ${input.length} bytes`, () => {
    const r = decodeVrrp(input, context);
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.kind, kind, r.error.detail);
      assert.ok(r.error.detail.length > 10);
    }
  });
}

test('reserved bits of VRRPv3 are ignored on receive (RFC 5798 §5.2.5)', () => {
  const r = decodeVrrp(patched(v3, 4, 0xf0, true), V4_MCAST);
  assert.ok(r.ok);
  assert.equal(r.packet.version === 3 && r.packet.maxAdvertIntervalCs, 100);
});

test('a count of zero addresses is syntactically valid', () => {
  const r = decodeVrrp(encodeVrrp({ version: 3, vrid: 9, priority: 0, maxAdvertIntervalCs: 100, addresses: [] }, V4_MCAST), V4_MCAST);
  assert.ok(r.ok);
  assert.equal(r.packet.addresses.length, 0);
});
