// Which of an instance's timers go to its clock's precise timers (VrrpClock.precise):
// the two whose expiry makes a Backup Master, and no other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedClock } from 'xstate';
import { createVrrpInstance, type VrrpClock } from '../../../actors/vrrp/index.js';
import { baseInput, ipv4 } from './harness.js';

const PEER_HIGH = ipv4(198, 18, 0, 9);

function recordingClock() {
  const sim = new SimulatedClock();
  const armed: { kind: 'plain' | 'precise'; ms: number; at: number }[] = [];
  const clock: VrrpClock = {
    now: () => sim.now(),
    setTimeout: (fn, ms) => {
      armed.push({ kind: 'plain', ms, at: sim.now() });
      return sim.setTimeout(fn, ms);
    },
    clearTimeout: (id) => sim.clearTimeout(id as number),
    precise: {
      setTimeout: (fn, ms) => {
        armed.push({ kind: 'precise', ms, at: sim.now() });
        return sim.setTimeout(fn, ms);
      },
      clearTimeout: (id) => sim.clearTimeout(id as number),
    },
  };
  return { sim, clock, armed };
}

test('Master_Down_Timer and Skew_Time run on the precise timers, Adver_Timer on the plain ones', () => {
  const { sim, clock, armed } = recordingClock();
  const actor = createVrrpInstance(baseInput(), { clock });
  const sent: number[] = [];
  actor.on('send-advert', (e) => sent.push(e.priority));
  actor.start();
  actor.send({ type: 'START' });
  const advert = (priority: number) => actor.send({ type: 'ADVERT', priority, intervalCs: 100, source: PEER_HIGH, version: 3 });

  // A Backup hearing its Master: every re-armed Master_Down_Timer is precise.
  for (let i = 0; i < 3; i++) {
    advert(200);
    sim.increment(1000);
  }
  assert.ok(armed.length >= 3);
  assert.deepEqual(new Set(armed.map((a) => a.kind)), new Set(['precise']));

  // A priority-0 advert: Skew_Time (609.375 ms at priority 100), precise too; then the takeover.
  armed.length = 0;
  advert(0);
  const skew = armed.find((a) => Math.abs(a.ms - 609.375) < 0.001);
  assert.equal(skew?.kind, 'precise', JSON.stringify(armed));
  for (let i = 0; i < 700 && sent.length === 0; i++) sim.increment(1);
  assert.deepEqual(sent, [100], 'took over after Skew_Time');

  // Master: Adver_Timer is plain.
  armed.length = 0;
  sim.increment(1000);
  assert.ok(armed.length >= 1);
  assert.deepEqual(new Set(armed.map((a) => a.kind)), new Set(['plain']));
  actor.stop();
});

test('a clock without precise timers runs the takeover timers on setTimeout, at the same times', () => {
  const sim = new SimulatedClock();
  const clock: VrrpClock = { now: () => sim.now(), setTimeout: (fn, ms) => sim.setTimeout(fn, ms), clearTimeout: (id) => sim.clearTimeout(id as number) };
  const actor = createVrrpInstance(baseInput(), { clock });
  let tookOverAt: number | null = null;
  actor.on('send-advert', () => (tookOverAt ??= sim.now()));
  actor.start();
  actor.send({ type: 'START' });
  actor.send({ type: 'ADVERT', priority: 200, intervalCs: 100, source: PEER_HIGH, version: 3 });
  for (let i = 0; i < 4000 && tookOverAt === null; i++) sim.increment(1);
  // Master_Down_Interval at priority 100, 1 s adverts: 3 * 1000 + (256 - 100) * 1000 / 256 ms.
  assert.equal(tookOverAt, Math.ceil(3000 + (156 * 1000) / 256));
  actor.stop();
});

test('a clock with re-armable timers gets one per named timer, re-armed in place, the same times, and all released at stop', () => {
  // The same run on a clock of plain timeouts and on one of re-armable timers: the same adverts at the same times.
  const run = (reusable: boolean) => {
    const sim = new SimulatedClock();
    const made: { starts: number; cancels: number; disposed: boolean }[] = [];
    const createTimer = (fire: () => void) => {
      let id: number | null = null;
      const rec = { starts: 0, cancels: 0, disposed: false };
      made.push(rec);
      return {
        start: (ms: number) => {
          rec.starts++;
          if (id !== null) sim.clearTimeout(id);
          id = sim.setTimeout(() => {
            id = null;
            fire();
          }, ms) as number;
        },
        cancel: () => {
          rec.cancels++;
          if (id !== null) sim.clearTimeout(id);
          id = null;
        },
        dispose: () => {
          rec.disposed = true;
          if (id !== null) sim.clearTimeout(id);
          id = null;
        },
      };
    };
    const plain = { setTimeout: (fn: () => void, ms: number) => sim.setTimeout(fn, ms), clearTimeout: (id: unknown) => sim.clearTimeout(id as number) };
    const clock: VrrpClock = {
      now: () => sim.now(),
      ...plain,
      ...(reusable ? { createTimer } : {}),
      precise: { ...plain, ...(reusable ? { createTimer } : {}) },
    };
    const actor = createVrrpInstance(baseInput(), { clock });
    const sent: { priority: number; at: number }[] = [];
    actor.on('send-advert', (e) => sent.push({ priority: e.priority, at: sim.now() }));
    actor.start();
    actor.send({ type: 'START' });
    for (let i = 0; i < 20; i++) {
      actor.send({ type: 'ADVERT', priority: 200, intervalCs: 100, source: PEER_HIGH, version: 3 });
      sim.increment(1000);
    }
    // The Master goes silent: takeover after Master_Down_Interval, then adverts every second.
    for (let i = 0; i < 9000; i++) sim.increment(1);
    actor.stop();
    return { sent, made };
  };
  const plain = run(false);
  const reusable = run(true);
  assert.ok(plain.sent.length >= 5, `took over and advertised: ${JSON.stringify(plain.sent)}`);
  assert.deepEqual(reusable.sent, plain.sent);
  // Master_Down_Timer and Adver_Timer (and whatever other named timer ran): each made once, re-armed many times.
  assert.ok(reusable.made.length >= 2 && reusable.made.length <= 4, `${reusable.made.length} timers made`);
  assert.ok(
    reusable.made.some((t) => t.starts >= 20),
    JSON.stringify(reusable.made),
  );
  assert.ok(
    reusable.made.every((t) => t.disposed),
    'every timer released at stop',
  );
  assert.equal(plain.made.length, 0);
});
