// Pure: the receive checks between a decoded advert and an instance's machine. No network.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { planInstance, type InstancePlan } from '../../../infra/vrrp/plan.js';
import { screenAdvert, type PacketMeta } from '../../../actors/vrrp/receive.js';
import { noAuthData, parseAddress, simplePassword, type VrrpAdvert } from '../../../wire/codec/index.js';
import { instanceFrom, LAN_HOST } from '../../infra/vrrp/fixtures.js';

const a = (text: string) => parseAddress(text)!;
const IFINDEX = 2;

function planOf(body: string): InstancePlan {
  const r = planInstance(instanceFrom(body), LAN_HOST);
  assert.ok(r.ok, JSON.stringify(r));
  return r.plan;
}

const V3 = planOf('  version 3\n  advert_int 0.1\n  virtual_ipaddress {\n    198.18.0.10\n    198.18.0.20\n  }');
const V2 = planOf(
  '  version 2\n  authentication {\n    auth_type PASS\n    auth_pass secret\n  }\n  virtual_ipaddress {\n    198.18.0.10\n    198.18.0.20\n  }',
);
const UNI = planOf(
  '  version 3\n  unicast_peer {\n    198.18.0.2\n    198.18.0.3 min_ttl 250 max_ttl 254\n  }\n  virtual_ipaddress {\n    198.18.0.10\n    198.18.0.20\n  }',
);

const v3 = (over: Partial<VrrpAdvert> = {}): VrrpAdvert =>
  ({ version: 3, vrid: 51, priority: 100, maxAdvertIntervalCs: 10, addresses: [a('198.18.0.10'), a('198.18.0.20')], ...over }) as VrrpAdvert;
const v2 = (password: string | null, over: Partial<VrrpAdvert> = {}): VrrpAdvert =>
  ({
    version: 2,
    vrid: 51,
    priority: 100,
    advertIntervalSec: 1,
    authType: password === null ? 'none' : 'simple',
    authData: password === null ? noAuthData() : simplePassword(password),
    addresses: [a('198.18.0.10'), a('198.18.0.20')],
    ...over,
  }) as VrrpAdvert;
const meta = (over: Partial<PacketMeta> = {}): PacketMeta => ({
  ttl: 255,
  ifindex: IFINDEX,
  expectedIfindex: IFINDEX,
  source: a('198.18.0.2'),
  multicastDestination: true,
  ...over,
});
/** As a unicast advert to one of our addresses arrives. */
const uni = (over: Partial<PacketMeta> = {}) => meta({ multicastDestination: false, ...over });

function reason(plan: InstancePlan, advert: VrrpAdvert, m: PacketMeta): string {
  const r = screenAdvert(plan, advert, m);
  return r.ok ? 'ok' : r.reason;
}

