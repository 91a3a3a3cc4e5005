/**
 * DNS_CHECK: the query bytes and keepalived's reading of a reply as pure
 * functions; the probe against in-process servers that answer with the wrong
 * id, a truncated datagram, a query, an error rcode or nothing; and against a
 * real BIND 9 (`named`, authoritative for one zone, recursion off) on
 * 127.0.0.1, started and stopped by lab/bind.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dnsProbe, dnsType, encodeQuery, readReply } from '../../../../infra/check/probes/dns.js';
import type { ProbeResult } from '../../../../infra/check/probes/types.js';
import { freePort, startBind, type BindServer } from '../../../../lab/bind.js';
import { closedUdpPort, dgramServer } from './datagrams.js';

function failed(r: ProbeResult, reason: string): string {
  assert.equal(r.ok, false, `expected a failure, got ${JSON.stringify(r)}`);
  if (r.ok) return '';
  assert.equal(r.reason, reason, r.detail);
  return r.detail;
}

/** A reply header (12 bytes) echoing the query's question. */
function answer(query: Buffer, o: { id?: number; flags?: number; ancount?: number }): Buffer {
  const b = Buffer.from(query);
  b.writeUInt16BE(o.id ?? query.readUInt16BE(0), 0);
  b.writeUInt16BE(o.flags ?? 0x8180, 2);
  b.writeUInt16BE(o.ancount ?? 0, 6);
  return b;
}

test('encodeQuery: the root as one zero byte, labels with lengths, a trailing dot, RD set, class IN', () => {
  const root = encodeQuery(0x1234, '.', 6) as Buffer;
  assert.equal(root.toString('hex'), '1234' + '0100' + '0001' + '0000' + '0000' + '0000' + '00' + '0006' + '0001');
  assert.deepEqual(encodeQuery(1, '', 6), encodeQuery(1, '.', 6), '"" is the root too');
  const name = encodeQuery(7, 'www.example.com', 1) as Buffer;
  assert.equal(name.subarray(12).toString('hex'), '03777777076578616d706c6503636f6d00' + '0001' + '0001');
  assert.deepEqual(encodeQuery(7, 'www.example.com.', 1), name);
  assert.match(encodeQuery(1, 'a..b', 1) as string, /empty label/);
  assert.match(encodeQuery(1, '.a', 1) as string, /empty label/);
  assert.match(encodeQuery(1, `${'x'.repeat(64)}.test`, 1) as string, /longer than 63/);
  assert.match(encodeQuery(1, Array(50).fill('abcdef').join('.'), 1) as string, /longer than 255/);
});

test("dnsType knows keepalived's list, case-insensitively, and nothing else", () => {
  assert.deepEqual(
    ['A', 'NS', 'CNAME', 'SOA', 'MX', 'TXT', 'AAAA', 'RRSIG', 'DNSKEY'].map((t) => dnsType(t.toLowerCase())),
    [1, 2, 5, 6, 15, 16, 28, 46, 48],
  );
  assert.equal(dnsType('PTR'), undefined);
});

