// Pure: configured instance + host interfaces (as data) → InstancePlan. No network.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { planInstance, scriptTrack, SOURCE_ADDRESS_TRACK, SOURCE_TRACK, type InstancePlan } from '../../../infra/vrrp/plan.js';
import type { SyncGroup, TrackRef, VrrpScript } from '../../../config/model.js';
import { formatAddress, simplePassword } from '../../../wire/codec/index.js';
import { host, instanceFrom, LAN_HOST } from './fixtures.js';
import { loadKeepalivedText } from '../../../config/keepalived/index.js';

const VIPS4 = '  virtual_ipaddress {\n    198.18.0.20/24\n    198.18.0.10\n  }';
const VIPS6 = '  virtual_ipaddress {\n    fd00:198:18::20/64\n  }';

function planOf(body: string, hostIfaces = LAN_HOST): InstancePlan {
  const r = planInstance(instanceFrom(body), hostIfaces);
  assert.ok(r.ok, `plan failed: ${JSON.stringify(r)}`);
  return r.plan;
}

describe('planInstance: source address', () => {
  test("IPv4: the interface's first IPv4 address", () => {
    const p = planOf(VIPS4);
    assert.equal(p.family, 4);
    assert.equal(p.source, '198.18.0.1');
    assert.deepEqual([...p.sourceBytes], [198, 18, 0, 1]);
    assert.deepEqual([...p.machine.primaryAddress], [198, 18, 0, 1]);
  });

  test('IPv6: the link-local address, even when a global one is listed first (RFC 5798 5.1.2.1)', () => {
    const p = planOf(VIPS6);
    assert.equal(p.family, 6);
    assert.equal(p.source, 'fe80::1');
    assert.equal(p.sourceBytes.length, 16);
    assert.equal(p.group, 'ff02::12');
  });

  test('mcast_src_ip and unicast_src_ip override the interface address', () => {
    assert.equal(planOf(`  mcast_src_ip 198.18.0.9\n${VIPS4}`).source, '198.18.0.9');
    assert.equal(planOf(`  unicast_src_ip 198.18.0.9\n  unicast_peer {\n    198.18.0.2\n  }\n${VIPS4}`).source, '198.18.0.9');
  });

  test('errors name the instance: no interface on the host, no address of the family', () => {
    const missing = planInstance(instanceFrom(`  interface eth7\n${VIPS4}`), LAN_HOST);
    assert.ok(!missing.ok);
    assert.equal(missing.error.instance, 'VI_1');
    assert.match(missing.error.message, /eth7 does not exist/);
    assert.match(missing.error.hint ?? '', /eth0, eth1/);

    const bare = host({ name: 'eth0', up: true, addresses: [] });
    const noV4 = planInstance(instanceFrom(VIPS4), bare);
    assert.ok(!noV4.ok);
    assert.match(noV4.error.message, /no IPv4 address/);
  });
});

describe('planInstance: IPv6 without a link-local address yet', () => {
  const v4only = host({ name: 'eth0', up: false, addresses: [{ address: '198.18.0.1', family: 4, prefix: 24 }] });

  test('planned with a pending source that holds it in Fault (keepalived starts it in FAULT)', () => {
    const p = planOf(VIPS6, v4only);
    assert.equal(p.sourcePending, true);
    assert.equal(p.source, '::');
    assert.deepEqual([...p.sourceBytes], new Array(16).fill(0));
    // The machine's primary address is the plan's buffer, filled in place once the address is known.
    assert.equal(p.machine.primaryAddress, p.sourceBytes);
    assert.deepEqual(
      p.machine.tracks?.map((t) => [t.id, t.weight, t.up]),
      [
        ['interface:eth0', 0, false],
        [SOURCE_TRACK, 0, false],
      ],
    );
  });

  test('an explicit mcast_src_ip is used as is; IPv4 and a present link-local are not pending', () => {
    const explicit = planOf(`  mcast_src_ip fe80::9\n${VIPS6}`, v4only);
    assert.equal(explicit.source, 'fe80::9');
    assert.equal(explicit.sourcePending, undefined);
    assert.equal(planOf(VIPS6).sourcePending, undefined);
    assert.equal(planOf(VIPS4).sourcePending, undefined);
    assert.ok(!planOf(VIPS6).machine.tracks?.some((t) => t.id === SOURCE_TRACK));
  });
});

