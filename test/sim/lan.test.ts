/**
 * Scenarios on the virtual LAN: every node runs the production host side
 * (planInstance, InstanceRunner, WireHub with virtual sockets). Unless a test
 * says otherwise the LAN runs on the exact VirtualClock (every timer fires at
 * its own due time) with a 1 ms loop step (TICK), and packets are delivered
 * with no delay. Each node runs one instance, VI_1, on eth0 (198.18.0.N/24).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedClock } from 'xstate';
import { masterDownIntervalMs, skewTimeMs } from '../../actors/vrrp/index.js';
import { HANDOVER_OVERLAP_MS } from '../../infra/vrrp/instance-runner.js';
import { VirtualLan, type LanOptions } from '../../sim/index.js';

const TICK = 1;
const VIP = '198.18.0.100';
const mdi = (priority: number, intervalCs = 100) => masterDownIntervalMs({ version: 3, priority, masterAdvertIntervalCs: intervalCs });
const skew = (priority: number, intervalCs = 100) => skewTimeMs({ version: 3, priority, masterAdvertIntervalCs: intervalCs });

interface NodeOptions {
  preempt?: boolean;
  preemptDelayS?: number;
  advertIntervalCs?: number;
  version?: 2 | 3;
  vrid?: number;
  segment?: string;
  /** More lines inside the vrrp_instance block. */
  extra?: string;
  /** Lines before it (vrrp_script definitions). */
  before?: string;
}

/** A node `name` with eth0 198.18.0.`lastByte`/24 on `segment` running VI_1 (VRRPv3, VIP 198.18.0.100/24 unless told). */
function addNode(l: VirtualLan, name: string, priority: number, lastByte: number, o: NodeOptions = {}): void {
  const config = [
    o.before ?? '',
    'vrrp_instance VI_1 {',
    '  interface eth0',
    `  virtual_router_id ${o.vrid ?? 51}`,
    `  version ${o.version ?? 3}`,
    `  priority ${priority}`,
    `  advert_int ${(o.advertIntervalCs ?? 100) / 100}`,
    o.preempt === false ? '  nopreempt' : '',
    o.preemptDelayS ? `  preempt_delay ${o.preemptDelayS}` : '',
    o.extra ?? '',
    `  virtual_ipaddress {\n    ${VIP}/24\n  }`,
    '}',
  ].join('\n');
  l.addNode(name, { interfaces: [{ name: 'eth0', segment: o.segment ?? 'lan0', addresses: [`198.18.0.${lastByte}/24`] }], config });
}

function lan(options: LanOptions = {}): VirtualLan {
  return new VirtualLan({ tickMs: TICK, ...options });
}

/** Time of the first timeline entry of `node` going `to`, after `since`. */
function firstTransition(l: VirtualLan, node: string, to: string, since = 0): number | undefined {
  return l.transitions({ node, since }).find((e) => e.to === to)?.at;
}

/**
 * Fails if two nodes held the VIP at once for longer than `maxOverlapMs` after
 * `since`, or if no node held it at any instant after it was first added. A
 * stepping-down Master keeps the VIP HANDOVER_OVERLAP_MS after hearing the new
 * one (make-before-break), and RFC 5798 has no handshake, so an overlap of that
 * plus one delivery delay is by design; anything longer is a split brain.
 */
function assertSingleHolder(l: VirtualLan, since: number, maxOverlapMs = HANDOVER_OVERLAP_MS): void {
  for (const o of l.vipOverlaps(VIP, since)) assert.ok(o.to - o.from <= maxOverlapMs, `two holders from ${o.from} to ${o.to}`);
  assert.deepEqual(l.vipGaps(VIP, since), [], 'the VIP was always somewhere');
}

/** add-addresses exactly once per Master entry; remove (or loss by crash) once per Master exit. */
function assertAddressBookkeeping(l: VirtualLan): void {
  const addressEvents = l.events.filter((e) => e.kind === 'address');
  for (const node of l.nodeNames()) {
    const entries = l.transitions({ node }).filter((e) => e.to === 'master').length;
    const exits = l.transitions({ node }).filter((e) => e.from === 'master').length;
    const adds = addressEvents.filter((e) => e.node === node && e.action === 'add').length;
    const drops = addressEvents.filter((e) => e.node === node && e.action !== 'add').length;
    assert.equal(adds, entries, `${node}: add-addresses per Master entry`);
    assert.equal(drops, exits, `${node}: remove-addresses per Master exit`);
  }
}

