// The runner skips the receive screen for an advert it passed before (the
// hub's decoded advert for the same bytes, the same sender object, the same
// meta): these tests hand it such repeats with one thing the flood gate does
// not tell apart changed, and check that the screen still refuses it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeVrrp, parseAddress } from '../../../wire/codec/index.js';
import { WireHub } from '../../../wire/hub/vrid-hub.js';
import type { ReceivedPacket, VrrpSocket } from '../../../wire/socket/index.js';
import { InstanceRunner } from '../../../infra/vrrp/instance-runner.js';
import { planInstance } from '../../../infra/vrrp/plan.js';
import { silentLogger } from '../../../core/logger.js';
import { VirtualClock } from '../../../sim/index.js';
import { instanceFrom, LAN_HOST } from './fixtures.js';

const VIP = '198.18.0.100';
const MASTER = '198.18.0.7';

function backupWithHandDrivenSocket() {
  const clock = new VirtualClock();
  const log = silentLogger();
  let deliver: ((p: ReceivedPacket) => void) | null = null;
  const hub = new WireHub(
    log,
    () => {
      const socket: VrrpSocket = {
        family: 4,
        ifindex: 2,
        stats: { received: 0, malformed: 0, receiveErrors: 0 },
        onPacket: (h) => void (deliver = h),
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
  // The VRRPv3 checksum covers the destination: a copy sent elsewhere is encoded for it.
  const encode = (to: Uint8Array) =>
    encodeVrrp({ version: 3, vrid: 51, priority: 200, maxAdvertIntervalCs: 100, addresses: [parseAddress(VIP)!] }, { source, destination: to });
  const payload = encode(destination);
  const send = (o: Partial<ReceivedPacket> = {}) => {
    deliver!({ payload: o.destination ? encode(o.destination) : payload, ttl: 255, ifindex: 2, source, destination, ageUs: 0, ...o });
    clock.increment(20);
  };
  return { runner, send, received: () => runner.status().counters.advertsReceived as number };
}

test('a repeat of a passed advert on another interface is still refused', () => {
  const b = backupWithHandDrivenSocket();
  b.send();
  b.send();
  assert.equal(b.received(), 2, 'both copies reached the machine');
  b.send({ ifindex: 3 });
  assert.equal(b.runner.status().drops['wrong-interface'], 1);
  assert.equal(b.received(), 2);
  b.send();
  assert.equal(b.received(), 3, 'and the next on the right interface passes again');
});

test('a repeat with another TTL or to a unicast address is refused, whatever passed before', () => {
  const b = backupWithHandDrivenSocket();
  b.send();
  b.send({ ttl: 254 });
  assert.equal(b.runner.status().drops['bad-ttl'], 1);
  b.send({ destination: parseAddress('198.18.0.1')! });
  assert.equal(b.runner.status().drops['wrong-destination'], 1);
  assert.equal(b.received(), 1);
});
