/**
 * One instance actor driven by hand on xstate's SimulatedClock (1 ms ticks: a
 * timer due at a fractional time fires at the next whole millisecond).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { masterDownIntervalMs, skewTimeMs } from '../../../actors/vrrp/index.js';
import { harness, ipv4, TICK_MS, type Harness } from './harness.js';

const PEER_HIGH = ipv4(198, 18, 0, 9);
const PEER_LOW = ipv4(198, 18, 0, 0);
const MDI_100 = 3609.375;

test('a lone backup becomes Master after Master_Down_Interval, within one tick', () => {
  const h = harness();
  assert.equal(h.state(), 'backup');
  h.run(3609);
  assert.equal(h.state(), 'backup', 'not before Master_Down_Interval');
  const at = h.runUntil(() => h.state() === 'master', 10);
  assert.ok(at !== null && at >= MDI_100 && at <= MDI_100 + TICK_MS, `took over at ${at}`);
  const [toMaster] = h.of('transition').filter((e) => e.to === 'master');
  assert.equal(toMaster?.reason, 'master-down-timer');
  assert.deepEqual(toMaster?.masterSeen, ipv4(198, 18, 0, 1));
  // On entry: one advert, the addresses, one announcement.
  assert.equal(h.of('add-addresses').length, 1);
  assert.deepEqual(h.of('add-addresses')[0]?.addresses, ['198.18.0.100/24']);
  assert.equal(h.of('announce').length, 1);
  assert.deepEqual(
    h.of('send-advert').map((e) => e.priority),
    [100],
  );
  // Adver_Timer: one advert per interval afterwards.
  h.run(3000);
  assert.equal(h.of('send-advert').length, 4);
  assert.equal(h.of('add-addresses').length, 1, 'addresses added once per Master entry');
});

test('adverts from a higher priority keep a backup down; it takes over Master_Down_Interval after the last one', () => {
  const h = harness();
  let last = 0;
  for (let i = 0; i < 10; i++) {
    h.advert(150, PEER_HIGH);
    last = h.clock.now();
    h.run(1000);
  }
  assert.equal(h.state(), 'backup');
  const at = h.runUntil(() => h.state() === 'master', 5000);
  assert.ok(at !== null, 'took over');
  assert.ok(at - last >= MDI_100 && at - last <= MDI_100 + TICK_MS, `took over ${at - last} ms after the last advert`);
  const ctx = h.actor.getSnapshot().context;
  assert.equal(ctx.stats.advertsReceived, 10);
  assert.deepEqual(ctx.stats.lastMasterAddress, PEER_HIGH);
  assert.equal(ctx.stats.lastMasterPriority, 150);
});

test('a priority-0 advert makes the backup take over after Skew_Time', () => {
  const h = harness();
  h.advert(150, PEER_HIGH);
  h.run(500);
  const t0 = h.clock.now();
  h.advert(0, PEER_HIGH);
  const at = h.runUntil(() => h.state() === 'master', 2000);
  assert.ok(at !== null, 'took over');
  assert.ok(at - t0 >= 609.375 && at - t0 <= 609.375 + TICK_MS, `took over ${at - t0} ms after priority 0`);
  assert.equal(h.of('transition').at(-1)?.reason, 'priority-zero-skew');
  assert.equal(h.actor.getSnapshot().context.stats.priorityZeroReceived, 1);
});

test('timers count from when an advert arrived (receivedAt), credited at most one advert interval back', () => {
  const ad = (priority: number, receivedAt: number) => ({ type: 'ADVERT', priority, intervalCs: 100, source: PEER_HIGH, version: 3, receivedAt }) as const;
  // Read 40 ms after it arrived: Master_Down_Interval runs from the arrival.
  const late = harness();
  late.run(100);
  late.actor.send(ad(150, late.clock.now() - 40));
  const t0 = late.clock.now();
  const at = late.runUntil(() => late.state() === 'master', 5000);
  assert.ok(at !== null && at - t0 >= MDI_100 - 40 && at - t0 <= MDI_100 - 40 + TICK_MS, `took over ${at! - t0} ms after reading it`);

  // Read 3 s late (a stalled loop): one interval (1 s) of credit, never a timer already expired.
  const stale = harness();
  stale.run(5000);
  stale.actor.send(ad(150, stale.clock.now() - 3000));
  const t1 = stale.clock.now();
  const at1 = stale.runUntil(() => stale.state() === 'master', 5000);
  assert.ok(at1 !== null && at1 - t1 >= MDI_100 - 1000 && at1 - t1 <= MDI_100 - 1000 + TICK_MS, `took over ${at1! - t1} ms after reading it`);

  // Skew_Time after a priority-0 advert runs from its arrival too.
  const zero = harness();
  zero.advert(150, PEER_HIGH);
  zero.run(500);
  zero.actor.send(ad(0, zero.clock.now() - 200));
  const t2 = zero.clock.now();
  const at2 = zero.runUntil(() => zero.state() === 'master', 2000);
  assert.ok(at2 !== null && at2 - t2 >= 409.375 && at2 - t2 <= 409.375 + TICK_MS, `took over ${at2! - t2} ms after reading priority 0`);

  // An arrival stamp from the future (a clock mismatch) counts as now.
  const ahead = harness();
  ahead.run(100);
  ahead.actor.send(ad(150, ahead.clock.now() + 500));
  const t3 = ahead.clock.now();
  const at3 = ahead.runUntil(() => ahead.state() === 'master', 5000);
  assert.ok(at3 !== null && at3 - t3 >= MDI_100 && at3 - t3 <= MDI_100 + TICK_MS, `took over ${at3! - t3} ms after reading it`);
});

test('the address owner (255) goes straight to Master and advertises 255', () => {
  const h = harness({ priority: 255 });
  assert.equal(h.state(), 'master');
  assert.equal(h.clock.now(), 0);
  assert.equal(h.of('transition')[0]?.reason, 'address-owner');
  assert.deepEqual(h.of('send-advert')[0], { type: 'send-advert', priority: 255, intervalCs: 100, t: 0 });
  assert.equal(h.of('add-addresses').length, 1);
});

test("keepalived's state BACKUP holds an owner in Backup for one Master_Down_Interval", () => {
  const h = harness({ priority: 255, initialState: 'BACKUP' });
  assert.equal(h.state(), 'backup');
  const at = h.runUntil(() => h.state() === 'master', 5000);
  const mdi = masterDownIntervalMs({ version: 3, priority: 255, masterAdvertIntervalCs: 100 });
  assert.ok(at !== null && at >= mdi && at <= mdi + TICK_MS, `took over at ${at}`);
});

test("keepalived's state MASTER on priority < 255: Backup for one interval plus minimal skew, preempt forced on", () => {
  const h = harness({ initialState: 'MASTER', preempt: false, preemptDelayMs: 2000 });
  assert.equal(h.state(), 'backup');
  const at = h.runUntil(() => h.state() === 'master', 5000);
  const expected = 1000 + 1000 / 256;
  assert.ok(at !== null && at >= expected && at <= expected + TICK_MS, `took over at ${at}`);
  const warnings = h.of('warning').filter((w) => w.code === 'config');
  assert.equal(warnings.length, 2, 'nopreempt and preempt_delay cleared, as keepalived');
  assert.equal(h.actor.getSnapshot().context.cfg.preempt, true);
});

test('master: a higher priority, or an equal priority from a higher address, sends it to Backup', () => {
  for (const [priority, source] of [
    [150, PEER_LOW],
    [100, PEER_HIGH],
  ] as const) {
    const h = harness({ priority: 100 });
    h.runUntil(() => h.state() === 'master', 4000);
    h.advert(priority, source, 200);
    assert.equal(h.state(), 'backup', `priority ${priority}`);
    assert.equal(h.of('remove-addresses').length, 1);
    assert.equal(h.of('transition').at(-1)?.reason, 'higher-priority-advert');
    assert.deepEqual(h.of('transition').at(-1)?.masterSeen, source);
    // v3: the learned interval (2 s) drives the new Master_Down_Timer.
    const t0 = h.clock.now();
    const at = h.runUntil(() => h.state() === 'master', 10000);
    const mdi = masterDownIntervalMs({ version: 3, priority: 100, masterAdvertIntervalCs: 200 });
    assert.ok(at !== null && at - t0 >= mdi && at - t0 <= mdi + TICK_MS, `took over ${at! - t0} after`);
  }
});

test('master: an equal priority from a lower address, or a lower priority, is answered at once', () => {
  const h = harness({ priority: 100 });
  h.runUntil(() => h.state() === 'master', 4000);
  h.run(300); // between two Adver_Timer firings
  const before = h.of('send-advert').length;
  const announces = h.of('announce').length;
  h.advert(100, PEER_LOW);
  h.advert(50, PEER_HIGH);
  assert.equal(h.state(), 'master');
  assert.equal(h.of('send-advert').length, before + 2, 'one immediate advert per lower advert');
  assert.equal(h.of('announce').length, announces + 2, 'addresses re-announced (garp_lower_prio)');
  assert.ok(
    h
      .of('announce')
      .slice(-2)
      .every((a) => a.reason === 'lower-priority-advert'),
    'announce reasons',
  );
  assert.equal(h.of('remove-addresses').length, 0);
});

test('master: a priority-0 advert is answered at once and resets the Adver_Timer', () => {
  const h = harness({ priority: 100 });
  h.runUntil(() => h.state() === 'master', 4000);
  h.run(400);
  const t0 = h.clock.now();
  const n = h.of('send-advert').length;
  h.advert(0, PEER_LOW);
  assert.equal(h.of('send-advert').length, n + 1);
  h.run(999);
  assert.equal(h.of('send-advert').length, n + 1, 'old timer cancelled');
  h.run(1);
  assert.equal(h.of('send-advert').at(-1)?.t, t0 + 1000);
});

test('nopreempt: a higher-priority backup keeps accepting a lower-priority master', () => {
  const h = harness({ priority: 200, preempt: false });
  for (let i = 0; i < 20; i++) {
    h.advert(100, PEER_LOW);
    h.run(1000);
  }
  assert.equal(h.state(), 'backup');
  assert.equal(h.actor.getSnapshot().context.stats.lowerPriorityDiscarded, 0);
});

test('preempt: a higher-priority backup ignores a lower master and takes over on its own timer', () => {
  const h = harness({ priority: 200 });
  h.advert(100, PEER_LOW);
  h.run(1000);
  h.advert(100, PEER_LOW); // discarded: the timer keeps running from t=0
  const mdi = masterDownIntervalMs({ version: 3, priority: 200, masterAdvertIntervalCs: 100 });
  const at = h.runUntil(() => h.state() === 'master', 5000);
  assert.ok(at !== null && at >= mdi && at <= mdi + TICK_MS, `took over at ${at}`);
  assert.equal(h.actor.getSnapshot().context.stats.lowerPriorityDiscarded, 2, 'both lower adverts ignored');
});

/** A takeover's first frames, by command type, in the order the machine emitted them. */
function takeoverOrder(h: Harness): string[] {
  const at = h.runUntil(() => h.state() === 'master', 10_000);
  assert.ok(at !== null, 'took over');
  return h.events.filter((e) => e.type === 'add-addresses' || e.type === 'announce' || e.type === 'send-advert').map((e) => e.type);
}
const AFTER_SILENCE = ['announce', 'send-advert', 'add-addresses'];
const VIPS_FIRST = ['add-addresses', 'announce', 'send-advert'];