for (const [clockName, makeClock] of [
  ['VirtualClock', () => undefined],
  ['SimulatedClock', () => new SimulatedClock()],
] as const) {
  test(`150/100 at 1 s (${clockName}): 150 wins; after a crash 100 takes over MDI after the last advert, within one tick`, () => {
    const l = lan(makeClock() ? { clock: makeClock()! } : {});
    addNode(l, 'a', 150, 1);
    addNode(l, 'b', 100, 2);
    l.runFor(10_000);
    assert.deepEqual(l.masters(), ['a/VI_1']);
    assert.deepEqual(l.holders(VIP), ['a']);
    const aUp = firstTransition(l, 'a', 'master')!;
    assert.ok(aUp >= mdi(150) && aUp <= mdi(150) + TICK, `a became Master at ${aUp}`);

    l.runFor(450); // crash between two adverts
    l.kill('a');
    assert.deepEqual(l.holders(VIP), [], 'the VIP died with its host');
    const last = l.lastAdvertAt('a')!;
    const at = l.runUntil(() => l.stateOf('b') === 'master', 10_000);
    assert.ok(at !== null, 'b took over');
    const took = firstTransition(l, 'b', 'master')! - last;
    assert.ok(took >= 3609.375 && took <= 3609.375 + TICK, `b took over ${took} ms after a's last advert`);
    assert.deepEqual(l.holders(VIP), ['b']);
    assertAddressBookkeeping(l);
    l.dispose();
  });
}

test('graceful stop of the master: the backup takes over after Skew_Time (0.609375 s), the VIP is never nowhere', async () => {
  const l = lan();
  addNode(l, 'a', 150, 1);
  addNode(l, 'b', 100, 2);
  l.runFor(8_300);
  const t0 = l.now();
  const stopped = l.stop('a');
  assert.equal(l.stateOf('a'), 'stopped');
  l.runFor(2_000);
  await stopped;
  const took = firstTransition(l, 'b', 'master', t0)! - t0;
  assert.equal(took, skew(100), 'exact on the VirtualClock');
  assert.equal(l.transitions({ node: 'b' }).at(-1)?.reason, 'priority-zero-skew');
  assert.deepEqual(l.holders(VIP), ['b']);
  assertSingleHolder(l, 0);
  assertAddressBookkeeping(l);
  l.dispose();
});

test('preempt: a returning higher-priority node takes over MDI(150) after restarting; nopreempt: it stays Backup', () => {
  for (const preempt of [true, false]) {
    const l = lan();
    addNode(l, 'a', 150, 1, { preempt });
    addNode(l, 'b', 100, 2);
    l.runFor(5_000);
    assert.deepEqual(l.masters(), ['a/VI_1']);
    l.kill('a');
    l.runFor(6_000);
    assert.deepEqual(l.masters(), ['b/VI_1']);
    const back = l.now();
    l.restart('a');
    l.runFor(60_000);
    if (preempt) {
      assert.deepEqual(l.masters(), ['a/VI_1']);
      assert.equal(firstTransition(l, 'a', 'master', back)! - back, mdi(150), 'lower adverts ignored: own timer from restart');
      assert.equal(l.transitions({ node: 'b', since: back }).filter((e) => e.to === 'backup').length, 1);
      assertSingleHolder(l, back);
    } else {
      assert.deepEqual(l.masters(), ['b/VI_1']);
      assert.equal(l.transitions({ node: 'a', since: back }).filter((e) => e.to === 'master').length, 0);
    }
    assertAddressBookkeeping(l);
    l.dispose();
  }
});

test('preempt_delay: the returning node waits at least the delay before taking over', () => {
  const l = lan();
  addNode(l, 'a', 150, 1, { preemptDelayS: 10 });
  addNode(l, 'b', 100, 2);
  l.runFor(5_000);
  l.kill('a');
  l.runFor(6_000);
  const back = l.now();
  l.restart('a');
  l.runFor(30_000);
  assert.deepEqual(l.masters(), ['a/VI_1']);
  const at = firstTransition(l, 'a', 'master', back)!;
  // The hold-off starts with the first lower-priority advert heard (≤ 1 interval after restart);
  // once it expires, the timer from the last accepted advert runs out (≤ MDI later).
  assert.ok(at - back >= 10_000, `took over ${at - back} ms after restart`);
  assert.ok(at - back <= 10_000 + 1_000 + mdi(150), `took over ${at - back} ms after restart`);
  l.dispose();
});

