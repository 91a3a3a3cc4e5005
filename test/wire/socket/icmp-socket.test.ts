/**
 * The addon's raw ICMP sockets on loopback: what the kernel filter lets
 * through, and send errors as values. Needs CAP_NET_RAW.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../../core/logger.js';
import { encodeEchoRequest, type IcmpMessage } from '../../../wire/codec/index.js';
import { openIcmpSocket } from '../../../wire/socket/index.js';

for (const [family, address] of [
  [4, '127.0.0.1'],
  [6, '::1'],
] as const) {
  test(`IPv${family}: the echo request looping back through lo is filtered out, its reply comes through decoded`, async () => {
    const opened = openIcmpSocket({ family, logger: silentLogger() });
    assert.ok(opened.ok, opened.ok ? '' : opened.message);
    const sock = opened.value;
    const identifier = 0x5a5a ^ process.pid;
    const mine: IcmpMessage[] = [];
    try {
      // Everything of ours that reaches the socket: replies and anything else carrying our identifier.
      sock.onMessage((m) => {
        if (m.kind === 'echo-reply' && m.identifier === (identifier & 0xffff)) mine.push(m);
        if (m.kind === 'other') mine.push(m);
      });
      assert.deepEqual(sock.send(encodeEchoRequest(family, { identifier, sequence: 1 }, Buffer.from('filter?')), address), { ok: true, value: undefined });
      const t0 = Date.now();
      while (!mine.some((m) => m.kind === 'echo-reply') && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 50)); // let a stray copy of the request arrive, if the filter let it
      assert.deepEqual(
        mine.map((m) => m.kind),
        ['echo-reply'],
      );
      const bad = sock.send(encodeEchoRequest(family, { identifier, sequence: 2 }, Buffer.alloc(0)), family === 4 ? '::1' : '127.0.0.1');
      assert.equal(bad.ok ? '' : bad.code, 'EINVAL', 'an address of the other family is refused, not thrown');
    } finally {
      sock.close();
    }
    const closed = sock.send(encodeEchoRequest(family, { identifier, sequence: 3 }, Buffer.alloc(0)), address);
    assert.equal(closed.ok ? '' : closed.code, 'EBADF');
  });
}
