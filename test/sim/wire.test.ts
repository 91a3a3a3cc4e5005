// The simulator's virtual segments (sim/wire.ts) and timer scopes (sim/host.ts),
// below the VirtualLan: what a WireHub's socket receives, and when.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../core/logger.js';
import { TimerScope, VirtualClock, VirtualWire, mulberry32, type WireNode } from '../../sim/index.js';
import type { ReceivedPacket, VrrpSocket } from '../../wire/socket/index.js';
import { formatAddress } from '../../wire/codec/index.js';

function node(name: string, segment: string, address: string, ifindex = 2): WireNode {
  return {
    name,
    port: (iface) => (iface === 'eth0' ? { segment, ifindex } : undefined),
    owns: (iface, a) => iface === 'eth0' && a === address,
  };
}

/** A received packet with its addresses as text, for readable assertions. */
type Got = Omit<ReceivedPacket, 'source' | 'destination'> & { source: string; destination: string | null };

function open(wire: VirtualWire, n: WireNode, mode: 'multicast' | 'unicast', source: string): { socket: VrrpSocket; got: Got[] } {
  const r = wire.opener(n)({ family: 4, interface: 'eth0', mode, sourceAddress: source, logger: silentLogger() });
  assert.ok(r.ok);
  const got: Got[] = [];
  r.value.onPacket((p) => got.push({ ...p, source: formatAddress(p.source), destination: p.destination && formatAddress(p.destination) }));
  return { socket: r.value, got };
}

test('multicast reaches the other multicast sockets of the segment with TTL 255, their ifindex, source and group; unicast the owner only', () => {
  const clock = new VirtualClock();
  const wire = new VirtualWire(clock, { delayMs: 3 });
  const [n1, n2, n3] = [node('n1', 'lan0', '198.18.0.1'), node('n2', 'lan0', '198.18.0.2', 7), node('n3', 'lan1', '198.18.0.3')];
  const s1 = open(wire, n1, 'multicast', '198.18.0.1');
  const s2 = open(wire, n2, 'multicast', '198.18.0.2');
  const u2 = open(wire, n2, 'unicast', '198.18.0.2');
  const s3 = open(wire, n3, 'multicast', '198.18.0.3');
  assert.deepEqual(wire.opener(n1)({ family: 4, interface: 'eth9', mode: 'multicast', logger: silentLogger() }).ok, false, 'no such interface');

  const payload = Buffer.from([0x31, 51, 150, 1, 0, 100, 0, 0]);
  assert.deepEqual(s1.socket.send(payload), { ok: true, value: undefined });
  clock.increment(2);
  assert.equal(s2.got.length, 0, 'not before the delay');
  clock.increment(1);
  assert.deepEqual(
    s2.got.map((p) => [p.payload, p.ttl, p.ifindex, p.source, p.destination]),
    [[payload, 255, 7, '198.18.0.1', '224.0.0.18']],
  );
  assert.equal(s1.got.length + u2.got.length + s3.got.length, 0, 'no loop, no unicast socket, no other segment');

  s1.socket.send(payload, '198.18.0.2');
  s1.socket.send(payload, '198.18.0.99');
  clock.increment(3);
  assert.equal(u2.got.length, 1, 'unicast to its address');
  assert.equal(s2.got.length, 2, "a raw socket also gets unicast VRRP to its host's address");
  assert.equal(u2.got[0]!.destination, '198.18.0.2');
  assert.deepEqual(wire.stats, { sent: 3, delivered: 3, lost: 0, blocked: 0 });

  s1.socket.send(payload);
  s2.socket.close();
  clock.increment(3);
  assert.equal(s2.got.length, 2, 'a socket closed while the packet was in flight gets nothing');
  assert.equal(s2.socket.send(payload).ok, false);

  wire.partition([['n1']]);
  const u1 = open(wire, n1, 'unicast', '198.18.0.1');
  u1.socket.send(payload, '198.18.0.2');
  clock.increment(3);
  assert.equal(u2.got.length, 1, 'partitioned');
  assert.equal(wire.stats.blocked, 1);
  wire.heal();
  u1.socket.send(payload, '198.18.0.2');
  clock.increment(3);
  assert.equal(u2.got.length, 2, 'healed');
});

test('a partition of one segment leaves the others; injected packets reach every socket with the TTL given', () => {
  const clock = new VirtualClock();
  const wire = new VirtualWire(clock);
  const a = open(wire, node('a', 'vlan1', '198.18.1.1'), 'multicast', '198.18.1.1');
  const b = open(wire, node('b', 'vlan1', '198.18.1.2'), 'multicast', '198.18.1.2');
  wire.partition([['a'], ['b']], 'vlan2');
  a.socket.send(Buffer.alloc(8));
  clock.increment(0);
  assert.equal(b.got.length, 1, 'vlan1 is whole');
  wire.partition([['a'], ['b']], 'vlan1');
  a.socket.send(Buffer.alloc(8));
  clock.increment(0);
  assert.equal(b.got.length, 1, 'vlan1 is split');
  wire.inject('vlan1', { source: '198.18.1.9', payload: Buffer.alloc(8), ttl: 64 });
  clock.increment(0);
  assert.deepEqual(
    [a.got.at(-1), b.got.at(-1)].map((p) => [p?.ttl, p?.source]),
    [
      [64, '198.18.1.9'],
      [64, '198.18.1.9'],
    ],
  );
});

test('loss is drawn from the seeded PRNG: same seed, same losses', () => {
  const run = (seed: number) => {
    const clock = new VirtualClock();
    const wire = new VirtualWire(clock, { lossRate: 0.2, random: mulberry32(seed) });
    const a = open(wire, node('a', 'lan0', '198.18.0.1'), 'multicast', '198.18.0.1');
    const b = open(wire, node('b', 'lan0', '198.18.0.2'), 'multicast', '198.18.0.2');
    const got: number[] = [];
    b.socket.onPacket((p) => got.push(p.payload[0]!));
    for (let i = 0; i < 200; i++) a.socket.send(Buffer.from([i]));
    clock.increment(0);
    return { got, stats: { ...wire.stats } };
  };
  const first = run(5);
  assert.deepEqual(run(5), first);
  assert.notDeepEqual(run(6).got, first.got);
  assert.ok(first.stats.lost > 20 && first.stats.lost < 60, `${first.stats.lost} of 200 lost`);
  assert.equal(first.stats.lost + first.stats.delivered, 200);
});

test('closing a TimerScope cancels its pending timers and ignores new ones; other scopes run on', () => {
  const clock = new VirtualClock();
  const a = new TimerScope(clock);
  const b = new TimerScope(clock);
  const fired: string[] = [];
  a.setTimeout(() => fired.push('a1'), 10);
  const cancelled = a.setTimeout(() => fired.push('a2'), 20);
  a.clearTimeout(cancelled);
  b.setTimeout(() => fired.push('b'), 30);
  a.setTimeout(() => fired.push('a3'), 40);
  clock.increment(15);
  a.close();
  a.setTimeout(() => fired.push('a4'), 1);
  clock.increment(100);
  assert.deepEqual(fired, ['a1', 'b']);
  assert.equal(clock.pending, 0);
});
