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
}

/** A Backup (VRID 51, priority 100, 1 s adverts) in `backup` already; `repeats` gives the socket an absorber. */
export function handDrivenBackup(repeats?: RepeatAbsorber): HandDrivenBackup {
  const clock = new VirtualClock();
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
    sendFrame: () => ({ ok: true as const }),
    setTimeout: (fn: () => void, ms: number) => clock.setTimeout(fn, ms),
    clearTimeout: (h: unknown) => clock.clearTimeout(h),
    now: () => clock.now(),
  };
  const runner = new InstanceRunner(planned.plan, { hub, vipOps: { add: () => [], remove: () => [] }, announceIo, clock, log });
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
  };
}