describe('screenAdvert', () => {
  test('a good advert becomes an ADVERT event with the interval in centiseconds', () => {
    const r = screenAdvert(V3, v3({ priority: 120 }), meta());
    assert.ok(r.ok);
    assert.deepEqual({ ...r.event }, { type: 'ADVERT', priority: 120, intervalCs: 10, source: a('198.18.0.2'), version: 3 });
    const stamped = screenAdvert(V3, v3({ priority: 120 }), { ...meta(), receivedAt: 1234.5 });
    assert.ok(stamped.ok);
    assert.equal(stamped.event.receivedAt, 1234.5, 'the arrival stamp rides along when known');
    const r2 = screenAdvert(V2, v2('secret', { advertIntervalSec: 3 } as Partial<VrrpAdvert>), meta());
    assert.ok(r2.ok);
    assert.equal(r2.event.intervalCs, 300);
  });

  test('the address list may come in any order', () => {
    assert.equal(reason(V3, v3({ addresses: [a('198.18.0.20'), a('198.18.0.10')] }), meta()), 'ok');
  });

  test('address-list-mismatch: a missing, extra or different address', () => {
    assert.equal(reason(V3, v3({ addresses: [a('198.18.0.10')] }), meta()), 'address-list-mismatch');
    assert.equal(reason(V3, v3({ addresses: [a('198.18.0.10'), a('198.18.0.20'), a('198.18.0.30')] }), meta()), 'address-list-mismatch');
    assert.equal(reason(V3, v3({ addresses: [a('198.18.0.10'), a('198.18.0.21')] }), meta()), 'address-list-mismatch');
    const r = screenAdvert(V3, v3({ addresses: [a('198.18.0.10')] }), meta());
    assert.ok(!r.ok && /198\.18\.0\.10/.test(r.detail), 'the detail names the addresses');
  });

  test('wrong-interface: arrived on another ifindex', () => {
    assert.equal(reason(V3, v3(), meta({ ifindex: 3 })), 'wrong-interface');
  });

  test('own-packet: our own source address', () => {
    assert.equal(reason(V3, v3(), meta({ source: a('198.18.0.1') })), 'own-packet');
  });

  test('bad-ttl: multicast needs exactly 255 (RFC 5798 7.1)', () => {
    for (const ttl of [254, 64, 1, -1]) assert.equal(reason(V3, v3(), meta({ ttl })), 'bad-ttl', `TTL ${ttl}`);
  });

  test('version-mismatch: a v2 advert on a v3 instance and the reverse', () => {
    assert.equal(reason(V3, v2(null), meta()), 'version-mismatch');
    assert.equal(reason(V2, v3(), meta()), 'version-mismatch');
  });

  test('auth-mismatch (v2 PASS): wrong password, or no authentication', () => {
    assert.equal(reason(V2, v2('secret'), meta()), 'ok');
    assert.equal(reason(V2, v2('secreT'), meta()), 'auth-mismatch');
    assert.equal(reason(V2, v2(null), meta()), 'auth-mismatch');
  });

  test('unknown-peer: a unicast instance accepts only its configured peers', () => {
    assert.equal(reason(UNI, v3(), uni({ source: a('198.18.0.2') })), 'ok');
    assert.equal(reason(UNI, v3(), uni({ source: a('198.18.0.99') })), 'unknown-peer');
  });

  test("unicast TTL: any TTL by default (keepalived's 0..255: unicast may cross routers), else the peer's range", () => {
    for (const ttl of [255, 254, 64]) assert.equal(reason(UNI, v3(), uni({ source: a('198.18.0.2'), ttl })), 'ok', `default peer, TTL ${ttl}`);
    assert.equal(reason(UNI, v3(), uni({ source: a('198.18.0.3'), ttl: 252 })), 'ok');
    assert.equal(reason(UNI, v3(), uni({ source: a('198.18.0.3'), ttl: 255 })), 'bad-ttl');
    assert.equal(reason(UNI, v3(), uni({ source: a('198.18.0.3'), ttl: 249 })), 'bad-ttl');
  });

  test('wrong-destination: unicast to a multicast instance, multicast to a unicast one (keepalived refuses both)', () => {
    assert.equal(reason(V3, v3(), uni()), 'wrong-destination');
    assert.equal(reason(UNI, v3(), meta({ source: a('198.18.0.2') })), 'wrong-destination');
  });

  test('checks run in a fixed order, so one bad packet is counted once under the first reason', () => {
    // Wrong interface, bad TTL, wrong version and wrong list at once: the interface wins.
    assert.equal(reason(V3, v2(null, { addresses: [] }), meta({ ifindex: 9, ttl: 64 })), 'wrong-interface');
    assert.equal(reason(V3, v2(null, { addresses: [] }), meta({ ttl: 64 })), 'bad-ttl');
    assert.equal(reason(V3, v2(null, { addresses: [] }), meta()), 'version-mismatch');
    assert.equal(reason(V2, v2('nope', { addresses: [] }), meta()), 'auth-mismatch');
  });
});
