// Real network: keepalived (Debian 2.2.7) in lab namespace n1 advertises;
// vipflow's raw VRRP socket in n2 receives. Starts: a namespace lab with a
// bridge, keepalived, and the wire addon's sockets.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../core/logger.js';
import { createLab, startKeepalived, sweepStaleLabs, type KeepalivedProcess, type Lab } from '../../lab/index.js';
import { decodeVrrp, formatAddress } from '../../wire/codec/index.js';
import { interfaceInfo, type VrrpSocket } from '../../wire/socket/index.js';
import { keepalivedConfig } from './keepalived-config.js';
import { collect } from './packet-collector.js';
import { socketOpener } from './socket-opener.js';

const logger = silentLogger();
const PREFIX = 'vfskrx';

describe('raw VRRP socket receives keepalived adverts', () => {
  let lab: Lab;
  const daemons: KeepalivedProcess[] = [];
  const sockets: VrrpSocket[] = [];

  const opener = socketOpener(() => lab, sockets);
  const open = (node: string, family: 4 | 6, mode: 'multicast' | 'unicast') => opener(node, family, { mode });

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['n1', 'n2'], subnet: 21, logger });
  });

  after(async () => {
    for (const s of sockets) s.close();
    for (const k of daemons) await k.stop();
    await lab?.destroy();
  });

  test('multicast: VRRPv2 and VRRPv3 over IPv4, VRRPv3 over IPv6, with TTL, ifindex and addresses from the kernel', async () => {
    const n1 = lab.node('n1');
    const n2 = lab.node('n2');
    const rx4 = collect(open('n2', 4, 'multicast'));
    const rx6 = collect(open('n2', 6, 'multicast'));
    const eth0 = interfaceInfo('eth0', n2.ns);
    assert.ok(eth0.ok);

    const k = await startKeepalived(
      lab,
      'n1',
      'multicast',
      keepalivedConfig('n1', [
        { name: 'V2', vrid: 21, version: 2, priority: 200, advertInt: 1, vips: ['198.18.21.100/24'] },
        { name: 'V3', vrid: 22, version: 3, priority: 200, advertInt: 0.2, vips: ['198.18.21.101/24'] },
        { name: 'V6', vrid: 23, version: 3, priority: 200, advertInt: 0.2, vips: ['fd00:198:18:15::100/64'] },
      ]),
    );
    daemons.push(k);

    const [v2, v3, v6] = await Promise.all([
      rx4.waitFor((p) => p.payload[1] === 21, 10_000),
      rx4.waitFor((p) => p.payload[1] === 22, 10_000),
      rx6.waitFor((p) => p.payload[1] === 23, 10_000),
    ]);
    // Version nibble and type (advertisement = 1), straight from keepalived.
    assert.equal(v2.payload[0], 0x21);
    assert.equal(v3.payload[0], 0x31);
    assert.equal(v6.payload[0], 0x31);
    for (const p of [v2, v3]) {
      assert.equal(p.ttl, 255);
      assert.equal(p.ifindex, eth0.value.index);
      assert.equal(formatAddress(p.source), n1.ipv4);
      assert.equal(formatAddress(p.destination!), '224.0.0.18');
    }
    // The kernel's receive stamp (SO_TIMESTAMPNS) reached JavaScript as an age.
    for (const p of [v2, v3, v6]) assert.ok(p.ageUs > 0 && p.ageUs < 10_000_000, `ageUs ${p.ageUs}`);
    // keepalived's IPv4 VRRP message is 8 bytes + 4 per VIP (+ 8 auth bytes in v2).
    assert.equal(v3.payload.length, 12);
    assert.equal(v2.payload.length, 20);
    assert.equal(v6.ttl, 255);
    assert.equal(v6.ifindex, eth0.value.index);
    assert.equal(formatAddress(v6.source), n1.linkLocal);
    assert.match(formatAddress(v6.source), /^fe80:/);
    assert.equal(formatAddress(v6.destination!), 'ff02::12');
    assert.equal(v6.payload.length, 8 + 16);
    // The delivered bytes are exactly keepalived's message: the codec's checksum verifies.
    const ctx = (source: Uint8Array, destination: Uint8Array) => ({ source, destination });
    assert.ok(decodeVrrp(v2.payload, ctx(v2.source, v2.destination!)).ok);
    assert.ok(decodeVrrp(v3.payload, ctx(v3.source, v3.destination!)).ok);
    assert.ok(decodeVrrp(v6.payload, ctx(v6.source, v6.destination!)).ok);
  });

  test('unicast: keepalived unicast adverts arrive with our own address as destination', async () => {
    const n1 = lab.node('n1');
    const n2 = lab.node('n2');
    const rx = collect(open('n2', 4, 'unicast'));
    const k = await startKeepalived(
      lab,
      'n1',
      'unicast',
      keepalivedConfig('n1u', [
        {
          name: 'U3',
          vrid: 31,
          version: 3,
          priority: 200,
          advertInt: 0.2,
          vips: ['198.18.21.110/24'],
          unicastSource: n1.ipv4!,
          unicastPeers: [n2.ipv4!],
        },
      ]),
    );
    daemons.push(k);
    const p = await rx.waitFor((x) => x.payload[1] === 31, 10_000);
    assert.equal(p.payload[0], 0x31);
    assert.equal(p.ttl, 255);
    assert.equal(formatAddress(p.source), n1.ipv4);
    assert.equal(formatAddress(p.destination!), n2.ipv4);
    // A unicast-mode socket has not joined 224.0.0.18, yet the first
    // keepalived (still running) multicasts: nothing multicast may arrive.
    assert.ok(rx.packets.every((x) => x.destination !== null && formatAddress(x.destination) === n2.ipv4));
  });
  test('a socket opened while unicast VRRP datagrams pour in never hands over one without its ingress interface', async () => {
    const n2 = lab.node('n2');
    const eth0 = interfaceInfo('eth0', n2.ns);
    assert.ok(eth0.ok);
    // A bounded flood (4 s at most) of protocol-112 datagrams from n1 to n2's own address.
    const flood = lab.spawn('n1', '/usr/bin/python3', [
      '-c',
      `import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
pkt = bytes([0x31, 41, 100, 1, 0, 20, 0, 0]) + socket.inet_aton('198.18.21.120')
end = time.time() + 4
while time.time() < end:
    for _ in range(200):
        s.sendto(pkt, ('${n2.ipv4}', 0))`,
    ]);
    try {
      await new Promise((r) => setTimeout(r, 300));
      const seen: number[] = [];
      // Before the fix, datagrams queued between socket() and its options came up with ifindex 0.
      for (let i = 0; i < 150; i++) {
        const sock = open('n2', 4, 'unicast');
        sock.onPacket((p) => void seen.push(p.ifindex));
        await new Promise((r) => setImmediate(r));
        sock.close();
        sockets.splice(sockets.indexOf(sock), 1);
      }
      assert.ok(seen.length > 0, 'the flood reached the sockets');
      assert.deepEqual(
        seen.filter((x) => x !== eth0.value.index),
        [],
        `every datagram names eth0 (${seen.length} received)`,
      );
    } finally {
      if (flood.child.exitCode === null) process.kill(flood.pid, 'SIGTERM');
    }
  });
});