test('takeover order: after silence the burst and the advert go before the VIP add', () => {
  const gone = harness();
  gone.advert(150, PEER_HIGH);
  assert.deepEqual(takeoverOrder(gone), AFTER_SILENCE, 'a Master that went silent');
  assert.deepEqual(takeoverOrder(harness()), AFTER_SILENCE, 'no Master heard since startup');
  // nopreempt accepts the lower Master, so nothing went unaccepted.
  const kept = harness({ priority: 200, preempt: false });
  kept.advert(100, PEER_LOW);
  assert.deepEqual(takeoverOrder(kept), AFTER_SILENCE, 'a lower Master accepted under nopreempt, then silent');
});

test('takeover order: with a live router heard and not accepted, or after priority 0, the VIPs first', () => {
  const preempting = harness({ priority: 200 });
  preempting.advert(100, PEER_LOW);
  preempting.run(1000);
  preempting.advert(100, PEER_LOW);
  assert.deepEqual(takeoverOrder(preempting), VIPS_FIRST, 'preempting a lower Master that still advertises');
  const mismatched = harness({ version: 2 });
  mismatched.advert(150, PEER_HIGH);
  mismatched.run(1000);
  mismatched.advert(150, PEER_HIGH, 200);
  assert.equal(mismatched.actor.getSnapshot().context.stats.advertsDiscarded, 1);
  assert.deepEqual(takeoverOrder(mismatched), VIPS_FIRST, 'a Master whose adverts this Backup discards (VRRPv2 interval mismatch)');
  const stopped = harness();
  stopped.advert(150, PEER_HIGH);
  stopped.run(500);
  stopped.advert(0, PEER_HIGH);
  assert.deepEqual(takeoverOrder(stopped), VIPS_FIRST, 'a priority-0 handover');
});

