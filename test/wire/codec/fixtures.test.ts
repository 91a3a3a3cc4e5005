// Byte-exact vectors captured from keepalived by test/fixtures/vrrp/capture.sh. Each
// expectation below restates the keepalived.conf instance that produced the advert.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../../core/paths.js';
import {
  checkAuthentication,
  decodeIpv4Datagram,
  decodeVrrp,
  encodeVrrp,
  formatAddress,
  parseIpv4Header,
  type ChecksumVariant,
  type PacketContext,
} from '../../../wire/codec/index.js';
import { fromHex, hex, ip } from './helpers.js';

interface Fixture {
  description: string;
  keepalivedVersion: string;
  family: 'ipv4' | 'ipv6';
  source: string;
  destination: string;
  ttlOrHopLimit: number;
  vrrpHex: string;
  ipHeaderHex?: string;
  derived?: string;
}

interface Expected {
  version: 2 | 3;
  vrid: number;
  priority: number;
  /** Seconds for v2, centiseconds for v3, as configured by advert_int. */
  interval: number;
  addresses: string[];
  checksumVariant: ChecksumVariant;
  /** The auth_pass as written in keepalived.conf (v2 only). */
  password?: string;
}

const V2_PASS_VIPS = ['198.18.10.51', '198.18.10.151'];
const expected: Record<string, Expected> = {
  'v2-ipv4-pass': { version: 2, vrid: 51, priority: 150, interval: 1, addresses: V2_PASS_VIPS, checksumVariant: 'without-pseudo-header', password: 'secret12' },
  'v2-ipv4-pass-truncated': {
    version: 2,
    vrid: 55,
    priority: 101,
    interval: 2,
    addresses: ['198.18.10.55'],
    checksumVariant: 'without-pseudo-header',
    password: 'secret12345',
  },
  'v2-ipv4-priority-0': {
    version: 2,
    vrid: 51,
    priority: 0,
    interval: 1,
    addresses: V2_PASS_VIPS,
    checksumVariant: 'without-pseudo-header',
    password: 'secret12',
  },
  'v3-ipv4-multicast': { version: 3, vrid: 52, priority: 200, interval: 150, addresses: ['198.18.10.52'], checksumVariant: 'with-pseudo-header' },
  'v3-ipv4-no-pseudo-header': { version: 3, vrid: 52, priority: 200, interval: 150, addresses: ['198.18.10.52'], checksumVariant: 'without-pseudo-header' },
  'v3-ipv4-priority-0': { version: 3, vrid: 52, priority: 0, interval: 150, addresses: ['198.18.10.52'], checksumVariant: 'with-pseudo-header' },
  'v3-ipv4-unicast': { version: 3, vrid: 54, priority: 120, interval: 100, addresses: ['198.18.10.54'], checksumVariant: 'with-pseudo-header' },
  'v3-ipv6-multicast': {
    version: 3,
    vrid: 53,
    priority: 100,
    interval: 100,
    addresses: ['fd00:198:18:10::53', 'fd00:198:18:10::153'],
    checksumVariant: 'with-pseudo-header',
  },
};
const expectedEndpoints: Record<string, [string, string]> = {
  'v3-ipv4-unicast': ['198.18.10.1', '198.18.10.2'],
  'v3-ipv6-multicast': ['fe80::ff:fe18:1001', 'ff02::12'],
};

const dir = join(repoRoot, 'test', 'fixtures', 'vrrp');
const names = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -5))
  .sort();
const load = (name: string): Fixture => JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as Fixture;
const contextOf = (f: Fixture): PacketContext => ({ source: ip(f.source), destination: ip(f.destination) });

test('every fixture file has expectations, and every expectation a fixture', () => {
  assert.deepEqual(names, Object.keys(expected).sort());
});