test('readReply: short, foreign-id and QR-clear datagrams are skipped; an error rcode is an error; NOERROR is ok whatever the answers', () => {
  const q = encodeQuery(0xbeef, '.', 6) as Buffer;
  assert.equal(readReply(q.subarray(0, 11), 0xbeef).kind, 'skip');
  assert.match((readReply(answer(q, { id: 0xbeee }), 0xbeef) as { why: string }).why, /0xbeee is not the query's 0xbeef/);
  assert.equal(readReply(answer(q, { flags: 0x0100 }), 0xbeef).kind, 'skip');
  assert.deepEqual(readReply(answer(q, { flags: 0x8183 }), 0xbeef), { kind: 'error', rcode: 3, text: 'NXDOMAIN' });
  assert.deepEqual(readReply(answer(q, { flags: 0x8185 }), 0xbeef), { kind: 'error', rcode: 5, text: 'REFUSED' });
  assert.deepEqual(readReply(answer(q, { flags: 0x8580, ancount: 2 }), 0xbeef), { kind: 'ok', answers: 2, authoritative: true, truncated: false });
  assert.deepEqual(readReply(answer(q, {}), 0xbeef), { kind: 'ok', answers: 0, authoritative: false, truncated: false });
});

describe('dnsProbe against in-process servers', () => {
  test('a wrong id and a truncated datagram are skipped, then the right reply is up', async () => {
    const srv = await dgramServer((q) => [answer(q, { id: q.readUInt16BE(0) ^ 1 }), q.subarray(0, 5), answer(q, { ancount: 1 })]);
    try {
      const r = await dnsProbe({ address: '127.0.0.1', port: srv.port }, { connectTimeoutMs: 1000 });
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.match(r.ok ? (r.detail ?? '') : '', /\. SOA: NOERROR, 1 answer /);
      const q = srv.received[0]!;
      assert.equal(q.readUInt16BE(2), 0x0100, 'RD');
      assert.equal(q.subarray(12).toString('hex'), '0000060001', 'root SOA IN by default');
    } finally {
      await srv.close();
    }
  });

  test('only wrong ids: down at connect_timeout, the detail says what was skipped', async () => {
    const srv = await dgramServer((q) => [answer(q, { id: (q.readUInt16BE(0) + 1) & 0xffff }), answer(q, { flags: 0x0100 })]);
    try {
      const t0 = Date.now();
      const d = failed(await dnsProbe({ address: '127.0.0.1', port: srv.port }, { id: 0x4242, connectTimeoutMs: 300 }), 'timeout');
      assert.ok(Date.now() - t0 >= 280);
      assert.match(d, /no reply within 300 ms; skipped: reply id 0x4243 is not the query's 0x4242; a query \(QR bit clear\), not a reply/);
    } finally {
      await srv.close();
    }
  });

  test('SERVFAIL is down with the rcode named; the query carries the configured name and type', async () => {
    const srv = await dgramServer((q) => answer(q, { flags: 0x8182 }));
    try {
      const d = failed(await dnsProbe({ address: '127.0.0.1', port: srv.port }, { name: 'svc.example', queryType: 'aaaa', connectTimeoutMs: 1000 }), 'dns');
      assert.match(d, /svc\.example AAAA: SERVFAIL \(rcode 2\)/);
      assert.equal(srv.received[0]!.subarray(12).toString('hex'), '03737663076578616d706c6500001c0001');
    } finally {
      await srv.close();
    }
  });

  test('an unknown type falls back to SOA as keepalived does; a bad name is a config failure and sends nothing', async () => {
    const srv = await dgramServer((q) => answer(q, {}));
    try {
      const r = await dnsProbe({ address: '127.0.0.1', port: srv.port }, { queryType: 'PTR', connectTimeoutMs: 1000 });
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.equal(srv.received[0]!.readUInt16BE(srv.received[0]!.length - 4), 6);
      failed(await dnsProbe({ address: '127.0.0.1', port: srv.port }, { name: 'a..b' }), 'config');
      assert.equal(srv.received.length, 1);
    } finally {
      await srv.close();
    }
  });

  test('no server: ICMP port unreachable is down at once (refused)', async () => {
    const port = await closedUdpPort();
    failed(await dnsProbe({ address: '127.0.0.1', port }, { connectTimeoutMs: 3000 }), 'refused');
  });
});

describe('dnsProbe against BIND 9', () => {
  let bind: BindServer;
  before(async () => {
    bind = await startBind({ address: '127.0.0.1', port: await freePort('127.0.0.1'), zone: 'probe.test', keyName: 'probe-key' });
  });
  after(async () => {
    await bind?.stop();
  });
  const target = () => ({ address: bind.address, port: bind.port });

  test('the zone SOA is up with its answer; NODATA (AAAA of an A-only name) is up too, as keepalived counts it', async () => {
    const soa = await dnsProbe(target(), { name: 'probe.test', connectTimeoutMs: 2000 });
    assert.equal(soa.ok, true, JSON.stringify(soa));
    assert.match(soa.ok ? (soa.detail ?? '') : '', /probe\.test SOA: NOERROR, 1 answer /);
    const nodata = await dnsProbe(target(), { name: 'ns.probe.test', queryType: 'AAAA', connectTimeoutMs: 2000 });
    assert.equal(nodata.ok, true, JSON.stringify(nodata));
    assert.match(nodata.ok ? (nodata.detail ?? '') : '', /NOERROR, 0 answers/);
    const a = await dnsProbe(target(), { name: 'ns.probe.test.', queryType: 'A', connectTimeoutMs: 2000 });
    assert.equal(a.ok, true, JSON.stringify(a));
  });

  test("NXDOMAIN in the zone and the root's SOA (keepalived's default, refused with recursion off) are down", async () => {
    assert.match(failed(await dnsProbe(target(), { name: 'nope.probe.test', queryType: 'A', connectTimeoutMs: 2000 }), 'dns'), /NXDOMAIN \(rcode 3\)/);
    assert.match(failed(await dnsProbe(target(), { connectTimeoutMs: 2000 }), 'dns'), /\. SOA: REFUSED \(rcode 5\)/);
  });
});

test('dnsProbe over IPv6 loopback, the query sent to connect_ip:connect_port instead of the real server', async () => {
  const srv = await dgramServer((q) => answer(q, { ancount: 2 }), '::1');
  try {
    const r = await dnsProbe(
      { address: '192.0.2.53', port: 53 },
      { connectIp: '::1', connectPort: srv.port, name: 'v6.test', queryType: 'AAAA', connectTimeoutMs: 1000 },
    );
    assert.match(r.ok ? (r.detail ?? '') : JSON.stringify(r), /dns \[::1\]:\d+: v6\.test AAAA: NOERROR, 2 answers/);
  } finally {
    await srv.close();
  }
});
