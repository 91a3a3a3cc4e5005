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
