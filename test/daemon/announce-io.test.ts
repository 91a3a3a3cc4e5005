// The host side of gratuitous ARP / NA: an interface's MAC and link-local
// are read once and kept until forget() (the daemon calls it on every link
// or address notification), with fake readers standing in for the host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostAnnounceIo, type InterfaceReaders } from '../../daemon/announce-io.js';

function fakeHost() {
  const host = {
    mac: new Uint8Array([2, 0, 0, 0, 0, 1]) as Uint8Array | null,
    addresses: [] as { family: 4 | 6; address: string }[],
    reads: 0,
  };
  const read: InterfaceReaders = {
    mac: () => {
      host.reads++;
      return host.mac;
    },
    addresses: () => host.addresses,
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
