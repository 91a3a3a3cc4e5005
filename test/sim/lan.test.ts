/**
 * Scenarios on the virtual LAN. Unless a test says otherwise the LAN runs on the
 * exact VirtualClock (every timer fires at its own due time) with a 1 ms loop step
 * (TICK), and adverts are delivered with no delay.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedClock } from 'xstate';
import { masterDownIntervalMs, skewTimeMs, type VrrpInput } from '../../actors/vrrp/index.js';
import { VirtualLan, type LanOptions } from '../../sim/index.js';

const TICK = 1;
const mdi = (priority: number, intervalCs = 100) => masterDownIntervalMs({ version: 3, priority, masterAdvertIntervalCs: intervalCs });
const skew = (priority: number, intervalCs = 100) => skewTimeMs({ version: 3, priority, masterAdvertIntervalCs: intervalCs });

function inst(name: string, priority: number, lastByte: number, overrides: Partial<VrrpInput> = {}): VrrpInput {
  return {
    name,
    vrid: 51,
    family: 'ipv4',
    version: 3,
    priority,
    advertIntervalCs: 100,
    preempt: true,
    preemptDelayMs: 0,
    primaryAddress: new Uint8Array([198, 18, 0, lastByte]),
    virtualAddresses: ['198.18.0.100/24'],
    ...overrides,
  };
}

function lan(options: LanOptions = {}): VirtualLan {
  return new VirtualLan({ tickMs: TICK, ...options });
}

/** Time of the first timeline entry matching, after `since`. */
function firstTransition(l: VirtualLan, node: string, to: string, since = 0): number | undefined {
  return l.transitions({ node, since }).find((e) => e.to === to)?.at;
}

/**
 * Fails if two nodes held the addresses at once for longer than `maxOverlapMs`
 * after `since`. A preempting node adds the addresses before the old master hears
 * it and removes them (RFC 5798 has no handshake), so an overlap of one delivery
 * delay is inherent; anything longer is a split brain.
 */
function assertSingleHolder(l: VirtualLan, since: number, maxOverlapMs = 0): void {
  const holders = new Set<string>();
  let overlapFrom: number | null = null;
  for (const e of l.addressLog) {
    if (e.action === 'add') holders.add(e.node);
    else holders.delete(e.node);
    if (holders.size > 1 && overlapFrom === null) overlapFrom = e.at;
    if (holders.size <= 1 && overlapFrom !== null) {
      if (e.at >= since) assert.ok(e.at - overlapFrom <= maxOverlapMs, `two holders from ${overlapFrom} to ${e.at}`);
      overlapFrom = null;
    }
  }
  assert.equal(overlapFrom === null || overlapFrom < since, true, `two holders since ${overlapFrom} at the end`);
}

/** add-addresses exactly once per Master entry; remove (or loss by crash) once per Master exit. */
function assertAddressBookkeeping(l: VirtualLan): void {
  for (const node of l.nodeNames()) {
    const entries = l.transitions({ node }).filter((e) => e.to === 'master').length;
    const exits = l.transitions({ node }).filter((e) => e.from === 'master').length;
    const adds = l.addressLog.filter((e) => e.node === node && e.action === 'add').length;
    const drops = l.addressLog.filter((e) => e.node === node && e.action !== 'add').length;
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
    l.addNode(inst('a', 150, 1));
    l.addNode(inst('b', 100, 2));
    l.runFor(10_000);
    assert.deepEqual(l.masters(), ['a']);
    assert.deepEqual(l.addressHolders(), ['a']);
    const aUp = firstTransition(l, 'a', 'master')!;
    assert.ok(aUp >= mdi(150) && aUp <= mdi(150) + TICK, `a became Master at ${aUp}`);

    l.runFor(450); // crash between two adverts
    l.kill('a');
    const last = l.lastAdvertAt('a')!;
    const at = l.runUntil(() => l.stateOf('b') === 'master', 10_000);
    assert.ok(at !== null, 'b took over');
    const took = firstTransition(l, 'b', 'master')! - last;
    assert.ok(took >= 3609.375 && took <= 3609.375 + TICK, `b took over ${took} ms after a's last advert`);
    assert.deepEqual(l.addressHolders(), ['b']);
    assertAddressBookkeeping(l);
    l.dispose();
  });
}

