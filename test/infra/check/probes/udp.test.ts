/**
 * UDP_CHECK: keepalived's hex strings and reply matching as pure functions; then
 * the probe against socat echoing datagrams on 127.0.0.1 (started and stopped
 * by PID), against in-process servers that stay silent or answer wrongly, and
 * against ports nobody listens on, where Linux answers with ICMP port
 * unreachable (IPv4 and IPv6 loopback).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_UDP_PAYLOAD, parseHex, replyMismatch, udpProbe } from '../../../../infra/check/probes/udp.js';
import type { ProbeResult } from '../../../../infra/check/probes/types.js';
import { closedUdpPort, dgramServer, socatUdpEcho, type Socat } from './datagrams.js';

const T = { address: '127.0.0.1', port: 0 };

function failed(r: ProbeResult, reason: string): string {
  assert.equal(r.ok, false, `expected a failure, got ${JSON.stringify(r)}`);
  if (r.ok) return '';
  assert.equal(r.reason, reason, r.detail);
  return r.detail;
}

test('parseHex reads hex as keepalived does: its man page example, single nibbles, wildcards only where allowed', () => {
  const p = parseHex('Ab12f 3 456 546443123', false);
  assert.deepEqual([...p!.bytes], [0xab, 0x12, 0x0f, 0x03, 0x45, 0x06, 0x54, 0x64, 0x43, 0x12, 0x03]);
  assert.equal(p!.mask, undefined);
  const w = parseHex('0x1X xx', true);
  assert.deepEqual([...w!.bytes], [0x00, 0x10, 0x00]);
  assert.deepEqual([...w!.mask!], [0x0f, 0x0f, 0xff]);
  assert.equal(parseHex('0x', false), null, 'x is not hex in a payload');
  assert.equal(parseHex('zz', true), null);
  assert.equal(parseHex('   ', false), null, 'empty');
  assert.deepEqual([...parseHex('\t01\t02', false)!.bytes], [1, 2]);
});

test('replyMismatch: lengths, bytes over the shorter length, masked nibbles ignored', () => {
  const want = parseHex('de ad bX', true)!;
  assert.equal(replyMismatch(Buffer.from([0xde, 0xad, 0xbe, 0xef]), want, 0, 255), null);
  assert.equal(replyMismatch(Buffer.from([0xde]), want, 0, 255), null, 'a shorter reply is compared over its own length');
  assert.match(replyMismatch(Buffer.from([0xde, 0xad, 0xce]), want, 0, 255)!, /byte 2 is ce, expected b0 \(mask 0f\)/);
  assert.match(replyMismatch(Buffer.from([0xde, 0xad]), want, 3, 255)!, /2 bytes, outside 3\.\.255/);
  assert.match(replyMismatch(Buffer.alloc(5), parseHex('00', false)!, 0, 4)!, /5 bytes, outside 0\.\.4/);
});

test("the default payload is keepalived's 32-byte filler", () => {
  assert.equal(Buffer.from(DEFAULT_UDP_PAYLOAD).toString('latin1'), 'keepalived check - keepalived ch');
});

let socat: Socat;
before(async () => {
  socat = await socatUdpEcho();
});

/** A probe of the socat echo, sent once the previous one's child is gone. */
async function echoProbe(opts: Parameters<typeof udpProbe>[1]): Promise<ProbeResult> {
  await socat.idle();
  return udpProbe(T, { connectPort: socat.port, connectTimeoutMs: 2000, ...opts });
}
after(async () => {
  await socat?.stop();
});

test('socat echo: require_reply matching the payload is up; a different expectation is down with the byte named', async () => {
  const up = await echoProbe({ payload: 'ca fe 01', requireReply: 'ca fe' });
  assert.equal(up.ok, true, JSON.stringify(up));
  assert.match(up.ok ? (up.detail ?? '') : '', /reply of 3 bytes/);
  const masked = await echoProbe({ payload: 'ca fe 01', requireReply: 'cX fe 0x' });
  assert.equal(masked.ok, true, JSON.stringify(masked));
  const d = failed(await echoProbe({ payload: 'ca fe 01', requireReply: 'ca fe 02' }), 'reply');
  assert.match(d, /byte 2 is 01, expected 02/);
});