test('equal priorities: the higher primary address wins, identically on both sides, whatever the start order', () => {
  for (const order of [
    ['lo', 'hi'],
    ['hi', 'lo'],
  ]) {
    for (const delayMs of [0, 1, 7]) {
      const l = lan({ delayMs });
      for (const name of order) addNode(l, name, 100, name === 'hi' ? 9 : 5);
      l.runFor(20_000);
      assert.deepEqual(l.masters(), ['hi/VI_1'], `order ${order.join(',')}, delay ${delayMs}`);
      // Both sides agree: the loser's last master is 'hi'.
      assert.equal(l.runnerOf('lo').status().lastMaster, '198.18.0.9');
      assertSingleHolder(l, 4_000, HANDOVER_OVERLAP_MS + delayMs);
      l.dispose();
    }
  }
});

test('equal priorities started apart: the first Master keeps the role (RFC 5798: no preemption between equals)', () => {
  const l = lan();
  addNode(l, 'lo', 100, 5);
  l.runFor(5_000);
  addNode(l, 'hi', 100, 9);
  l.runFor(20_000);
  assert.deepEqual(l.masters(), ['lo/VI_1']);
  // Contention (a partition that made both Masters) is settled by the address.
  l.partition([['lo'], ['hi']]);
  l.runFor(10_000);
  assert.deepEqual(l.masters().sort(), ['hi/VI_1', 'lo/VI_1']);
  l.heal();
  l.runFor(3_000);
  assert.deepEqual(l.masters(), ['hi/VI_1']);
  l.dispose();
});

test('three nodes, partition and heal: exactly one Master within one advert interval of the heal', () => {
  const delayMs = 2;
  const l = lan({ delayMs });
  addNode(l, 'a', 200, 1);
  addNode(l, 'b', 150, 2);
  addNode(l, 'c', 100, 3);
  l.runFor(10_000);
  assert.deepEqual(l.masters(), ['a/VI_1']);
  l.partition([['a'], ['b', 'c']]);
  l.runFor(15_000);
  assert.deepEqual(l.masters().sort(), ['a/VI_1', 'b/VI_1'], 'each side elects its own Master');
  assert.deepEqual(l.holders(VIP).sort(), ['a', 'b'], 'split brain: both sides hold the VIP');
  assert.equal(l.stateOf('c'), 'backup');
  l.runFor(333);
  const healedAt = l.now();
  l.heal();
  // Bound: a's next regular advert (≤ 1 interval) reaches b and c (+delay) and demotes b at once;
  // whichever advert crosses first, a answers immediately, so ≤ 1000 + 2 × delay.
  const bound = 1_000 + 2 * delayMs;
  const single = l.runUntil(() => l.masters().length === 1, 5_000);
  assert.ok(single !== null && single - healedAt <= bound, `one Master ${single! - healedAt} ms after heal`);
  assert.deepEqual(l.masters(), ['a/VI_1']);
  const before = l.timeline.length;
  l.runFor(60_000);
  assert.deepEqual(l.masters(), ['a/VI_1']);
  assert.deepEqual(l.holders(VIP), ['a']);
  assert.equal(l.timeline.length, before, 'no transition after convergence');
  assertSingleHolder(l, single!, HANDOVER_OVERLAP_MS + delayMs);
  assertAddressBookkeeping(l);
  l.dispose();
});

/**
 * The expected number of takeovers by the backup is computed independently of
 * the machine from the LAN's delivery log: every gap between two adverts
 * delivered from the master longer than the backup's Master_Down_Interval is one
 * takeover, answered and undone by the next advert that gets through. (≥, not >:
 * the master's immediate answer to the takeover arrives exactly MDI after the
 * previous delivery.)
 */
