/**
 * An advert standing for absorbed repeats (AdvertEvent.copies, readAt; the
 * runner's repeat absorption) against the same repeats handed one by one:
 * the same counters, Master_Down deadline, transitions and commands at the
 * same times. The repeats are taken as the runner takes them: before
 * Master_Down_Timer fires (TimerSlots.beforeFire) and at random moments in
 * between. Pure, simulated time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../../sim/index.js';
import { createVrrpInstance, MASTER_DOWN_TIMER_ID, plainAdvertSteps, type AdvertEvent, type VrrpInput } from '../../../actors/vrrp/index.js';
import { TimerSlots } from '../../../actors/vrrp/timer-slots.js';
import { repeatedAdvert } from '../../../actors/vrrp/receive.js';
import { baseInput, ipv4 } from './harness.js';

let seed = 7;
function rnd(): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x80000000;
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

function run(input: VrrpInput, arrivals: readonly number[], absorb: boolean, takeAt: ReadonlySet<number>): string[] {
  const clock = new VirtualClock();
  const log: string[] = [];
  const actor = createVrrpInstance(input, { clock });
  actor.on('*', (e) => log.push(`${clock.now()} ${JSON.stringify(e, (_k, x: unknown) => (x instanceof Uint8Array ? Array.from(x).join('.') : x))}`));
  const advert: AdvertEvent = { type: 'ADVERT', priority: 200, intervalCs: input.advertIntervalCs, source: ipv4(198, 18, 0, 5), version: input.version };
  let pending = 0;
  let lastArrival = 0;
  const take = () => {
    if (pending === 0) return;
    const copies = pending;
    pending = 0;
    actor.send(repeatedAdvert(advert, copies, lastArrival, lastArrival));
  };
  if (absorb) (actor.system.scheduler as TimerSlots).beforeFire(MASTER_DOWN_TIMER_ID, take);
  // As the runner: absorbing after a plain advert step, until a step of another kind.
  let armed = false;
  let plain = 0;
  let lastStepPlain = false;
  actor.subscribe(() => {
    const n = plainAdvertSteps(actor);
    lastStepPlain = n !== plain;
    plain = n;
    if (!lastStepPlain) armed = false;
  });
  actor.start();
  actor.send({ type: 'START' });
  for (let i = 0; i < arrivals.length; i++) {
    clock.increment(arrivals[i]! - clock.now());
    if (!absorb || !armed) {
      lastStepPlain = false;
      actor.send({ ...advert, receivedAt: clock.now() });
      armed = absorb && lastStepPlain;
    } else {
      pending++;
      lastArrival = clock.now();
      if (takeAt.has(i)) take();
    }
  }
  clock.increment(20_000);
  const ctx = actor.getSnapshot().context;
  log.push(`end ${JSON.stringify(actor.getSnapshot().value)} ${JSON.stringify({ ...ctx.stats, lastMasterAddress: null })} deadline=${ctx.masterDownDeadline}`);
  actor.stop();
  return log;
}

test('an advert standing for its repeats leaves the machine as the repeats one by one do (100 random runs)', () => {
  for (let r = 0; r < 100; r++) {
    const version = pick([2, 3] as const);
    const advertIntervalCs = version === 2 ? 100 : pick([100, 10, 37]);
    const input = baseInput({ version, priority: pick([50, 100, 150]), advertIntervalCs });
    const interval = advertIntervalCs * 10;
    const arrivals: number[] = [];
    let t = 5;
    for (let i = 0; i < 40; i++) {
      arrivals.push(t);
      // Mostly on time, sometimes late by up to the Master_Down_Interval's margin, once in a while a gap that ends in a takeover.
      t += interval * pick([1, 1, 1, 0.9, 1.1, 2, 2.5, rnd() < 0.1 ? 5 : 1]);
    }
    const takeAt = new Set(arrivals.map((_a, i) => i).filter(() => rnd() < 0.2));
    const oneByOne = run(input, arrivals, false, takeAt);
    const absorbed = run(input, arrivals, true, takeAt);
    assert.deepEqual(absorbed, oneByOne, `run ${r}: ${JSON.stringify({ version, advertIntervalCs, priority: input.priority })}`);
  }
});
