// The raw socket's batched receive on real sockets. Starts: a namespace lab
// (nodes n1, n2, n3) and the wire addon's sockets. A held socket in n2 lets
// datagrams from n1 and n3 queue, then one drain reads them all: several
// batches (the receive buffer fills), two senders interleaved, sizes from a
// header to 3,000 bytes, and one datagram longer than any VRRP message.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../core/logger.js';
import { addressText } from '../../wire/socket/index.js';
import { createLab, sleep, sweepStaleLabs, type Lab } from '../../lab/index.js';
import { ReceiveModerator, type ReceivedPacket, type VrrpSocket } from '../../wire/socket/index.js';
import { socketOpener } from './socket-opener.js';

const logger = silentLogger();
const PREFIX = 'vfrbat';
const SUBNET = 231;

describe('batched receive', () => {
  let lab: Lab;
  const sockets: VrrpSocket[] = [];
  const open = socketOpener(() => lab, sockets);

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['n1', 'n2', 'n3'], subnet: SUBNET, ipv6: true, logger });
  });

  after(async () => {
    for (const s of sockets) s.close();
    await lab?.destroy();
  });

  for (const family of [4, 6] as const) {
    test(`IPv${family}: every datagram of a queue read across batches keeps its own bytes, sender, TTL and interface`, async () => {
      // A moderator whose grid timer never fires: the socket stays held until the drain.
      const moderator = new ReceiveModerator({ now: () => performance.now(), setTimeout: () => 0, clearTimeout: () => undefined, refresh: () => undefined });
      const rx = open('n2', family, { moderator });
      const got: { seq: number; length: number; intact: boolean; from: string; ttl: number; ifindex: number }[] = [];
      rx.onPacket((p: ReceivedPacket) =>
        got.push({
          seq: p.payload[0]!,
          length: p.payload.length,
          intact: p.payload.every((b) => b === p.payload[0]),
          from: addressText(p.source),
          ttl: p.ttl,
          ifindex: p.ifindex,
        }),
      );
      rx.setModeration!(50);
      const addressOf = (node: string) => (family === 4 ? lab.node(node).ipv4! : lab.node(node).ipv6!);
      const tx1 = open('n1', family, { sourceAddress: addressOf('n1') });
      const tx3 = open('n3', family, { sourceAddress: addressOf('n3') });
      // Two close together begin the hold; the rest queue in the kernel.
      const size = (seq: number) => (seq % 5 === 0 ? 3000 : 8 + (seq % 7) * 40);
      const expected: { seq: number; length: number; from: string }[] = [];
      const senderOf = (seq: number) => (seq % 2 === 0 ? 'n1' : 'n3');
      for (let seq = 1; seq <= 60; seq++) {
        const tx = senderOf(seq) === 'n1' ? tx1 : tx3;
        assert.ok(tx.send(Buffer.alloc(size(seq), seq)).ok, `send ${seq}`);
        expected.push({ seq, length: size(seq), from: addressOf(senderOf(seq)) });
        if (seq === 30) {
          // Longer than any VRRP message: cut at the addon's room for one and refused (IPv4: by its header's length).
          assert.ok(tx1.send(Buffer.alloc(6000, 200)).ok);
        }
        if (seq <= 2) await sleep(2);
      }
      await sleep(200);
      assert.ok(moderator.stats.held >= 1, 'the socket was held');
      const before = got.length;
      const malformedBefore = rx.stats.malformed;
      const drained = rx.drain!();
      assert.ok(drained >= 50, `one drain read ${drained}`);
      const all = got.slice(0);
      // About 33 KB in all: the oversize one must not shift or corrupt the rest.
      const normal = all.filter((g) => g.seq !== 200);
      assert.deepEqual(
        normal.map((g) => ({ seq: g.seq, length: g.length, from: g.from })),
        expected.slice(0, normal.length),
        `read in order with their own lengths and senders (${before} before the drain)`,
      );
      assert.equal(normal.length, 60, 'none lost');
      assert.ok(
        normal.every((g) => g.intact && g.ttl === 255 && g.ifindex === rx.ifindex),
        'bytes, TTL and interface of each are its own',
      );
      const oversize = all.filter((g) => g.seq === 200);
      if (family === 4) assert.equal(rx.stats.malformed - malformedBefore, 1, 'the cut IPv4 datagram is refused by its header length');
      else {
        // IPv6 has no header to check here: it arrives cut, and the codec refuses it by its address count.
        assert.equal(oversize.length, 1);
        assert.ok(oversize[0]!.length === 4352 && oversize[0]!.intact, `cut to ${oversize[0]!.length} bytes`);
      }
      rx.setModeration!(0);
    });
  }

  test('a batch larger than the receive buffer is handed in parts, in order', async () => {
    const moderator = new ReceiveModerator({ now: () => performance.now(), setTimeout: () => 0, clearTimeout: () => undefined, refresh: () => undefined });
    const rx = open('n2', 4, { moderator });
    const got: number[] = [];
    rx.onPacket((p: ReceivedPacket) => got.push(p.payload.length === 4000 && p.payload.every((b) => b === p.payload[0]) ? p.payload[0]! : -1));
    const tx = open('n1', 4);
    rx.setModeration!(50);
    // 40 of 4,000 bytes: 160 KB, more than twice the 64 KiB buffer (about 14 to a batch).
    for (let seq = 1; seq <= 40; seq++) {
      assert.ok(tx.send(Buffer.alloc(4000, seq)).ok);
      if (seq <= 2) await sleep(2);
    }
    await sleep(200);
    rx.drain!();
    assert.deepEqual(
      got,
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
    rx.setModeration!(0);
  });
});