test('takeover order: a router heard and not accepted is forgotten once an advert is accepted again', () => {
  const h = harness({ priority: 120 });
  h.advert(100, PEER_LOW);
  h.run(500);
  assert.equal(h.actor.getSnapshot().context.heardUnaccepted, true);
  // A better Master appears: accepted, and its plain adverts after it too.
  for (let i = 0; i < 3; i++) {
    h.advert(150, PEER_HIGH);
    assert.equal(h.actor.getSnapshot().context.heardUnaccepted, false, `advert ${i + 1}`);
    h.run(1000);
  }
  assert.equal(h.state(), 'backup');
  assert.deepEqual(takeoverOrder(h), AFTER_SILENCE, 'the better Master went silent');
});

test('preempt_delay: lower-priority adverts are accepted until the delay after the first one has passed', () => {
  const h = harness({ priority: 150, preemptDelayMs: 5200 });
  h.run(500);
  const first = h.clock.now();
  let lastAccepted = first;
  let takeover: number | null = null;
  for (let i = 0; i < 15 && takeover === null; i++) {
    if (h.clock.now() < first + 5200) lastAccepted = h.clock.now();
    h.advert(100, PEER_LOW);
    takeover = h.runUntil(() => h.state() === 'master', 1000);
  }
  assert.ok(takeover !== null, 'took over');
  assert.ok(takeover >= first + 5200, `no takeover before the delay (at ${takeover})`);
  const mdi = masterDownIntervalMs({ version: 3, priority: 150, masterAdvertIntervalCs: 100 });
  assert.ok(takeover - lastAccepted >= mdi && takeover - lastAccepted <= mdi + TICK_MS, `timer ran from the last accepted advert`);
  assert.ok(h.actor.getSnapshot().context.stats.lowerPriorityDiscarded >= 1, 'lower adverts discarded after the delay');
});