test('socat echo: the default payload comes back, too long for max_reply_length when a reply string is required', async () => {
  const up = await echoProbe({ requireReply: true });
  assert.equal(up.ok, true, JSON.stringify(up));
  const d = failed(await echoProbe({ requireReply: '6b 65', maxReplyLength: 16 }), 'reply');
  assert.match(d, /outside 0\.\.16/);
  // keepalived checks the lengths only with a require_reply string: require_reply alone stays up.
  const loose = await echoProbe({ requireReply: true, maxReplyLength: 16 });
  assert.equal(loose.ok, true, JSON.stringify(loose));
});

test('a port nobody listens on: ICMP port unreachable makes the check down (refused), with and without require_reply', async () => {
  const port = await closedUdpPort();
  const started = Date.now();
  const d = failed(await udpProbe(T, { connectPort: port, connectTimeoutMs: 3000 }), 'refused');
  assert.match(d, /ICMP port unreachable/);
  assert.ok(Date.now() - started < 2000, 'the ICMP error settles the check long before connect_timeout');
  failed(await udpProbe(T, { connectPort: port, requireReply: true, connectTimeoutMs: 3000 }), 'refused');
});

test('IPv6 loopback: port unreachable is down too', async () => {
  const port = await closedUdpPort('::1');
  failed(await udpProbe({ address: '::1', port }, { connectTimeoutMs: 3000 }), 'refused');
});

test('a silent server: up without require_reply (no ICMP error), down with it after connect_timeout', async () => {
  const silent = await dgramServer(() => undefined);
  try {
    const t0 = Date.now();
    const up = await udpProbe({ address: '127.0.0.1', port: silent.port }, { connectTimeoutMs: 300 });
    assert.equal(up.ok, true, JSON.stringify(up));
    assert.match(up.ok ? (up.detail ?? '') : '', /no reply and no ICMP error within 300 ms/);
    assert.ok(Date.now() - t0 >= 280);
    assert.equal(Buffer.from(silent.received[0]!).toString('latin1'), 'keepalived check - keepalived ch', 'the filler was sent');
    const d = failed(await udpProbe({ address: '127.0.0.1', port: silent.port }, { requireReply: true, connectTimeoutMs: 300 }), 'timeout');
    assert.match(d, /no reply within 300 ms \(require_reply\)/);
  } finally {
    await silent.close();
  }
});

test('a reply of the wrong length (too short for min_reply_length) is down; the payload arrives as configured', async () => {
  const short = await dgramServer(() => Buffer.from([0x01]));
  try {
    const d = failed(
      await udpProbe({ address: '127.0.0.1', port: short.port }, { payload: '00 11 22', requireReply: '01', minReplyLength: 4, connectTimeoutMs: 1000 }),
      'reply',
    );
    assert.match(d, /reply of 1 bytes, outside 4\.\.255/);
    assert.deepEqual([...short.received[0]!], [0x00, 0x11, 0x22]);
  } finally {
    await short.close();
  }
});

test('abort ends the wait at once; an already aborted signal sends nothing', async () => {
  const silent = await dgramServer(() => undefined);
  try {
    const ac = new AbortController();
    const t0 = Date.now();
    const p = udpProbe({ address: '127.0.0.1', port: silent.port }, { requireReply: true, connectTimeoutMs: 5000 }, { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    failed(await p, 'aborted');
    assert.ok(Date.now() - t0 < 1000);
    const before = silent.received.length;
    failed(await udpProbe({ address: '127.0.0.1', port: silent.port }, {}, { signal: AbortSignal.abort() }), 'aborted');
    assert.equal(silent.received.length, before);
  } finally {
    await silent.close();
  }
});

test('bindto / bind_port: the datagram leaves from the configured source', async () => {
  const seen: string[] = [];
  const srv = await dgramServer((_m, from) => {
    seen.push(`${from.address}:${from.port}`);
    return Buffer.from([0]);
  });
  try {
    const bindPort = await closedUdpPort();
    const r = await udpProbe({ address: '127.0.0.1', port: srv.port }, { bindto: '127.0.0.1', bindPort, requireReply: true, connectTimeoutMs: 1000 });
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.deepEqual(seen, [`127.0.0.1:${bindPort}`]);
  } finally {
    await srv.close();
  }
});