function flapRun(intervalCs: number, seconds: number, seed: number) {
  const l = lan({ lossRate: 0.05, seed, recordDeliveries: true, recordEvents: false, tickMs: intervalCs * 10 });
  addNode(l, 'a', 150, 1, { advertIntervalCs: intervalCs });
  addNode(l, 'b', 100, 2, { advertIntervalCs: intervalCs });
  l.runFor(5 * intervalCs * 10);
  const start = l.now();
  l.runFor(seconds * 1000);
  const fromA = l.deliveries.filter((d) => d.from === 'a' && d.to === 'b' && d.at >= start - 4 * intervalCs * 10).map((d) => d.at);
  let gaps = 0;
  for (let i = 1; i < fromA.length; i++) if (fromA[i]! - fromA[i - 1]! >= mdi(100, intervalCs)) gaps++;
  const bTransitions = l.transitions({ node: 'b', since: start }).length;
  const aTransitions = l.transitions({ node: 'a', since: start }).length;
  const result = { gaps, bTransitions, aTransitions, lost: l.stats.lost, sent: l.stats.sent, masters: l.masters() };
  l.dispose();
  return result;
}

test('5% loss at 1 s adverts over 2 simulated hours: takeovers only where 3+ adverts in a row were lost', (t) => {
  const r = flapRun(100, 7_200, 42);
  t.diagnostic(JSON.stringify(r));
  assert.ok(r.lost > 0.04 * r.sent && r.lost < 0.06 * r.sent, `loss rate ${r.lost}/${r.sent}`);
  assert.equal(r.aTransitions, 0, 'the master never steps down');
  assert.equal(r.bTransitions, 2 * r.gaps, 'each long gap: up and back down, nothing else');
  // P(3 consecutive losses) = 1.25e-4 per advert: about 0.9 expected in 7,200 adverts.
  assert.ok(r.gaps <= 4, `${r.gaps} takeovers`);
  assert.deepEqual(r.masters, ['a/VI_1']);
});

test('5% loss at 10 ms adverts over 10 simulated minutes: same rule, more adverts', (t) => {
  const r = flapRun(1, 600, 7);
  t.diagnostic(JSON.stringify(r));
  assert.ok(r.sent >= 59_900, `${r.sent} adverts`);
  assert.equal(r.aTransitions, 0);
  assert.equal(r.bTransitions, 2 * r.gaps);
  // About 60,000 adverts × 1.25e-4 ≈ 7.5 expected runs of three losses.
  assert.ok(r.gaps >= 1 && r.gaps <= 20, `${r.gaps} takeovers`);
  assert.deepEqual(r.masters, ['a/VI_1']);
});

test('v3: a backup learns the master interval (2 s) and its takeover follows it', () => {
  const l = lan();
  addNode(l, 'a', 150, 1, { advertIntervalCs: 200 });
  addNode(l, 'b', 100, 2, { advertIntervalCs: 100 });
  l.runFor(10_000);
  assert.equal(l.runnerOf('b').status().masterAdvertIntervalCs, 200);
  l.kill('a');
  const last = l.lastAdvertAt('a')!;
  l.runFor(10_000);
  assert.equal(firstTransition(l, 'b', 'master', last)! - last, mdi(100, 200));
  assert.equal(mdi(100, 200), 7218.75);
  l.dispose();
});

test('v2: a backup with another interval discards the adverts, counts them, and (as keepalived) also becomes Master', () => {
  const l = lan();
  addNode(l, 'a', 150, 1, { version: 2, advertIntervalCs: 200 });
  addNode(l, 'b', 100, 2, { version: 2, advertIntervalCs: 100 });
  l.runFor(20_000);
  const b = l.runnerOf('b').status();
  assert.ok(b.counters.intervalMismatches! >= 5, `${b.counters.intervalMismatches} mismatches`);
  assert.equal(b.masterAdvertIntervalCs, 100);
  assert.equal(firstTransition(l, 'b', 'master'), masterDownIntervalMs({ version: 2, priority: 100, masterAdvertIntervalCs: 100 }));
  assert.deepEqual(l.masters().sort(), ['a/VI_1', 'b/VI_1'], 'misconfigured v2 peers cannot hear each other');
  l.dispose();
});

test('the address owner (255) is Master at once; a split brain heals within one interval', () => {
  const l = lan({ delayMs: 1 });
  addNode(l, 'owner', 255, 1);
  addNode(l, 'b', 100, 2);
  assert.deepEqual(l.masters(), ['owner/VI_1']);
  assert.equal(firstTransition(l, 'owner', 'master'), 0);
  l.runFor(5_000);
  l.partition([['owner'], ['b']]);
  l.runFor(5_000);
  assert.deepEqual(l.masters().sort(), ['b/VI_1', 'owner/VI_1']);
  l.runFor(250);
  const healedAt = l.now();
  l.heal();
  const single = l.runUntil(() => l.masters().length === 1, 3_000);
  assert.ok(single !== null && single - healedAt <= 1_000 + 2, `healed in ${single! - healedAt} ms`);
  assert.deepEqual(l.masters(), ['owner/VI_1']);
  l.dispose();
});