test('preempt_delay: a higher-priority advert ends the hold-off, so it starts again from the next lower one', () => {
  const h = harness({ priority: 150, preemptDelayMs: 3000 });
  h.advert(100, PEER_LOW); // hold-off starts at 0
  h.run(1000);
  h.advert(200, PEER_HIGH); // cleared
  assert.equal(h.actor.getSnapshot().context.preemptHold, 'idle');
  h.run(1000);
  h.advert(100, PEER_LOW); // new hold-off from 2000 to 5000
  assert.equal(h.actor.getSnapshot().context.preemptHold, 'holding');
  h.run(2500);
  h.advert(100, PEER_LOW); // 4500: still accepted
  assert.equal(h.actor.getSnapshot().context.stats.lowerPriorityDiscarded, 0);
  h.run(1000);
  assert.equal(h.actor.getSnapshot().context.preemptHold, 'expired');
});

test('v3 backup learns a longer master interval; its takeover follows it', () => {
  const h = harness({ priority: 100, advertIntervalCs: 100 });
  h.advert(150, PEER_HIGH, 300);
  h.run(3000);
  h.advert(150, PEER_HIGH, 300);
  const t0 = h.clock.now();
  const at = h.runUntil(() => h.state() === 'master', 20000);
  const mdi = masterDownIntervalMs({ version: 3, priority: 100, masterAdvertIntervalCs: 300 });
  assert.equal(mdi, 9000 + 1828.125);
  assert.ok(at !== null && at - t0 >= mdi && at - t0 <= mdi + TICK_MS, `took over ${at! - t0} after the last advert`);
  assert.equal(h.actor.getSnapshot().context.stats.intervalMismatches, 2);
  assert.equal(h.of('warning').filter((w) => w.code === 'interval-mismatch').length, 1, 'reported once per new value');
  // Back in Master it advertises its own interval.
  assert.equal(h.of('send-advert')[0]?.intervalCs, 100);
});

