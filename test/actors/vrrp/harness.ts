/**
 * A single instance actor on xstate's SimulatedClock, fed by hand. The clock is
 * advanced in 1 ms ticks (TICK_MS), so a timer due at a fractional time fires at
 * the first whole millisecond at or after it.
 */
import { SimulatedClock } from 'xstate';
import { createVrrpInstance, type VrrpActor, type VrrpCommand, type VrrpInput } from '../../../actors/vrrp/index.js';

export const TICK_MS = 1;

export type Recorded = VrrpCommand & { t: number };

export function ipv4(...bytes: number[]): Uint8Array {
  return new Uint8Array(bytes);
}

export function baseInput(overrides: Partial<VrrpInput> = {}): VrrpInput {
  return {
    name: 'VI_1',
    vrid: 51,
    family: 'ipv4',
    version: 3,
    priority: 100,
    advertIntervalCs: 100,
    preempt: true,
    preemptDelayMs: 0,
    primaryAddress: ipv4(198, 18, 0, 1),
    virtualAddresses: ['198.18.0.100/24'],
    ...overrides,
  };
}

export interface Harness {
  clock: SimulatedClock;
  actor: VrrpActor;
  events: Recorded[];
  /** Advance simulated time by `ms` in TICK_MS steps. */
  run(ms: number): void;
  /** Advance until `pred` holds (checked after every tick); returns the time, or null after `maxMs`. */
  runUntil(pred: () => boolean, maxMs: number): number | null;
  state(): string;
  of<T extends Recorded['type']>(type: T): Extract<Recorded, { type: T }>[];
  /** An ADVERT from a peer, with this instance's version unless given. */
  advert(priority: number, source: Uint8Array, intervalCs?: number, version?: 2 | 3): void;
}

export function harness(overrides: Partial<VrrpInput> = {}, start = true): Harness {
  const clock = new SimulatedClock();
  const input = baseInput(overrides);
  const actor = createVrrpInstance(input, { clock });
  const events: Recorded[] = [];
  actor.on('*', (e) => events.push({ ...e, t: clock.now() } as Recorded));
  actor.start();
  if (start) actor.send({ type: 'START' });
  const h: Harness = {
    clock,
    actor,
    events,
    run(ms) {
      for (let i = 0; i < ms; i += TICK_MS) clock.increment(TICK_MS);
    },
    runUntil(pred, maxMs) {
      for (let i = 0; i < maxMs; i += TICK_MS) {
        if (pred()) return clock.now();
        clock.increment(TICK_MS);
      }
      return pred() ? clock.now() : null;
    },
    state() {
      const v = actor.getSnapshot().value;
      return typeof v === 'string' ? v : Object.keys(v)[0]!;
    },
    of(type) {
      return events.filter((e) => e.type === type) as never;
    },
    advert(priority, source, intervalCs = input.advertIntervalCs, version = input.version) {
      actor.send({ type: 'ADVERT', priority, intervalCs, source, version });
    },
  };
  return h;
}
