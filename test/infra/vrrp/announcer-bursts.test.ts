// The gratuitous ARP / unsolicited NA schedule on a simulated clock, against
// keepalived 2.2.7 (vrrp.c vrrp_state_master_tx and vrrp_state_master_rx): a
// burst on becoming Master and garp_master_delay later; on a lower-priority
// advert a burst at once and garp_lower_prio_delay later.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Announcer, burstOfFrames, type AnnounceIo } from '../../../infra/vrrp/announcer.js';
import type { GarpPlan, PlannedVip } from '../../../infra/vrrp/plan.js';
import { silentLogger } from '../../../core/logger.js';
import { VirtualClock } from '../../../sim/index.js';

const VIPS: PlannedVip[] = [{ address: '198.18.0.100', bytes: new Uint8Array([198, 18, 0, 100]), family: 4, prefix: 24, dev: 'eth0' }];

const KEEPALIVED_DEFAULTS: GarpPlan = {
  masterDelayMs: 5000,
  masterRepeat: 5,
  refreshMs: 0,
  refreshRepeat: 1,
  lowerPrioDelayMs: 5000,
  lowerPrioRepeat: 5,
  lowerPrioGapMs: 100,
};

function setup(garp: Partial<GarpPlan> = {}) {
  const clock = new VirtualClock();
  const sent: number[] = [];
  const io: AnnounceIo = {
    interfaceOf: () => ({ mac: new Uint8Array([2, 0, 0, 0, 0, 1]), linkLocal: null }),
    sendBurst: burstOfFrames(() => {
      sent.push(clock.now());
      return { ok: true };
    }),
    setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
    clearTimeout: (h) => clock.clearTimeout(h),
    now: () => clock.now(),
  };
  const a = new Announcer(VIPS, { ...KEEPALIVED_DEFAULTS, ...garp }, io, silentLogger());
  /** Frames sent, grouped by time: [[time, count], ...]. */
  const bursts = () => [...sent.reduce((m, t) => m.set(t, (m.get(t) ?? 0) + 1), new Map<number, number>())];
  return { clock, a, bursts };
}

test('becoming Master: garp_master_repeat now and again after garp_master_delay, then refreshes', () => {
  const { clock, a, bursts } = setup({ refreshMs: 20_000, refreshRepeat: 2 });
  clock.increment(1000);
  a.becameMaster();
  clock.increment(50_000);
  assert.deepEqual(bursts(), [
    [1000, 5],
    [6000, 5],
    [21_000, 2],
    [41_000, 2],
  ]);
});

test('a lower-priority advert: garp_lower_prio_repeat now and again garp_lower_prio_delay later', () => {
  const { clock, a, bursts } = setup();
  clock.increment(1000);
  a.lowerPriorityMaster();
  clock.increment(10_000);
  assert.deepEqual(bursts(), [
    [1000, 5],
    [6000, 5],
  ]);
});

test('repeated lower-priority adverts: bursts at most once per gap, one delayed burst after the last', () => {
  const { clock, a, bursts } = setup();
  // A lower-priority master advertising every 100 ms for a second, plus a flood in between.
  for (let t = 0; t < 1000; t += 10) {
    a.lowerPriorityMaster();
    clock.increment(10);
  }
  clock.increment(10_000);
  const b = bursts();
  const immediate = b.filter(([t]) => t < 1000);
  assert.equal(immediate.length, 10, `one burst per 100 ms: ${JSON.stringify(immediate)}`);
  assert.ok(
    immediate.every(([, n]) => n === 5),
    'each of garp_lower_prio_repeat frames',
  );
  assert.deepEqual(
    b.filter(([t]) => t >= 1000),
    [[990 + 5000, 5]],
    'a single delayed burst, garp_lower_prio_delay after the last advert',
  );
});

test('garp_lower_prio_repeat 0 (vrrp_strict) sends nothing; garp_lower_prio_delay 0 sends no second burst', () => {
  const off = setup({ lowerPrioRepeat: 0 });
  off.a.lowerPriorityMaster();
  off.clock.increment(10_000);
  assert.deepEqual(off.bursts(), []);
  const once = setup({ lowerPrioDelayMs: 0 });
  once.a.lowerPriorityMaster();
  once.clock.increment(10_000);
  assert.deepEqual(once.bursts(), [[0, 5]]);
});

test('leaving Master cancels the pending second bursts', () => {
  const { clock, a, bursts } = setup();
  a.becameMaster();
  clock.increment(200);
  a.lowerPriorityMaster();
  clock.increment(100);
  a.cancel();
  assert.equal(clock.pending, 0);
  clock.increment(10_000);
  assert.deepEqual(bursts(), [
    [0, 5],
    [200, 5],
  ]);
});

test('a later lower-priority advert after a quiet spell is answered at once, whatever garp_lower_prio_delay', () => {
  // The issue-19 failure: a burst was allowed only once per garp_lower_prio_delay,
  // so a second brief takeover within 5 s of the first got none.
  const { clock, a, bursts } = setup();
  a.lowerPriorityMaster();
  clock.increment(2000);
  a.lowerPriorityMaster();
  clock.increment(10_000);
  assert.deepEqual(bursts(), [
    [0, 5],
    [2000, 5],
    [7000, 5],
  ]);
});