test('v2 backup discards adverts with another interval (RFC 3768), counts and reports them', () => {
  const h = harness({ version: 2, priority: 100, advertIntervalCs: 100 });
  for (let i = 0; i < 3; i++) {
    h.advert(150, PEER_HIGH, 200);
    h.run(1000);
  }
  const ctx = h.actor.getSnapshot().context;
  assert.equal(ctx.stats.intervalMismatches, 3);
  assert.equal(ctx.stats.advertsDiscarded, 3);
  assert.equal(ctx.masterAdvertIntervalCs, 100, 'v2 never learns the interval');
  assert.equal(h.of('warning').filter((w) => w.code === 'interval-mismatch').length, 1);
  // The mismatching master is not heard: takeover at the local Master_Down_Interval from start.
  const at = h.runUntil(() => h.state() === 'master', 5000);
  assert.ok(at !== null && at >= MDI_100 && at <= MDI_100 + TICK_MS, `took over at ${at}`);
});

test('adverts of the other VRRP version, or malformed, are discarded without crashing', () => {
  const h = harness();
  h.advert(150, PEER_HIGH, 100, 2);
  h.advert(300, PEER_HIGH);
  h.advert(150, PEER_HIGH, 0);
  assert.equal(h.state(), 'backup');
  assert.deepEqual(
    h.of('warning').map((w) => w.code),
    ['version-mismatch', 'malformed-advert', 'malformed-advert'],
  );
  const at = h.runUntil(() => h.state() === 'master', 5000);
  assert.ok(at !== null && at <= MDI_100 + TICK_MS, `none of them reset the timer (${at})`);
});

test('fault: a weight-0 track takes a Master to Fault (priority 0, addresses removed) and back through Backup', () => {
  const h = harness({ tracks: [{ id: 'eth0', weight: 0 }] });
  h.runUntil(() => h.state() === 'master', 4000);
  h.actor.send({ type: 'TRACK', id: 'eth0', up: false });
  assert.equal(h.state(), 'fault');
  assert.equal(h.of('send-advert').at(-1)?.priority, 0);
  assert.equal(h.of('remove-addresses').length, 1);
  assert.equal(h.of('transition').at(-1)?.reason, 'track-fault');
  h.advert(0, PEER_HIGH);
  h.run(10000);
  assert.equal(h.state(), 'fault', 'adverts and time do nothing in Fault');
  h.actor.send({ type: 'TRACK', id: 'eth0', up: true });
  assert.equal(h.state(), 'backup');
  const t0 = h.clock.now();
  const at = h.runUntil(() => h.state() === 'master', 5000);
  assert.ok(at !== null && at - t0 >= MDI_100 && at - t0 <= MDI_100 + TICK_MS, `took over ${at! - t0} after recovery`);
  assert.equal(h.of('add-addresses').length, 2);
});

