/**
 * The machine's hot path (a Backup accepting a plain advert, a Master's
 * Adver_Timer, taken without XState's interpreter) and the timer slots every
 * instance runs on, against the statechart alone on XState's own scheduler:
 * the same emitted commands at the same times, the same snapshots and the
 * same pending timers, on steady and disturbed random runs. Pure, simulated
 * time; bench/machine-equivalence.ts runs the long version against a git
 * revision.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, type AnyStateMachine } from 'xstate';
import { VirtualClock } from '../../../sim/index.js';
import { createVrrpInstance } from '../../../actors/vrrp/index.js';
import { adverTimerOutsideStep, interpretedVrrpMachine, sendHotAdvertsTo, vrrpMachine } from '../../../actors/vrrp/machine.js';
import { useTimerSlots } from '../../../actors/vrrp/timer-slots.js';
import { baseInput, ipv4 } from './harness.js';
import type { VrrpInput } from '../../../actors/vrrp/index.js';

type Step = { advance: number } | { send: Record<string, unknown> };

let seed = 1;
function rnd(): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x80000000;
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
const ser = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? Array.from(x).join('.') : typeof x === 'function' ? 'fn' : x));

const peers = [ipv4(198, 18, 0, 5), ipv4(198, 18, 0, 20)];

/** Mostly a Master's adverts on time, now and then something else (a new master, priority 0, a track, a priority). */
function scenario(): { input: VrrpInput; steps: Step[] } {
  const version = pick([2, 3] as const);
  const input = baseInput({
    version,
    priority: pick([50, 100, 150]),
    advertIntervalCs: version === 2 ? 100 : pick([100, 10, 37]),
    preempt: rnd() < 0.8,
    preemptDelayMs: rnd() < 0.2 ? 500 : 0,
    ...(rnd() < 0.2 ? { syncGroup: 'G' } : {}),
    tracks: [{ id: 't', weight: -60 }],
  });
  const interval = input.advertIntervalCs * 10;
  const master = { type: 'ADVERT', priority: pick([100, 120, 200]), intervalCs: input.advertIntervalCs, source: pick(peers), version };
  const steps: Step[] = [{ send: { type: 'START' } }];
  for (let i = 0; i < 80; i++) {
    const x = rnd();
    if (x < 0.55) steps.push({ advance: interval * pick([1, 1, 0.5, 0.97]) }, { send: master });
    else if (x < 0.75) steps.push({ advance: pick([1, interval, 4 * interval, 10_000]) });
    else if (x < 0.85) steps.push({ send: { ...master, priority: pick([0, 1, 255, master.priority]), source: pick(peers) } });
    else if (x < 0.9) steps.push({ send: { ...master, intervalCs: pick([50, 100, 200]) } });
    else if (x < 0.95) steps.push({ send: { type: 'TRACK', id: 't', up: rnd() < 0.5 } });
    else if (input.syncGroup && x < 0.98) steps.push({ send: pick([{ type: 'SYNC_MASTER' }, { type: 'SYNC_BACKUP' }]) });
    else steps.push({ send: { type: 'SET_PRIORITY', priority: pick([50, 100, 200]) } });
  }
  steps.push({ advance: 10_000 });
  return { input, steps };
}

/**
 * Every emitted command (with the time), snapshot and count of pending timers,
 * step by step. `outside`: as the runner drives the actor, hot adverts handed
 * to a sink and a Master's Adver_Timer taken outside XState's send between
 * steps (counted in `outsideSteps`).
 */
function drive(machine: AnyStateMachine, input: VrrpInput, steps: readonly Step[], slots: boolean, outside = false): string[] {
  const clock = new VirtualClock();
  const log: string[] = [];
  const actor = createActor(machine, { clock, input: { ...input, now: () => clock.now() } });
  if (slots) useTimerSlots(actor, clock);
  const onCommand = (e: { type: string }) => {
    log.push(`${clock.now()} emit ${ser(e)}`);
    // A timer per command: a change in the order timers are armed changes the order these fire in.
    clock.setTimeout(() => log.push(`${clock.now()} after ${e.type}`), 1000);
  };
  actor.on('*', onCommand);
  if (outside) {
    sendHotAdvertsTo(actor, onCommand);
    const send = actor.send.bind(actor);
    let sending = 0;
    actor.send = (event) => {
      if (sending === 0 && event.type === 'ADVER_TIMER' && adverTimerOutsideStep(actor)) {
        outsideSteps++;
        return;
      }
      sending++;
      try {
        send(event);
      } finally {
        sending--;
      }
    };
  }
  actor.start();
  for (const s of steps) {
    if ('advance' in s) clock.increment(s.advance);
    else actor.send(s.send as never);
    const snap = actor.getSnapshot();
    const { replies: _replies, ...context } = snap.context as Record<string, unknown>;
    log.push(`${clock.now()} ${ser(snap.value)} ${snap.status} ${ser(context)} pending=${clock.pending}`);
  }
  actor.stop();
  log.push(`stopped pending=${clock.pending}`);
  return log;
}

let outsideSteps = 0;

test('hot path and timer slots behave as the statechart on its own scheduler (120 random runs)', () => {
  for (let r = 0; r < 120; r++) {
    const { input, steps } = scenario();
    const expected = drive(interpretedVrrpMachine, input, steps, false);
    const actual = drive(vrrpMachine, input, steps, true);
    assert.deepEqual(actual, expected, `run ${r}, input ${ser(input)}`);
  }
});

test("driven as the runner does (hot adverts to a sink, a Master's Adver_Timer outside XState's send): the same as the statechart (120 random runs)", () => {
  outsideSteps = 0;
  for (let r = 0; r < 120; r++) {
    const { input, steps } = scenario();
    const expected = drive(interpretedVrrpMachine, input, steps, false);
    const actual = drive(vrrpMachine, input, steps, true, true);
    assert.deepEqual(actual, expected, `run ${r}, input ${ser(input)}`);
  }
  assert.ok(outsideSteps > 1000, `Adver_Timers taken outside the send: ${outsideSteps}`);
});

test("a Backup's plain advert and a Master's Adver_Timer keep the snapshot (no copy per advert)", () => {
  const clock = new VirtualClock();
  const backup = createVrrpInstance(baseInput({ priority: 100 }), { clock });
  backup.start();
  backup.send({ type: 'START' });
  const advert = { type: 'ADVERT' as const, priority: 200, intervalCs: 100, source: ipv4(198, 18, 0, 9), version: 3 as const };
  backup.send(advert);
  const before = backup.getSnapshot();
  clock.increment(1000);
  backup.send(advert);
  assert.equal(backup.getSnapshot(), before);
  assert.equal(backup.getSnapshot().context.stats.advertsReceived, 2);
  // Master_Down_Interval at priority 100, 1 s adverts: 3 s plus Skew_Time 609.375 ms.
  assert.equal(backup.getSnapshot().context.masterDownDeadline, 1000 + 3609.375);
  assert.equal(clock.pending, 1);

  const master = createVrrpInstance(baseInput({ priority: 255, primaryAddress: ipv4(198, 18, 0, 1) }), { clock });
  const sent: number[] = [];
  master.on('send-advert', () => sent.push(clock.now()));
  master.start();
  master.send({ type: 'START' });
  const asMaster = master.getSnapshot();
  clock.increment(3000);
  assert.equal(master.getSnapshot(), asMaster);
  assert.deepEqual(sent, [1000, 2000, 3000, 4000]);
  assert.equal(master.getSnapshot().context.stats.advertsSent, 4);
  master.stop();
  backup.stop();
  assert.equal(clock.pending, 0);
});