test('fault (weight 0): the master leaves with priority 0, the backup takes over after Skew_Time; recovery preempts back', () => {
  const l = lan();
  // A weight-0 vrrp_script: down means Fault. Healthy from the start.
  const before = 'vrrp_script chk {\n  script "/bin/true"\n  weight 0\n}';
  l.addNode('a', {
    interfaces: [{ name: 'eth0', addresses: ['198.18.0.1/24'] }],
    config: `${before}\nvrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  version 3\n  priority 150\n  track_script {\n    chk\n  }\n  virtual_ipaddress {\n    ${VIP}/24\n  }\n}\n`,
    scripts: { chk: 'up' },
  });
  addNode(l, 'b', 100, 2);
  l.runFor(5_000);
  assert.deepEqual(l.masters(), ['a/VI_1']);
  const t0 = l.now();
  l.track('a', 'script:chk', false);
  assert.equal(l.stateOf('a'), 'fault');
  l.runFor(5_000);
  assert.equal(firstTransition(l, 'b', 'master', t0)! - t0, skew(100));
  const t1 = l.now();
  l.track('a', 'script:chk', true);
  assert.equal(l.stateOf('a'), 'backup');
  l.runFor(10_000);
  assert.equal(firstTransition(l, 'a', 'master', t1)! - t1, mdi(150), 'b is lower: a preempts on its own timer');
  assert.deepEqual(l.masters(), ['a/VI_1']);
  assertAddressBookkeeping(l);
  l.dispose();
});

test('a weight dropping the master below the backup causes preemption, and back; none with nopreempt', () => {
  for (const preempt of [true, false]) {
    const l = lan();
    // weight -60 and no result yet: keepalived applies no weight until the script reports, i.e. 150.
    addNode(l, 'a', 150, 1, { before: 'vrrp_script chk {\n  script "/bin/true"\n  weight -60\n}', extra: '  track_script {\n    chk\n  }' });
    addNode(l, 'b', 100, 2, { preempt });
    l.runFor(5_300);
    assert.deepEqual(l.masters(), ['a/VI_1']);
    const lastHigh = l.lastAdvertAt('a')!;
    l.track('a', 'script:chk', false); // a now advertises 90 < 100
    l.runFor(10_000);
    if (!preempt) {
      assert.deepEqual(l.masters(), ['a/VI_1'], 'nopreempt: b keeps following a lower master');
      l.dispose();
      continue;
    }
    assert.deepEqual(l.masters(), ['b/VI_1']);
    assert.equal(firstTransition(l, 'b', 'master')! - lastHigh, mdi(100), 'from the last advert b accepted');
    assert.equal(l.transitions({ node: 'a' }).at(-1)?.reason, 'higher-priority-advert');
    const t1 = l.now();
    l.track('a', 'script:chk', true); // 150 again, in Backup: b's 100 adverts are now ignored
    l.runFor(10_000);
    assert.deepEqual(l.masters(), ['a/VI_1']);
    const at = firstTransition(l, 'a', 'master', t1)!;
    assert.ok(at - t1 <= mdi(150), `a back in ${at - t1} ms`);
    assertSingleHolder(l, 0);
    assertAddressBookkeeping(l);
    l.dispose();
  }
});

test('same seed, same run: the simulation is deterministic', () => {
  const run = () => {
    const l = lan({ lossRate: 0.3, seed: 99, delayMs: 3 });
    addNode(l, 'a', 150, 1);
    addNode(l, 'b', 150, 2);
    addNode(l, 'c', 100, 3);
    l.runFor(120_000);
    const out = JSON.stringify([l.timeline, l.events, l.stats]);
    l.dispose();
    return out;
  };
  const first = run();
  assert.ok(first.length > 200, 'the lossy run produced transitions');
  assert.equal(run(), first);
});