test('graceful stop of the master: the backup takes over after Skew_Time (0.609375 s)', () => {
  const l = lan();
  l.addNode(inst('a', 150, 1));
  l.addNode(inst('b', 100, 2));
  l.runFor(8_300);
  const t0 = l.now();
  l.stop('a');
  assert.equal(l.stateOf('a'), 'stopped');
  l.runFor(2_000);
  const took = firstTransition(l, 'b', 'master', t0)! - t0;
  assert.equal(took, skew(100), 'exact on the VirtualClock');
  assert.equal(l.transitions({ node: 'b' }).at(-1)?.reason, 'priority-zero-skew');
  assertSingleHolder(l, 0);
  assertAddressBookkeeping(l);
  l.dispose();
});

test('preempt: a returning higher-priority node takes over MDI(150) after restarting; nopreempt: it stays Backup', () => {
  for (const preempt of [true, false]) {
    const l = lan();
    l.addNode(inst('a', 150, 1, { preempt }));
    l.addNode(inst('b', 100, 2));
    l.runFor(5_000);
    assert.deepEqual(l.masters(), ['a']);
    l.kill('a');
    l.runFor(6_000);
    assert.deepEqual(l.masters(), ['b']);
    const back = l.now();
    l.restart('a');
    l.runFor(60_000);
    if (preempt) {
      assert.deepEqual(l.masters(), ['a']);
      assert.equal(firstTransition(l, 'a', 'master', back)! - back, mdi(150), 'lower adverts ignored: own timer from restart');
      assert.equal(l.transitions({ node: 'b', since: back }).filter((e) => e.to === 'backup').length, 1);
    } else {
      assert.deepEqual(l.masters(), ['b']);
      assert.equal(l.transitions({ node: 'a', since: back }).filter((e) => e.to === 'master').length, 0);
    }
    assertSingleHolder(l, 0);
    assertAddressBookkeeping(l);
    l.dispose();
  }
});

test('preempt_delay: the returning node waits at least the delay before taking over', () => {
  const l = lan();
  l.addNode(inst('a', 150, 1, { preemptDelayMs: 10_000 }));
  l.addNode(inst('b', 100, 2));
  l.runFor(5_000);
  l.kill('a');
  l.runFor(6_000);
  const back = l.now();
  l.restart('a');
  l.runFor(30_000);
  assert.deepEqual(l.masters(), ['a']);
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
      for (const name of order) l.addNode(inst(name, 100, name === 'hi' ? 9 : 5));
      l.runFor(20_000);
      assert.deepEqual(l.masters(), ['hi'], `order ${order.join(',')}, delay ${delayMs}`);
      // Both sides agree: the loser's last master is 'hi'.
      assert.deepEqual(l.actorOf('lo')!.getSnapshot().context.stats.lastMasterAddress, new Uint8Array([198, 18, 0, 9]));
      assertSingleHolder(l, 4_000);
      l.dispose();
    }
  }
});

test('equal priorities started apart: the first Master keeps the role (RFC 5798: no preemption between equals)', () => {
  const l = lan();
  l.addNode(inst('lo', 100, 5));
  l.runFor(5_000);
  l.addNode(inst('hi', 100, 9));
  l.runFor(20_000);
  assert.deepEqual(l.masters(), ['lo']);
  // Contention (a partition that made both Masters) is settled by the address.
  l.partition([['lo'], ['hi']]);
  l.runFor(10_000);
  assert.deepEqual(l.masters().sort(), ['hi', 'lo']);
  l.heal();
  l.runFor(3_000);
  assert.deepEqual(l.masters(), ['hi']);
  l.dispose();
});

test('three nodes, partition and heal: exactly one Master within one advert interval of the heal', () => {
  const delayMs = 2;
  const l = lan({ delayMs });
  l.addNode(inst('a', 200, 1));
  l.addNode(inst('b', 150, 2));
  l.addNode(inst('c', 100, 3));
  l.runFor(10_000);
  assert.deepEqual(l.masters(), ['a']);
  l.partition([['a'], ['b', 'c']]);
  l.runFor(15_000);
  assert.deepEqual(l.masters().sort(), ['a', 'b'], 'each side elects its own Master');
  assert.equal(l.stateOf('c'), 'backup');
  l.runFor(333);
  const healedAt = l.now();
  l.heal();
  // Bound: a's next regular advert (≤ 1 interval) reaches b and c (+delay) and demotes b at once;
  // whichever advert crosses first, a answers immediately, so ≤ 1000 + 2 × delay.
  const bound = 1_000 + 2 * delayMs;
  const single = l.runUntil(() => l.masters().length === 1, 5_000);
  assert.ok(single !== null && single - healedAt <= bound, `one Master ${single! - healedAt} ms after heal`);
  assert.deepEqual(l.masters(), ['a']);
  const before = l.timeline.length;
  l.runFor(60_000);
  assert.deepEqual(l.masters(), ['a']);
  assert.equal(l.timeline.length, before, 'no transition after convergence');
  assertSingleHolder(l, single!, delayMs);
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
  const l = lan({ lossRate: 0.05, seed, recordDeliveries: true, tickMs: intervalCs * 10 });
  l.addNode(inst('a', 150, 1, { advertIntervalCs: intervalCs }));
  l.addNode(inst('b', 100, 2, { advertIntervalCs: intervalCs }));
  l.runFor(5 * intervalCs * 10);
  const start = l.now();
  l.runFor(seconds * 1000);
  const fromA = l.deliveries.filter((d) => d.from === 'a' && d.to === 'b' && d.at >= start - 4 * intervalCs * 10).map((d) => d.at);
  let gaps = 0;
  for (let i = 1; i < fromA.length; i++) if (fromA[i]! - fromA[i - 1]! >= mdi(100, intervalCs)) gaps++;
  const bTransitions = l.transitions({ node: 'b', since: start }).length;
  const aTransitions = l.transitions({ node: 'a', since: start }).length;
  const result = { gaps, bTransitions, aTransitions, lost: l.stats.lost, sent: l.stats.advertsSent, masters: l.masters() };
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
  assert.deepEqual(r.masters, ['a']);
});

