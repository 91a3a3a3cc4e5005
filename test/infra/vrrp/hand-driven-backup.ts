/**
 * A Backup runner on a real hub whose one socket is driven by hand, on a
 * virtual clock: tests hand it datagrams as the addon would (ReceivedPacket)
 * and read what the runner made of them.
 */
import assert from 'node:assert/strict';
import { encodeVrrp, parseAddress } from '../../../wire/codec/index.js';
import { WireHub } from '../../../wire/hub/vrid-hub.js';
import type { ReceivedPacket, RepeatAbsorber, VrrpSocket } from '../../../wire/socket/index.js';
import { InstanceRunner } from '../../../infra/vrrp/instance-runner.js';
import { planInstance } from '../../../infra/vrrp/plan.js';
import { silentLogger } from '../../../core/logger.js';
import { VirtualClock } from '../../../sim/index.js';
import type { VrrpClock } from '../../../actors/vrrp/index.js';
import { PreciseTimer, preciseTimeout, type PreciseTimeout, type PreciseTimerHost } from '../../../daemon/precise-timer.js';
import { instanceFrom, LAN_HOST } from './fixtures.js';

export const VIP = '198.18.0.100';
export const MASTER = '198.18.0.7';

export interface HandDrivenBackup {
  clock: VirtualClock;
  runner: InstanceRunner;
  /** Hands the socket's handler one datagram (defaults: the Master's priority-200 advert, TTL 255, on the socket's interface). */
  deliver(o?: Partial<ReceivedPacket>): void;
  /** The Master's advert at `priority`, to `to` (the VRRPv3 checksum covers the destination). */
  advert(priority: number, to?: Uint8Array): Buffer;
  source: Uint8Array;
  destination: Uint8Array;
  received(): number;
  /** With `precise`: how many times a precise timer's host timer woke the loop. */
  hostWakes(): number;
}

/** One turn of a simulated loop: a precise timer's last stretch advances in steps of this. */
const LOOP_TURN_MS = 0.05;

/** The daemon's precise timers (daemon/precise-timer.ts) on `clock`, counting their host timers' wake-ups. */
function preciseOn(clock: VirtualClock): { vrrp: VrrpClock; wakes: () => number } {
  let wakes = 0;
  type Host = { fn: () => void; ms: number; t: unknown };
  const arm = (h: Host) =>
    (h.t = clock.setTimeout(() => {
      wakes++;
      h.fn();
    }, h.ms));
  const host: PreciseTimerHost = {
    now: () => clock.now(),
    setTimeout: (fn, ms) => {
      const h: Host = { fn, ms, t: null };
      arm(h);
      return h;
    },
    clearTimeout: (h) => clock.clearTimeout((h as Host).t),
    refresh: (h) => {
      clock.clearTimeout((h as Host).t);
      arm(h as Host);
    },
    setImmediate: (fn) => clock.setTimeout(fn, LOOP_TURN_MS),
    clearImmediate: (h) => clock.clearTimeout(h),
  };
  const vrrp: VrrpClock = {
    now: () => clock.now(),
    setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
    clearTimeout: (id) => clock.clearTimeout(id),
    precise: {
      setTimeout: (fn, ms) => preciseTimeout(fn, ms, host),
      clearTimeout: (id) => (id as PreciseTimeout).cancel(),
      createTimer: (fire, soon) => new PreciseTimer(fire, host, soon),
    },
  };
  return { vrrp, wakes: () => wakes };
}

/**
 * A Backup (VRID 51, priority 100, 1 s adverts) in `backup` already; `repeats` gives the socket an absorber.
 * `precise`: the takeover timers are the daemon's precise ones (on the virtual clock), which can say when they wake.
 */
export function handDrivenBackup(repeats?: RepeatAbsorber, o: { precise?: boolean } = {}): HandDrivenBackup {
  const clock = new VirtualClock();
  const precise = o.precise ? preciseOn(clock) : null;
  const log = silentLogger();
  let handler: ((p: ReceivedPacket) => void) | null = null;
  const hub = new WireHub(
    log,
    () => {
      const socket: VrrpSocket = {
        family: 4,
        ifindex: 2,
        ...(repeats ? { repeats } : {}),
        stats: { received: 0, malformed: 0, receiveErrors: 0 },
        onPacket: (h) => void (handler = h),
        onError: () => undefined,
        send: () => ({ ok: true, value: undefined }),
        ref: () => undefined,
        close: () => undefined,
      };
      return { ok: true, value: socket };
    },
    undefined,
    () => clock.now(),
  );
  const planned = planInstance(instanceFrom(`  state BACKUP\n  version 3\n  priority 100\n  virtual_ipaddress {\n    ${VIP}/32\n  }`), LAN_HOST);
  assert.ok(planned.ok);
  const announceIo = {
    interfaceOf: () => ({ mac: new Uint8Array(6), linkLocal: null }),
    sendBurst: (frames: readonly unknown[], rounds: number) => ({ sent: frames.length * rounds, failed: 0 }),
    setTimeout: (fn: () => void, ms: number) => clock.setTimeout(fn, ms),
    clearTimeout: (h: unknown) => clock.clearTimeout(h),
    now: () => clock.now(),
  };
  const runner = new InstanceRunner(planned.plan, { hub, vipOps: { add: () => [], remove: () => [] }, announceIo, clock: precise?.vrrp ?? clock, log });
  assert.ok(runner.start().ok);
  clock.increment(10);
  assert.equal(runner.state, 'backup');
  // One source object for every datagram, as the addon hands a repeated address.
  const source = parseAddress(MASTER)!;
  const destination = parseAddress('224.0.0.18')!;
  const advert = (priority: number, to = destination) =>
    encodeVrrp({ version: 3, vrid: 51, priority, maxAdvertIntervalCs: 100, addresses: [parseAddress(VIP)!] }, { source, destination: to });
  const plain = advert(200);
  return {
    clock,
    runner,
    source,
    destination,
    advert,
    deliver: (o = {}) => handler!({ payload: o.destination ? advert(200, o.destination) : plain, ttl: 255, ifindex: 2, source, destination, ageUs: 0, ...o }),
    received: () => runner.status().counters.advertsReceived as number,
    hostWakes: () => precise?.wakes() ?? 0,
  };
}