describe('planInstance: mode, peers, group', () => {
  test('multicast by default, to the VRRP group', () => {
    const p = planOf(VIPS4);
    assert.equal(p.mode, 'multicast');
    assert.equal(p.group, '224.0.0.18');
    assert.deepEqual([...p.groupBytes], [224, 0, 0, 18]);
    assert.deepEqual(p.peers, []);
  });

  test('unicast_peer makes it unicast, with each peer and its TTL range', () => {
    const p = planOf(`  unicast_peer {\n    198.18.0.2\n    198.18.0.3 min_ttl 250 max_ttl 254\n  }\n${VIPS4}`);
    assert.equal(p.mode, 'unicast');
    assert.deepEqual(
      p.peers.map((x) => [x.address, x.minTtl, x.maxTtl]),
      [
        ['198.18.0.2', 0, 255],
        ['198.18.0.3', 250, 254],
      ],
    );
  });

  test('a unicast peer of the other family is refused', () => {
    const inst = instanceFrom(`  unicast_peer {\n    198.18.0.2\n  }\n${VIPS4}`);
    const r = planInstance({ ...inst, unicastPeers: [{ address: 'fd00:198:18::2' }] }, LAN_HOST);
    assert.ok(!r.ok);
    assert.match(r.error.message, /not an IPv4 address/);
  });
});

describe('planInstance: timing, authentication, addresses', () => {
  test('v3 counts centiseconds; v2 whole seconds, rounded, at least 1', () => {
    assert.equal(planOf(`  version 3\n  advert_int 0.25\n${VIPS4}`).machine.advertIntervalCs, 25);
    const v2 = instanceFrom(`  version 2\n  advert_int 2\n${VIPS4}`);
    const cs = (advertInt: number) => {
      const r = planInstance({ ...v2, advertInt }, LAN_HOST);
      assert.ok(r.ok);
      return r.plan.machine.advertIntervalCs;
    };
    assert.equal(cs(2), 200);
    assert.equal(cs(1.4), 100);
    assert.equal(cs(1.6), 200);
    assert.equal(cs(0.3), 100);
  });

  test('PASS authentication applies to v2 only', () => {
    const v2 = instanceFrom(`  version 2\n  authentication {\n    auth_type PASS\n    auth_pass secret12345\n  }\n${VIPS4}`);
    const p2 = planInstance(v2, LAN_HOST);
    assert.ok(p2.ok);
    assert.equal(p2.plan.auth.type, 'simple');
    assert.deepEqual(p2.plan.auth.type === 'simple' ? [...simplePassword(p2.plan.auth.password)] : [], [...simplePassword('secret12')]);
    // The config checks refuse authentication with v3; the plan ignores it anyway.
    const p3 = planInstance({ ...v2, version: 3 }, LAN_HOST);
    assert.ok(p3.ok);
    assert.deepEqual(p3.plan.auth, { type: 'none' });
    assert.equal(p3.plan.version, 3);
  });

  test('VIPs: host prefix by default, the instance interface unless dev; adverts list the family, sorted', () => {
    const p = planOf(`  virtual_ipaddress {\n    198.18.0.20/24\n    198.18.0.10\n    198.18.1.30/24 dev eth1\n  }`);
    assert.deepEqual(
      p.vips.map((v) => [v.address, v.prefix, v.dev]),
      [
        ['198.18.0.20', 24, 'eth0'],
        ['198.18.0.10', 32, 'eth0'],
        ['198.18.1.30', 24, 'eth1'],
      ],
    );
    assert.deepEqual(p.advertisedAddresses.map(formatAddress), ['198.18.0.10', '198.18.0.20', '198.18.1.30']);
  });

  test('virtual_ipaddress_excluded: managed with the others, never advertised', () => {
    const p = planOf(`  virtual_ipaddress {\n    198.18.0.10\n  }\n  virtual_ipaddress_excluded {\n    198.18.0.50/24\n    fd00:198:18::50/64\n  }`);
    assert.deepEqual(
      p.vips.map((v) => [v.address, v.prefix, v.excluded ?? false]),
      [
        ['198.18.0.10', 32, false],
        ['198.18.0.50', 24, true],
        ['fd00:198:18::50', 64, true],
      ],
    );
    assert.deepEqual(p.advertisedAddresses.map(formatAddress), ['198.18.0.10']);
    assert.deepEqual(p.machine.virtualAddresses, ['198.18.0.10', '198.18.0.50', 'fd00:198:18::50']);
  });

  test('checksum variant follows v3_checksum_as_v2', () => {
    assert.equal(planOf(VIPS4).checksumVariant, 'with-pseudo-header');
    const inst = instanceFrom(VIPS4);
    const r = planInstance({ ...inst, v3ChecksumAsV2: true }, LAN_HOST);
    assert.ok(r.ok);
    assert.equal(r.plan.checksumVariant, 'without-pseudo-header');
  });
});