test('instances on other VRIDs or segments do not hear each other: the hub counts the other VRID, the runners see nothing', () => {
  const l = lan();
  addNode(l, 'a', 150, 1);
  addNode(l, 'b', 100, 2, { vrid: 52 });
  addNode(l, 'c', 100, 3, { segment: 'lan1' });
  l.runFor(5_000);
  assert.deepEqual(l.masters().sort(), ['a/VI_1', 'b/VI_1', 'c/VI_1']);
  assert.ok(l.hubOf('a')!.stats.unknownVrid > 0, 'a heard VRID 52 and dropped it in the hub');
  assert.equal(l.hubOf('c')!.stats.received, 0, 'nothing crosses segments');
  for (const n of ['a', 'b', 'c'])
    assert.equal(
      Object.values(l.runnerOf(n).status().drops).reduce((x, y) => x + y, 0),
      0,
      `${n}: no drop`,
    );
  assert.throws(() => addNode(l, 'a', 1, 9), /already exists/);
  l.dispose();
});

test('IPv6 instances: equal priorities are decided on the full 128-bit link-local address', () => {
  const l = lan();
  const v6 = (name: string, linkLocal: string) =>
    l.addNode(name, {
      interfaces: [{ name: 'eth0', addresses: ['fd00:198:18::1/64', `${linkLocal}/64`] }],
      config: 'vrrp_instance VI_6 {\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  virtual_ipaddress {\n    fd00:198:18::100/64\n  }\n}\n',
    });
  // 'x' has the larger last byte but the smaller byte 8: byte 8 decides.
  v6('x', 'fe80::100:0:0:ff');
  v6('y', 'fe80::200:0:0:1');
  l.runFor(10_000);
  assert.deepEqual(l.masters(), ['y/VI_6']);
  assert.equal(l.runnerOf('x').plan.source, 'fe80::100:0:0:ff', 'sent from the link-local address');
  assert.deepEqual(l.holders('fd00:198:18::100'), ['y']);
  assert.ok(
    l.events.some((e) => e.kind === 'announce' && e.node === 'y' && e.address === 'fd00:198:18::100'),
    'unsolicited NA for the VIP',
  );
  l.dispose();
});

test('unicast peers: adverts go to the peer address only, and the election runs as with multicast', () => {
  const l = lan();
  const uni = (name: string, priority: number, self: number, peer: number) =>
    l.addNode(name, {
      interfaces: [{ name: 'eth0', addresses: [`198.18.0.${self}/24`] }],
      config: `vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  version 3\n  priority ${priority}\n  unicast_peer {\n    198.18.0.${peer}\n  }\n  virtual_ipaddress {\n    ${VIP}/24\n  }\n}\n`,
    });
  uni('a', 150, 1, 2);
  uni('b', 100, 2, 1);
  addNode(l, 'm', 50, 3); // a multicast instance of the same VRID on the same segment hears none of it
  l.runFor(10_000);
  assert.deepEqual(l.masters().sort(), ['a/VI_1', 'm/VI_1']);
  const fromA = l.events.filter((e) => e.kind === 'advert' && e.node === 'a');
  assert.ok(fromA.length > 0 && fromA.every((e) => e.kind === 'advert' && e.destination === '198.18.0.2'));
  assert.equal(l.hubOf('m')!.stats.received, 0, 'the multicast node hears no unicast advert');
  assert.ok(l.hubOf('b')!.stats.received > 0, "b hears a's unicast adverts (not m's multicast ones)");
  l.kill('a');
  l.runFor(5_000);
  assert.deepEqual(l.masters().sort(), ['b/VI_1', 'm/VI_1']);
  l.dispose();
});

test('adverts in flight to a stopped instance are dropped', () => {
  const l = lan({ delayMs: 5 });
  addNode(l, 'a', 150, 1);
  addNode(l, 'b', 100, 2);
  l.runFor(5_000);
  // Stop b within one tick after a's next advert left, while it is still in flight (5 ms).
  const sentAt = l.runUntil(() => l.lastAdvertAt('a')! > 5_000, 2_000);
  assert.ok(sentAt !== null && sentAt - l.lastAdvertAt('a')! < 5, 'stopped while in flight');
  const delivered = l.stats.delivered;
  void l.stop('b');
  l.runFor(3_000);
  assert.equal(l.stateOf('b'), 'stopped');
  assert.equal(l.stats.delivered, delivered, 'nothing delivered to the stopped instance');
  assert.ok(l.stats.sent > 0, 'a kept advertising');
  l.dispose();
});
