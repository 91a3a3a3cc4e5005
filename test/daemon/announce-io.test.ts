// The host side of gratuitous ARP / NA: an interface's MAC and link-local
// are read once and kept until forget() (the daemon calls it on every link
// or address notification), with fake readers standing in for the host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { affectsAnnouncements, hostAnnounceIo, type InterfaceReaders } from '../../daemon/announce-io.js';

function fakeHost() {
  const host = {
    mac: new Uint8Array([2, 0, 0, 0, 0, 1]) as Uint8Array | null,
    index: 7,
    addresses: [] as { family: 4 | 6; address: string }[],
    reads: 0,
    sends: [] as { ifindexes: number[]; frames: Buffer[]; rounds: number }[],
    /** What the next send answers: all sent, or a failure at a frame. */
    failAt: null as number | null,
  };
  const read: InterfaceReaders = {
    link: (dev) => {
      host.reads++;
      if (dev === 'gone0') return null;
      return host.mac === null ? null : { index: dev === 'eth1' ? 8 : host.index, mac: host.mac };
    },
    addresses: () => host.addresses,
    send: (ifindexes, frames, rounds) => {
      host.sends.push({ ifindexes: [...ifindexes], frames, rounds });
      if (host.failAt === null) return { sent: frames.length * rounds, failed: 0 };
      return { sent: frames.length * rounds - rounds, failed: rounds, code: 'ENETDOWN', at: host.failAt };
    },
  };
  return { host, io: hostAnnounceIo(read) };
}

test('a MAC is read once, and again after forget: a changed MAC and a link-local that came later are seen', () => {
  const { host, io } = fakeHost();
  assert.deepEqual([...io.interfaceOf('eth0')!.mac], [2, 0, 0, 0, 0, 1]);
  assert.equal(io.interfaceOf('eth0')!.linkLocal, null);
  host.mac = new Uint8Array([2, 0, 0, 0, 0, 2]);
  host.addresses = [{ family: 6, address: 'fe80::2' }];
  assert.deepEqual([...io.interfaceOf('eth0')!.mac], [2, 0, 0, 0, 0, 1], 'kept until the host changes');
  assert.equal(host.reads, 1);
  io.forget();
  const again = io.interfaceOf('eth0')!;
  assert.deepEqual([...again.mac], [2, 0, 0, 0, 0, 2]);
  assert.equal(again.linkLocal?.length, 16);
  assert.equal(host.reads, 2);
});

test('an interface that cannot be read is not cached as missing', () => {
  const { host, io } = fakeHost();
  host.mac = null;
  assert.equal(io.interfaceOf('eth9'), null);
  host.mac = new Uint8Array([2, 0, 0, 0, 0, 9]);
  assert.deepEqual([...io.interfaceOf('eth9')!.mac], [2, 0, 0, 0, 0, 9]);
});

test('a burst is one send with the interface index of each frame, read once and kept', () => {
  const { host, io } = fakeHost();
  const a = Buffer.from('a');
  const b = Buffer.from('b');
  io.interfaceOf('eth0');
  io.interfaceOf('eth1');
  assert.deepEqual(
    io.sendBurst(
      [
        { dev: 'eth0', frame: a },
        { dev: 'eth1', frame: b },
      ],
      5,
    ),
    { sent: 10, failed: 0 },
  );
  assert.deepEqual(host.sends, [{ ifindexes: [7, 8], frames: [a, b], rounds: 5 }]);
  assert.equal(host.reads, 2, 'the burst read no interface again');
  // A re-created interface (new index) is read again after the daemon's forget.
  host.index = 9;
  io.forget();
  io.sendBurst([{ dev: 'eth0', frame: a }], 1);
  assert.deepEqual(host.sends[1]!.ifindexes, [9]);
});

test('a failed frame is named by its interface; a gone interface fails its frames and the rest still go', () => {
  const { host, io } = fakeHost();
  const a = Buffer.from('a');
  const b = Buffer.from('b');
  host.failAt = 1;
  assert.deepEqual(
    io.sendBurst(
      [
        { dev: 'eth0', frame: a },
        { dev: 'eth1', frame: b },
      ],
      2,
    ),
    { sent: 2, failed: 2, code: 'ENETDOWN', dev: 'eth1' },
  );
  host.failAt = null;
  assert.deepEqual(
    io.sendBurst(
      [
        { dev: 'gone0', frame: a },
        { dev: 'eth0', frame: b },
      ],
      3,
    ),
    { sent: 3, failed: 3, code: 'ENODEV', dev: 'gone0' },
  );
  assert.deepEqual(host.sends.at(-1), { ifindexes: [7], frames: [b], rounds: 3 });
});

test('only a link or an IPv6 link-local address notification makes the daemon read interfaces again', () => {
  const addr = (family: 4 | 6, address: string, scope: number) => ({
    kind: 'addr' as const,
    op: 'new' as const,
    family,
    ifindex: 2,
    address,
    prefix: 64,
    flags: 0,
    scope,
  });
  assert.equal(affectsAnnouncements({ kind: 'link', op: 'new', ifindex: 2, name: 'eth0', flags: 0, operstate: 'up' }), true);
  assert.equal(affectsAnnouncements(addr(6, 'fe80::1', 253)), true);
  // A new Master's own VIP (its notification comes with every takeover) and other global addresses.
  assert.equal(affectsAnnouncements(addr(4, '198.18.0.100', 0)), false);
  assert.equal(affectsAnnouncements(addr(6, 'fd00:198:18::100', 0)), false);
});