test('5% loss at 10 ms adverts over 10 simulated minutes: same rule, more adverts', (t) => {
  const r = flapRun(1, 600, 7);
  t.diagnostic(JSON.stringify(r));
  assert.ok(r.sent >= 59_900, `${r.sent} adverts`);
  assert.equal(r.aTransitions, 0);
  assert.equal(r.bTransitions, 2 * r.gaps);
  // About 60,000 adverts × 1.25e-4 ≈ 7.5 expected runs of three losses.
  assert.ok(r.gaps >= 1 && r.gaps <= 20, `${r.gaps} takeovers`);
  assert.deepEqual(r.masters, ['a']);
});

test('v3: a backup learns the master interval (2 s) and its takeover follows it', () => {
  const l = lan();
  l.addNode(inst('a', 150, 1, { advertIntervalCs: 200 }));
  l.addNode(inst('b', 100, 2, { advertIntervalCs: 100 }));
  l.runFor(10_000);
  l.kill('a');
  const last = l.lastAdvertAt('a')!;
  l.runFor(10_000);
  assert.equal(firstTransition(l, 'b', 'master', last)! - last, mdi(100, 200));
  assert.equal(mdi(100, 200), 7218.75);
  l.dispose();
});

test('v2: a backup with another interval discards the adverts, counts them, and (as keepalived) also becomes Master', () => {
  const l = lan();
  l.addNode(inst('a', 150, 1, { version: 2, advertIntervalCs: 200 }));
  l.addNode(inst('b', 100, 2, { version: 2, advertIntervalCs: 100 }));
  l.runFor(20_000);
  const b = l.actorOf('b')!.getSnapshot().context;
  assert.ok(b.stats.intervalMismatches >= 5, `${b.stats.intervalMismatches} mismatches`);
  assert.equal(b.masterAdvertIntervalCs, 100);
  assert.equal(firstTransition(l, 'b', 'master'), masterDownIntervalMs({ version: 2, priority: 100, masterAdvertIntervalCs: 100 }));
  assert.deepEqual(l.masters().sort(), ['a', 'b'], 'misconfigured v2 peers cannot hear each other');
  l.dispose();
});

test('the address owner (255) is Master at once; a split brain heals within one interval', () => {
  const l = lan({ delayMs: 1 });
  l.addNode(inst('owner', 255, 1));
  l.addNode(inst('b', 100, 2));
  assert.deepEqual(l.masters(), ['owner']);
  assert.equal(firstTransition(l, 'owner', 'master'), 0);
  l.runFor(5_000);
  l.partition([['owner'], ['b']]);
  l.runFor(5_000);
  assert.deepEqual(l.masters().sort(), ['b', 'owner']);
  l.runFor(250);
  const healedAt = l.now();
  l.heal();
  const single = l.runUntil(() => l.masters().length === 1, 3_000);
  assert.ok(single !== null && single - healedAt <= 1_000 + 2, `healed in ${single! - healedAt} ms`);
  assert.deepEqual(l.masters(), ['owner']);
  l.dispose();
});