test('fault: two weight-0 tracks must both recover; an owner returns to Master directly', () => {
  const h = harness({
    priority: 255,
    tracks: [
      { id: 'a', weight: 0 },
      { id: 'b', weight: 0, up: false },
    ],
  });
  assert.equal(h.state(), 'fault', 'starts in Fault when a track is down');
  h.actor.send({ type: 'TRACK', id: 'a', up: false });
  h.actor.send({ type: 'TRACK', id: 'b', up: true });
  assert.equal(h.state(), 'fault');
  h.actor.send({ type: 'TRACK', id: 'a', up: true });
  assert.equal(h.state(), 'master');
  assert.equal(h.of('transition').at(-1)?.reason, 'fault-cleared');
});

test('weighted tracks change the advertised priority from the next advert on', () => {
  const h = harness({
    priority: 100,
    tracks: [
      { id: 'chk', weight: -30 },
      { id: 'bonus', weight: 20, up: false },
    ],
  });
  h.runUntil(() => h.state() === 'master', 4000);
  h.run(100);
  h.actor.send({ type: 'TRACK', id: 'chk', up: false });
  assert.equal(h.actor.getSnapshot().context.effectivePriority, 70);
  assert.equal(h.actor.getSnapshot().context.basePriority, 100);
  assert.deepEqual(h.of('priority-changed').at(-1), { type: 'priority-changed', from: 100, to: 70, basePriority: 100, t: h.clock.now() });
  assert.equal(h.of('send-advert').at(-1)?.priority, 100, 'no extra advert');
  h.run(1000);
  assert.equal(h.of('send-advert').at(-1)?.priority, 70);
  h.actor.send({ type: 'TRACK', id: 'bonus', up: true });
  h.actor.send({ type: 'SET_PRIORITY', priority: 240 });
  assert.equal(h.actor.getSnapshot().context.effectivePriority, 230);
  h.actor.send({ type: 'TRACK', id: 'chk', up: true });
  assert.equal(h.actor.getSnapshot().context.effectivePriority, 254, 'clamped below 255');
});

test('a priority change in Backup moves the Master_Down deadline (as keepalived)', () => {
  const h = harness({ priority: 100 });
  h.run(1000);
  h.actor.send({ type: 'SET_PRIORITY', priority: 200 });
  const expected = MDI_100 + skewTimeMs({ version: 3, priority: 200, masterAdvertIntervalCs: 100 }) - 609.375;
  const at = h.runUntil(() => h.state() === 'master', 5000);
  assert.ok(at !== null && at >= expected && at <= expected + TICK_MS, `took over at ${at}, expected ${expected}`);
});

test('unknown tracks and invalid priorities are reported, not applied', () => {
  const h = harness();
  h.actor.send({ type: 'TRACK', id: 'nope', up: false });
  h.actor.send({ type: 'SET_PRIORITY', priority: 0 });
  h.actor.send({ type: 'SET_PRIORITY', priority: 256 });
  assert.deepEqual(
    h.of('warning').map((w) => w.code),
    ['unknown-track', 'invalid-priority', 'invalid-priority'],
  );
  assert.equal(h.actor.getSnapshot().context.effectivePriority, 100);
});

test('shutdown from Master sends priority 0 and removes addresses; from Backup it sends nothing', () => {
  const m = harness({ priority: 255 });
  m.actor.send({ type: 'SHUTDOWN' });
  assert.equal(m.actor.getSnapshot().status, 'done');
  assert.deepEqual(
    m.of('send-advert').map((e) => e.priority),
    [255, 0],
  );
  assert.equal(m.of('remove-addresses').length, 1);
  assert.equal(m.actor.getSnapshot().context.stats.priorityZeroSent, 1);
  m.run(5000);
  assert.equal(m.of('send-advert').length, 2, 'no advert after stop');

  const b = harness();
  b.actor.send({ type: 'SHUTDOWN' });
  assert.equal(b.actor.getSnapshot().status, 'done');
  assert.equal(b.of('send-advert').length, 0);
  assert.equal(b.of('remove-addresses').length, 0);
  assert.equal(b.of('transition').at(-1)?.to, 'stopped');
});