/** The tracks other than the source address's (planInstance: the advert source below). */
const others = <T extends { id: string }>(tracks: readonly T[] | undefined): T[] => (tracks ?? []).filter((t) => t.id !== SOURCE_ADDRESS_TRACK);

describe('planInstance: the advert source follows the interface (keepalived downs the instance when it is deleted)', () => {
  test('a source taken from the interface is followed and may move; a configured one only with track_src_ip, and fixed', () => {
    const fromIface = planOf(VIPS4);
    assert.equal(fromIface.sourceWatch, 'interface');
    assert.deepEqual(fromIface.machine.tracks?.at(-1), { id: SOURCE_ADDRESS_TRACK, weight: 0, up: true });
    const configured = planOf(`  unicast_src_ip 198.18.0.2\n  unicast_peer {\n    198.18.0.3\n  }\n${VIPS4}`);
    assert.equal(configured.sourceWatch, undefined);
    assert.ok(!configured.machine.tracks?.some((t) => t.id === SOURCE_ADDRESS_TRACK));
    assert.equal(planOf(`  mcast_src_ip 198.18.0.2\n  track_src_ip\n${VIPS4}`).sourceWatch, 'fixed');
  });
});

describe('planInstance: tracked interfaces', () => {
  test("the instance's own interface is tracked (weight 0: FAULT while down), with its current state", () => {
    const p = planOf(VIPS4);
    assert.deepEqual(others(p.machine.tracks), [{ id: 'interface:eth0', weight: 0, up: true }]);
  });

  test('track_interface adds others with their weights; the own interface once only', () => {
    const p = planOf(`  track_interface {\n    eth1 weight 10\n    eth0\n  }\n${VIPS4}`);
    assert.deepEqual(others(p.machine.tracks), [
      { id: 'interface:eth0', weight: 0, up: true },
      { id: 'interface:eth1', weight: 10, up: false },
    ]);
  });

  test('dont_track_primary leaves the own interface out', () => {
    assert.deepEqual(others(planOf(`  dont_track_primary\n${VIPS4}`).machine.tracks), []);
    assert.deepEqual(others(planOf(`  dont_track_primary\n  track_interface {\n    eth1\n  }\n${VIPS4}`).machine.tracks), [
      { id: 'interface:eth1', weight: 0, up: false },
    ]);
  });

  test('an interface missing on the host counts as down', () => {
    const inst = instanceFrom(`  track_interface {\n    eth9\n  }\n${VIPS4}`);
    const r = planInstance(inst, LAN_HOST);
    assert.ok(r.ok);
    assert.deepEqual(others(r.plan.machine.tracks).at(-1), { id: 'interface:eth9', weight: 0, up: false });
  });
});

describe('planInstance: sync group members', () => {
  const groupOf = (extra: string) => {
    const r = loadKeepalivedText(
      `vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  track_interface {\n    eth1 weight -20\n  }\n${VIPS4}\n}\nvrrp_sync_group G {\n  group {\n    VI_1\n  }\n${extra}}\n`,
    );
    assert.ok(r.model, JSON.stringify(r.diagnostics));
    return { inst: r.model.vrrpInstances[0]!, group: r.model.vrrpSyncGroups[0]! };
  };

  test("the machine names its group; the group's track_interface applies; weights become 0 (keepalived ignores them in a sync group)", () => {
    const { inst, group } = groupOf('  track_interface {\n    eth2 weight 10\n  }\n');
    const r = planInstance(inst, host(...LAN_HOST.values(), { name: 'eth2', up: true, addresses: [] }), group);
    assert.ok(r.ok);
    assert.equal(r.plan.machine.syncGroup, 'G');
    assert.deepEqual(others(r.plan.machine.tracks), [
      { id: 'interface:eth0', weight: 0, up: true },
      { id: 'interface:eth1', weight: 0, up: false },
      { id: 'interface:eth2', weight: 0, up: true },
    ]);
  });

  test('sync_group_tracking_weight keeps the weights', () => {
    const { inst, group } = groupOf('  sync_group_tracking_weight\n');
    const r = planInstance(inst, LAN_HOST, group);
    assert.ok(r.ok);
    assert.deepEqual(
      others(r.plan.machine.tracks).map((t) => t.weight),
      [0, -20],
    );
  });

  test('without a group nothing changes', () => {
    const { inst } = groupOf('');
    const r = planInstance(inst, LAN_HOST);
    assert.ok(r.ok);
    assert.equal(r.plan.machine.syncGroup, undefined);
    assert.deepEqual(
      others(r.plan.machine.tracks).map((t) => t.weight),
      [0, -20],
    );
  });
});

