// The hub's receive path on a fake socket: drops by reason, the flood gate,
// and strangers named once per (sender, reason).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../../core/logger.js';
import { WireHub, type HubPacket } from '../../../wire/hub/vrid-hub.js';
import { StrangerReporter } from '../../../wire/hub/strangers.js';
import { decodeVrrp, encodeVrrp, parseAddress, type VrrpAdvert } from '../../../wire/codec/index.js';
import type { ReceivedPacket, VrrpSocket } from '../../../wire/socket/index.js';

const X = parseAddress('198.18.0.77')!;
const GROUP = parseAddress('224.0.0.18')!;
const advert = (over: Partial<VrrpAdvert> = {}) =>
  encodeVrrp({ version: 3, vrid: 40, priority: 50, maxAdvertIntervalCs: 10, addresses: [parseAddress('198.18.0.100')!], ...over } as VrrpAdvert, {
    source: X,
    destination: GROUP,
  });

function setup() {
  let deliver: ((p: ReceivedPacket) => void) | undefined;
  let now = 0;
  const socket: VrrpSocket = {
    family: 4,
    ifindex: 2,
    stats: { received: 0, malformed: 0, receiveErrors: 0, kernelDrops: 7, fullBatches: 1 },
    onPacket: (h) => void (deliver = h),
    onError: () => undefined,
    send: () => ({ ok: true, value: undefined }),
    ref: () => undefined,
    close: () => undefined,
  };
  const strangers = new StrangerReporter(() => now);
  const hub = new WireHub(
    silentLogger(),
    () => ({ ok: true, value: socket }),
    strangers,
    () => now,
  );
  const got: HubPacket[] = [];
  const handed = new Set<HubPacket>();
  // The hub reuses its packet object: a handler copies what it keeps.
  const joined = hub.join({ interface: 'eth0', family: 4, mode: 'multicast', source: '198.18.0.1' }, 40, (p) => {
    handed.add(p);
    got.push({ ...p });
  });
  assert.ok(joined.ok);
  const send = (payload: Uint8Array) => deliver!({ payload: Buffer.from(payload), ttl: 255, ifindex: 2, source: X, destination: GROUP, ageUs: 0 });
  return { hub, got, handed, send, strangers, tick: (ms: number) => (now += ms) };
}

test('each malformation is counted under its reason and its sender named once', () => {
  const { hub, got, send, strangers, tick } = setup();
  const bad = advert();
  bad[6] = bad[6]! ^ 0xff;
  const v4 = advert();
  v4[0] = 0x41;
  const t2 = advert();
  t2[0] = 0x32;
  const z = advert();
  z[1] = 0;
  for (let i = 0; i < 5; i++) {
    for (const p of [bad, advert().subarray(0, 6), advert().subarray(0, 10), v4, t2, z, advert({ vrid: 41 })]) send(p);
    tick(20);
  }
  const s = hub.stats;
  assert.deepEqual(s.dropped, { checksum: 5, truncated: 10, version: 5, type: 5, 'vrid-zero': 5, 'unknown-vrid': 5, flood: 0, malformed: 0 });
  assert.equal(s.malformed, 30, 'every reason but unknown-vrid and flood');
  assert.equal(s.unknownVrid, 5);
  assert.equal(s.shed, 7, "the socket's kernel drops");
  assert.equal(got.length, 0);
  const named = strangers
    .stats()
    .recent.map((r) => r.reason)
    .sort();
  assert.deepEqual(named, ['checksum', 'truncated', 'type', 'unknown-vrid', 'version', 'vrid-zero']);
});

test('copies of one advert beyond 3 per 10 ms are shed before decoding; another priority still passes', () => {
  const { hub, got, send, tick } = setup();
  const copy = advert();
  for (let i = 0; i < 1000; i++) send(copy);
  assert.equal(got.length, 3);
  assert.equal(hub.stats.dropped.flood, 997);
  send(advert({ priority: 200 }));
  assert.equal(got.length, 4, 'the real Master at its own priority is not starved');
  tick(10);
  send(copy);
  assert.equal(got.length, 5, 'the next window admits again');
});

test('a socket is held only while every VRID on it allows a hold, for the shortest one; the moderator is handed to the socket', () => {
  const holds: number[] = [];
  let moderatorGiven = false;
  const socket: VrrpSocket = {
    family: 4,
    ifindex: 2,
    stats: { received: 0, malformed: 0, receiveErrors: 0 },
    onPacket: () => undefined,
    onError: () => undefined,
    send: () => ({ ok: true, value: undefined }),
    setModeration: (ms) => void holds.push(ms),
    ref: () => undefined,
    close: () => undefined,
  };
  const hub = new WireHub(silentLogger(), (o) => {
    moderatorGiven = o.moderator !== undefined;
    return { ok: true, value: socket };
  });
  const key = { interface: 'eth0', family: 4 as const, mode: 'multicast' as const, source: '198.18.0.1' };
  const join = (vrid: number) => {
    const r = hub.join(key, vrid, () => undefined);
    assert.ok(r.ok);
    return r.channel;
  };
  const a = join(1);
  const b = join(2);
  assert.ok(moderatorGiven);
  a.setReceiveHold(100);
  assert.deepEqual(holds, [0], 'VRID 2 allows no hold yet');
  b.setReceiveHold(50);
  assert.deepEqual(holds, [0, 50], 'both allow: the shorter');
  a.setReceiveHold(0);
  assert.deepEqual(holds, [0, 50, 0], 'one became Master: no hold');
  a.setReceiveHold(100);
  b.leave();
  assert.deepEqual(holds, [0, 50, 0, 50, 100], 'the VRID that left no longer counts');
  assert.deepEqual(hub.stats.moderation, { held: 0, holds: 0, drains: 0 });
});

test('a repeated advert is decoded once: the same advert object, equal to a fresh decode; other bytes decode anew', () => {
  const { got, handed, send, tick } = setup();
  for (let i = 0; i < 3; i++) {
    send(advert());
    tick(1000);
  }
  send(advert({ priority: 200 }));
  assert.equal(got.length, 4);
  assert.equal(got[1]!.advert, got[0]!.advert, 'the second copy reuses the first decode');
  assert.equal(got[2]!.advert, got[0]!.advert);
  const fresh = decodeVrrp(advert(), { source: X, destination: GROUP });
  assert.ok(fresh.ok);
  assert.deepEqual(got[2]!.advert, fresh.packet, 'and it is what decoding those bytes gives');
  assert.notEqual(got[3]!.advert, got[0]!.advert);
  assert.equal(got[3]!.advert.priority, 200);
  assert.equal(got[0]!.advert.priority, 50, 'the earlier decode is untouched');
  assert.equal(handed.size, 1, 'one packet object handed every time');
});