for (const name of names) {
  test(`fixture ${name}: decodes to its keepalived config and re-encodes byte-exactly`, () => {
    const f = load(name);
    const want = expected[name]!;
    assert.equal(f.keepalivedVersion, '2.2.7');
    assert.equal(f.ttlOrHopLimit, 255);
    const [src, dst] = expectedEndpoints[name] ?? ['198.18.10.1', '224.0.0.18'];
    assert.equal(f.source, src);
    assert.equal(f.destination, dst);
    assert.equal(f.family, want.addresses[0]!.includes(':') ? 'ipv6' : 'ipv4');

    const context = contextOf(f);
    const bytes = fromHex(f.vrrpHex);
    const r = decodeVrrp(bytes, context);
    assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
    const p = r.packet;
    assert.equal(r.checksumVariant, want.checksumVariant);
    assert.equal(p.version, want.version);
    assert.equal(p.vrid, want.vrid);
    assert.equal(p.priority, want.priority);
    assert.deepEqual(p.addresses.map(formatAddress), want.addresses);
    if (p.version === 2) {
      assert.equal(p.advertIntervalSec, want.interval);
      assert.equal(p.authType, 'simple');
      assert.equal(Buffer.from(p.authData).toString('latin1'), 'secret12', 'keepalived sends at most 8 password bytes');
      assert.deepEqual(checkAuthentication(p, { type: 'simple', password: want.password! }), { ok: true });
      const other = checkAuthentication(p, { type: 'simple', password: 'secret13' });
      assert.equal(!other.ok && other.error.kind, 'auth-mismatch');
    } else {
      assert.equal(p.maxAdvertIntervalCs, want.interval);
    }

    const again = encodeVrrp(p, context, { checksumVariant: r.checksumVariant });
    assert.equal(hex(again), f.vrrpHex);
  });

  test(`fixture ${name}: IP layer as captured`, () => {
    const f = load(name);
    const context = contextOf(f);
    // The fixture's address text comes from the WHATWG URL serialiser; ours must agree.
    assert.equal(formatAddress(context.source), f.source);
    assert.equal(formatAddress(context.destination), f.destination);
    if (f.family === 'ipv6') {
      assert.equal(f.ipHeaderHex, undefined);
      return;
    }
    const datagram = new Uint8Array([...fromHex(f.ipHeaderHex!), ...fromHex(f.vrrpHex)]);
    const h = parseIpv4Header(datagram);
    assert.ok(h.ok);
    assert.equal(h.header.ttl, f.ttlOrHopLimit);
    assert.equal(h.header.protocol, 112);
    assert.equal(h.header.headerLength, 20);
    assert.equal(formatAddress(h.header.source), f.source);
    assert.equal(formatAddress(h.header.destination), f.destination);
    const d = decodeIpv4Datagram(datagram);
    assert.ok(d.ok);
    assert.deepEqual(d.packet, (decodeVrrp(fromHex(f.vrrpHex), context) as { packet: unknown }).packet);
  });
}

test('checksum variants: each VRRPv3/IPv4 fixture is refused when its variant is pinned away', () => {
  const withPh = load('v3-ipv4-multicast');
  const withoutPh = load('v3-ipv4-no-pseudo-header');
  assert.match(withoutPh.derived ?? '', /tshark/, 'the derived fixture says how it was made and checked');
  const a = decodeVrrp(fromHex(withPh.vrrpHex), contextOf(withPh), { checksum: 'without-pseudo-header' });
  assert.equal(!a.ok && a.error.kind, 'bad-checksum');
  const b = decodeVrrp(fromHex(withoutPh.vrrpHex), contextOf(withoutPh), { checksum: 'with-pseudo-header' });
  assert.equal(!b.ok && b.error.kind, 'bad-checksum');
  const c = decodeVrrp(fromHex(withoutPh.vrrpHex), contextOf(withoutPh), { checksum: 'without-pseudo-header' });
  assert.ok(c.ok && c.checksumVariant === 'without-pseudo-header');
  // Encoding the captured advert's contents the RFC 9568 way reproduces the derived bytes.
  assert.ok(c.ok);
  assert.equal(hex(encodeVrrp(c.packet, contextOf(withPh), { checksumVariant: 'without-pseudo-header' })), withoutPh.vrrpHex);
});

test('keepalived computes the unicast pseudo-header with the peer address, not the multicast group', () => {
  const f = load('v3-ipv4-unicast');
  const asMulticast = { source: ip(f.source), destination: ip('224.0.0.18') };
  const r = decodeVrrp(fromHex(f.vrrpHex), asMulticast, { checksum: 'with-pseudo-header' });
  assert.equal(!r.ok && r.error.kind, 'bad-checksum');
});