test('fault (weight 0): the master leaves with priority 0, the backup takes over after Skew_Time; recovery preempts back', () => {
  const l = lan();
  l.addNode(inst('a', 150, 1, { tracks: [{ id: 'eth0', weight: 0 }] }));
  l.addNode(inst('b', 100, 2));
  l.runFor(5_000);
  const t0 = l.now();
  l.track('a', 'eth0', false);
  assert.equal(l.stateOf('a'), 'fault');
  l.runFor(5_000);
  assert.equal(firstTransition(l, 'b', 'master', t0)! - t0, skew(100));
  const t1 = l.now();
  l.track('a', 'eth0', true);
  assert.equal(l.stateOf('a'), 'backup');
  l.runFor(10_000);
  assert.equal(firstTransition(l, 'a', 'master', t1)! - t1, mdi(150), 'b is lower: a preempts on its own timer');
  assert.deepEqual(l.masters(), ['a']);
  assertSingleHolder(l, 0);
  assertAddressBookkeeping(l);
  l.dispose();
});

test('a weight dropping the master below the backup causes preemption, and back; none with nopreempt', () => {
  for (const preempt of [true, false]) {
    const l = lan();
    l.addNode(inst('a', 150, 1, { tracks: [{ id: 'chk', weight: -60 }] }));
    l.addNode(inst('b', 100, 2, { preempt }));
    l.runFor(5_300);
    const lastHigh = l.lastAdvertAt('a')!;
    l.track('a', 'chk', false); // a now advertises 90 < 100
    l.runFor(10_000);
    if (!preempt) {
      assert.deepEqual(l.masters(), ['a'], 'nopreempt: b keeps following a lower master');
      l.dispose();
      continue;
    }
    assert.deepEqual(l.masters(), ['b']);
    assert.equal(firstTransition(l, 'b', 'master')! - lastHigh, mdi(100), 'from the last advert b accepted');
    assert.equal(l.transitions({ node: 'a' }).at(-1)?.reason, 'higher-priority-advert');
    const t1 = l.now();
    l.track('a', 'chk', true); // 150 again, in Backup: b's 100 adverts are now ignored
    l.runFor(10_000);
    assert.deepEqual(l.masters(), ['a']);
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
    l.addNode(inst('a', 150, 1));
    l.addNode(inst('b', 150, 2));
    l.addNode(inst('c', 100, 3));
    l.runFor(120_000);
    const out = JSON.stringify(l.timeline);
    l.dispose();
    return out;
  };
  const first = run();
  assert.ok(first.length > 200, 'the lossy run produced transitions');
  assert.equal(run(), first);
});

test('instances on other VRIDs or links do not hear each other', () => {
  const l = lan();
  l.addNode(inst('a', 150, 1));
  l.addNode(inst('b', 100, 2, { vrid: 52 }));
  l.addNode(inst('c', 100, 3), { link: 'lan1' });
  l.runFor(5_000);
  assert.deepEqual(l.masters().sort(), ['a', 'b', 'c']);
  assert.equal(l.stats.delivered, 0);
  assert.throws(() => l.addNode(inst('a', 1, 9)), /already exists/);
  l.dispose();
});

test('IPv6 instances: equal priorities are decided on the full 128-bit address', () => {
  const v6 = (last: number, hi: number) => {
    const a = new Uint8Array(16);
    a.set([0xfd, 0x00, 0x01, 0x98, 0x00, 0x18]);
    a[8] = hi;
    a[15] = last;
    return a;
  };
  const l = lan();
  // 'x' has the larger last byte but the smaller byte 8: byte 8 decides.
  l.addNode(inst('x', 100, 0, { family: 'ipv6', primaryAddress: v6(0xff, 1), virtualAddresses: ['fd00:198:18::100/64'] }));
  l.addNode(inst('y', 100, 0, { family: 'ipv6', primaryAddress: v6(0x01, 2), virtualAddresses: ['fd00:198:18::100/64'] }));
  l.runFor(10_000);
  assert.deepEqual(l.masters(), ['y']);
  l.dispose();
});

test('adverts in flight to a stopped instance are dropped', () => {
  const l = lan({ delayMs: 5 });
  l.addNode(inst('a', 150, 1));
  l.addNode(inst('b', 100, 2));
  l.runFor(5_000);
  // Stop b within one tick after a's next advert left, while it is still in flight (5 ms).
  const sentAt = l.runUntil(() => l.lastAdvertAt('a')! > 5_000, 2_000);
  assert.ok(sentAt !== null && sentAt - l.lastAdvertAt('a')! < 5, 'stopped while in flight');
  const delivered = l.stats.delivered;
  l.stop('b');
  l.runFor(3_000);
  assert.equal(l.stateOf('b'), 'stopped');
  assert.equal(l.stats.delivered, delivered, 'nothing delivered to the stopped instance');
  assert.ok(l.stats.advertsSent > 0, 'a kept advertising');
  l.dispose();
});