describe('track_script: tracked objects weighed as keepalived does', () => {
  const def = (extra: Partial<VrrpScript> = {}): VrrpScript => ({
    name: 'chk',
    script: { command: '/bin/true' },
    interval: 1,
    weight: -20,
    reverse: false,
    rise: 1,
    fall: 1,
    initFail: false,
    ...extra,
  });
  const ref = (extra: Partial<TrackRef> = {}): TrackRef => ({ name: 'chk', reverse: false, ...extra });

  test("the reference's weight wins over the script's; health maps to up/down", () => {
    assert.deepEqual(scriptTrack(ref(), def(), 'up'), { id: 'script:chk', weight: -20, up: true });
    assert.deepEqual(scriptTrack(ref({ weight: 30 }), def(), 'down'), { id: 'script:chk', weight: 30, up: false });
  });

  test('before the first result no weight applies: up for a negative weight, down for a positive one, Fault for 0', () => {
    assert.equal(scriptTrack(ref(), def({ weight: -20 }), 'unknown').up, true);
    assert.equal(scriptTrack(ref(), def({ weight: 20 }), undefined).up, false);
    assert.equal(scriptTrack(ref(), def({ weight: 0 }), undefined).up, false);
    assert.equal(scriptTrack(ref(), def({ weight: -20, initFail: true }), undefined).up, false, 'init_fail starts failed');
  });

  test('reverse negates the weight and inverts health (the effect applies while the script succeeds)', () => {
    assert.deepEqual(scriptTrack(ref(), def({ weight: 20, reverse: true }), 'up'), { id: 'script:chk', weight: -20, up: false });
    assert.deepEqual(scriptTrack(ref({ weight: -10, reverse: true }), def(), 'down'), { id: 'script:chk', weight: 10, up: true });
  });

  test("planInstance adds the instance's and its group's scripts, and refuses an undefined one", () => {
    const scripts = { defs: [def(), def({ name: 'grp', weight: 5 })], health: () => 'up' as const };
    const inst = { ...instanceFrom(VIPS4), trackScripts: [ref()] };
    const group = {
      name: 'G',
      group: [inst.name],
      trackInterfaces: [],
      trackScripts: [ref({ name: 'grp' })],
      trackFiles: [],
      trackProcesses: [],
      notify: inst.notify,
      globalTracking: false,
      syncGroupTrackingWeight: true,
    } as unknown as SyncGroup;
    const r = planInstance(inst, LAN_HOST, group, scripts);
    assert.ok(r.ok);
    assert.deepEqual(
      r.plan.machine.tracks?.filter((t) => t.id.startsWith('script:')),
      [
        { id: 'script:chk', weight: -20, up: true },
        { id: 'script:grp', weight: 5, up: true },
      ],
    );
    const missing = planInstance({ ...inst, trackScripts: [ref({ name: 'nope' })] }, LAN_HOST, undefined, scripts);
    assert.equal(missing.ok, false);
    assert.match(missing.ok ? '' : missing.error.message, /track_script nope is not defined/);
  });
});

describe('planInstance: handover_drain', () => {
  test('seconds to ms in the plan; absent or 0 leaves it out', () => {
    assert.equal(planOf(`  handover_drain 0.5\n${VIPS4}`).handoverDrainMs, 500);
    assert.equal(planOf(VIPS4).handoverDrainMs, undefined);
    assert.equal(planOf(`  handover_drain 0\n${VIPS4}`).handoverDrainMs, undefined);
  });

  test('a bad value is a configuration error naming the keyword', () => {
    const r = loadKeepalivedText(`vrrp_instance X {\n  interface eth0\n  virtual_router_id 1\n  handover_drain soon\n${VIPS4}\n}\n`, 'k.conf');
    assert.ok(
      r.diagnostics.some((d) => d.severity === 'error' && /handover_drain/.test(d.message)),
      JSON.stringify(r.diagnostics),
    );
    const long = loadKeepalivedText(`vrrp_instance X {\n  interface eth0\n  virtual_router_id 1\n  handover_drain 61\n${VIPS4}\n}\n`, 'k.conf');
    assert.ok(
      long.diagnostics.some((d) => d.severity === 'error'),
      'more than 60 s is refused',
    );
  });
});