test('nothing happens before START; tracks given before START are honoured', () => {
  const h = harness({ tracks: [{ id: 'eth0', weight: 0 }] }, false);
  h.actor.send({ type: 'TRACK', id: 'eth0', up: false });
  h.advert(150, PEER_HIGH);
  h.run(5000);
  assert.equal(h.state(), 'initialize');
  assert.equal(h.events.length, 0);
  h.actor.send({ type: 'START' });
  assert.equal(h.state(), 'fault');
});

test('actions can be replaced with machine.provide (implementations are injected)', async () => {
  const { vrrpMachine } = await import('../../../actors/vrrp/index.js');
  const { createActor, SimulatedClock } = await import('xstate');
  const sent: number[] = [];
  const machine = vrrpMachine.provide({
    actions: { sendAdvert: ({ context }) => void sent.push(context.effectivePriority) },
  });
  const clock = new SimulatedClock();
  const { baseInput } = await import('./harness.js');
  const actor = createActor(machine, { clock, input: { ...baseInput({ priority: 255 }), now: () => clock.now() } });
  actor.start();
  actor.send({ type: 'START' });
  clock.increment(1000);
  assert.deepEqual(sent, [255, 255]);
});

test('the factory rejects inputs the configuration layer should have caught', async () => {
  const { createVrrpInstance } = await import('../../../actors/vrrp/index.js');
  const { SimulatedClock } = await import('xstate');
  const { baseInput } = await import('./harness.js');
  const clock = new SimulatedClock();
  for (const bad of [
    { priority: 0 },
    { vrid: 256 },
    { version: 2 as const, advertIntervalCs: 150 },
    { family: 'ipv6' as const },
    {
      tracks: [
        { id: 'x', weight: 0 },
        { id: 'x', weight: 1 },
      ],
    },
  ]) {
    assert.throws(() => createVrrpInstance(baseInput(bad), { clock }), TypeError, JSON.stringify(bad));
  }
});

test('with a logger, transitions and warnings are logged with instance context', async () => {
  const { createVrrpInstance } = await import('../../../actors/vrrp/index.js');
  const { createLogger } = await import('../../../core/logger.js');
  const { PassThrough } = await import('node:stream');
  const { SimulatedClock } = await import('xstate');
  const { baseInput } = await import('./harness.js');
  const out = new PassThrough();
  const lines: string[] = [];
  out.on('data', (c: Buffer) => lines.push(...c.toString().trim().split('\n')));
  const clock = new SimulatedClock();
  const actor = createVrrpInstance(baseInput({ priority: 255 }), { clock, logger: createLogger({ destination: out }) });
  actor.start();
  actor.send({ type: 'START' });
  actor.send({ type: 'TRACK', id: 'nope', up: false });
  await new Promise((r) => setImmediate(r));
  const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const transition = records.find((r) => r.msg === 'vrrp transition');
  assert.equal(transition?.instance, 'VI_1');
  assert.equal(transition?.vrid, 51);
  assert.equal(transition?.to, 'master');
  assert.equal(transition?.master, '198.18.0.1');
  assert.equal(records.find((r) => r.code === 'unknown-track')?.level, 40);
});

test('SET_PRIMARY_ADDRESS gives an instance held in Fault its source address; one of the wrong length is ignored', () => {
  const h = harness({ primaryAddress: ipv4(0, 0, 0, 0), tracks: [{ id: 'source', weight: 0, up: false }] });
  assert.equal(h.state(), 'fault');
  h.actor.send({ type: 'SET_PRIMARY_ADDRESS', address: new Uint8Array(16) });
  assert.deepEqual([...h.actor.getSnapshot().context.cfg.primaryAddress], [0, 0, 0, 0]);
  h.actor.send({ type: 'SET_PRIMARY_ADDRESS', address: ipv4(198, 18, 0, 7) });
  h.actor.send({ type: 'TRACK', id: 'source', up: true });
  // The machine's tie-break key and advert source is now the new address.
  assert.deepEqual([...h.actor.getSnapshot().context.cfg.primaryAddress], [198, 18, 0, 7]);
  assert.equal(h.state(), 'backup');
});
