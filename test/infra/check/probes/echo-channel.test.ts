/**
 * EchoPool's demultiplexing on a fake ICMP socket: which replies and errors
 * count for which request, one socket per key, idle close, send failures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../../../core/logger.js';
import { EchoPool, type EchoOutcome } from '../../../../infra/check/probes/echo-channel.js';
import { pingProbe } from '../../../../infra/check/probes/ping.js';
import { parseAddress, type IcmpMessage } from '../../../../wire/codec/index.js';
import type { IcmpHandler, IcmpSocket, IcmpSocketOptions } from '../../../../wire/socket/index.js';
import type { SysResult } from '../../../../wire/socket/result.js';

interface Sent {
  identifier: number;
  sequence: number;
  payload: Buffer;
  destination: string;
}

function fakeSockets() {
  const opened: { options: IcmpSocketOptions; sent: Sent[]; deliver: IcmpHandler; fail: (code: string) => void; closed: boolean; refd: boolean }[] = [];
  let sendFailure: string | undefined;
  const open = (options: IcmpSocketOptions): SysResult<IcmpSocket> => {
    if (options.bindIf === 'nosuch0') return { ok: false, code: 'ENODEV', message: 'setsockopt SO_BINDTODEVICE ENODEV' };
    let handler: IcmpHandler = () => undefined;
    let onError: (code: string) => void = () => undefined;
    const entry = {
      options,
      sent: [] as Sent[],
      deliver: (m: IcmpMessage, s: Uint8Array) => handler(m, s),
      fail: (code: string) => onError(code),
      closed: false,
      refd: true,
    };
    opened.push(entry);
    return {
      ok: true,
      value: {
        family: options.family,
        onMessage: (h) => (handler = h),
        onError: (h) => (onError = h),
        send(message, destination) {
          if (sendFailure !== undefined) return { ok: false, code: sendFailure, message: `sendto ${destination}: ${sendFailure}` };
          entry.sent.push({ identifier: message.readUInt16BE(4), sequence: message.readUInt16BE(6), payload: message.subarray(8), destination });
          return { ok: true, value: undefined };
        },
        ref: (on) => (entry.refd = on),
        close: () => (entry.closed = true),
      },
    };
  };
  return { opened, open, failSends: (code: string | undefined) => (sendFailure = code) };
}

const reply = (s: Sent, patch: Partial<{ identifier: number; sequence: number; payload: Uint8Array }> = {}): IcmpMessage => ({
  kind: 'echo-reply',
  identifier: s.identifier,
  sequence: s.sequence,
  payload: s.payload,
  ...patch,
});

const V4 = { family: 4 as const };
const settledWithin = async (p: Promise<EchoOutcome>, ms: number): Promise<EchoOutcome | 'pending'> =>
  Promise.race([p, new Promise<'pending'>((r) => setTimeout(() => r('pending'), ms))]);

test('only a reply with our identifier, sequence, token+nonce and the pinged source counts', async () => {
  const f = fakeSockets();
  const pool = new EchoPool({ logger: silentLogger(), open: f.open });
  try {
    const p = pool.echo(V4, '198.18.0.9', 2000);
    const sock = f.opened[0]!;
    const s = sock.sent[0]!;
    assert.equal(s.destination, '198.18.0.9');
    const from = parseAddress('198.18.0.9')!;
    const otherPayload = Buffer.from(s.payload);
    otherPayload.writeUInt32BE((otherPayload.readUInt32BE(4) + 1) >>> 0, 4);
    sock.deliver(reply(s, { identifier: (s.identifier + 1) & 0xffff }), from); // another pinger
    sock.deliver(reply(s, { sequence: (s.sequence + 1) & 0xffff }), from); // another request
    sock.deliver(reply(s, { payload: otherPayload }), from); // a late reply to an older request with this sequence
    sock.deliver(reply(s, { payload: s.payload.subarray(0, 4) }), from); // truncated
    sock.deliver(reply(s), parseAddress('198.18.0.8')!); // someone else answering
    sock.deliver({ kind: 'other', type: 8 }, from);
    assert.equal(await settledWithin(p, 20), 'pending');
    sock.deliver(reply(s), from);
    const o = await p;
    assert.equal(o.kind, 'reply');
  } finally {
    pool.close();
  }
});

test('concurrent requests on one socket get distinct sequences and each its own answer; an ICMP error settles only its request', async () => {
  const f = fakeSockets();
  const pool = new EchoPool({ logger: silentLogger(), open: f.open });
  try {
    const a = pool.echo(V4, '198.18.0.9', 2000);
    const b = pool.echo(V4, '198.18.0.10', 2000);
    const c = pool.echo(V4, '198.18.0.9', 2000);
    assert.equal(f.opened.length, 1, 'one socket for every request of a family');
    assert.equal(f.opened[0]!.refd, false, 'an idle socket must not hold the process');
    const [sa, sb, sc] = f.opened[0]!.sent;
    assert.equal(new Set([sa!.sequence, sb!.sequence, sc!.sequence]).size, 3);
    assert.equal(new Set([sa!.identifier, sb!.identifier, sc!.identifier]).size, 1);
    const err = (s: Sent, quoted: string): IcmpMessage => ({
      kind: 'error',
      type: 3,
      code: 1,
      identifier: s.identifier,
      sequence: s.sequence,
      quotedDestination: parseAddress(quoted)!,
    });
    f.opened[0]!.deliver(err(sb!, '198.18.0.11'), parseAddress('198.18.0.1')!); // quotes another destination: not ours
    f.opened[0]!.deliver(err(sb!, '198.18.0.10'), parseAddress('198.18.0.1')!);
    assert.deepEqual(await b, { kind: 'icmp-error', text: 'host unreachable', from: '198.18.0.1' });
    f.opened[0]!.deliver(reply(sc!), parseAddress('198.18.0.9')!);
    assert.equal((await c).kind, 'reply');
    assert.equal(await settledWithin(a, 20), 'pending', "c's reply is not a's");
    f.opened[0]!.deliver(reply(sa!), parseAddress('198.18.0.9')!);
    assert.equal((await a).kind, 'reply');
  } finally {
    pool.close();
  }
});

test('timeout, abort, close and send failures settle a request; a settled request ignores its late reply', async () => {
  const f = fakeSockets();
  const pool = new EchoPool({ logger: silentLogger(), open: f.open });
  try {
    const t0 = performance.now();
    assert.deepEqual(await pool.echo(V4, '198.18.0.9', 60), { kind: 'timeout' });
    assert.ok(performance.now() - t0 >= 55);
    const late = f.opened[0]!.sent[0]!;
    f.opened[0]!.deliver(reply(late), parseAddress('198.18.0.9')!); // nothing to settle: must not throw
    const ac = new AbortController();
    const p = pool.echo(V4, '198.18.0.9', 5000, ac.signal);
    ac.abort();
    assert.deepEqual(await p, { kind: 'aborted' });
    assert.deepEqual(await pool.echo(V4, '198.18.0.9', 5000, ac.signal), { kind: 'aborted' }, 'already aborted: nothing sent');
    assert.equal(f.opened[0]!.sent.length, 2);
    f.failSends('ENETUNREACH');
    const r = await pool.echo(V4, '198.18.0.9', 5000);
    assert.equal(r.kind === 'send-failed' && r.code, 'ENETUNREACH');
    f.failSends(undefined);
    const pending = pool.echo(V4, '198.18.0.9', 5000);
    pool.close();
    assert.deepEqual(await pending, { kind: 'aborted' });
    assert.equal(f.opened[0]!.closed, true);
    assert.equal(pool.sockets, 0);
  } finally {
    pool.close();
  }
});

test('one socket per family, netns, bindto and bind_if; a socket that cannot open is a failure, not a cached one', async () => {
  const f = fakeSockets();
  const pool = new EchoPool({ logger: silentLogger(), open: f.open });
  try {
    void pool.echo(V4, '198.18.0.9', 1000);
    void pool.echo({ family: 6 }, 'fd00:198:18::9', 1000);
    void pool.echo({ family: 4, bindto: '198.18.0.1' }, '198.18.0.9', 1000);
    void pool.echo({ family: 4, netns: 'x' }, '198.18.0.9', 1000);
    void pool.echo({ family: 4, bindIf: 'eth0' }, '198.18.0.9', 1000);
    void pool.echo(V4, '198.18.0.10', 1000);
    assert.equal(pool.sockets, 5);
    const r = await pool.echo({ family: 4, bindIf: 'nosuch0' }, '198.18.0.9', 1000);
    assert.equal(r.kind === 'socket-failed' && r.code, 'ENODEV');
    assert.equal(pool.sockets, 5);
    const mismatch = await pool.echo(V4, 'fd00:198:18::9', 1000);
    assert.equal(mismatch.kind === 'send-failed' && mismatch.code, 'EINVAL');
  } finally {
    pool.close();
  }
});

test('a receive error fails what is in flight and drops the socket; the next request opens a new one', async () => {
  const f = fakeSockets();
  const pool = new EchoPool({ logger: silentLogger(), open: f.open });
  try {
    const p = pool.echo(V4, '198.18.0.9', 5000);
    f.opened[0]!.fail('EBADF');
    const r = await p;
    assert.equal(r.kind === 'socket-failed' && r.code, 'EBADF');
    assert.equal(f.opened[0]!.closed, true);
    assert.equal(pool.sockets, 0);
    const q = pool.echo(V4, '198.18.0.9', 5000);
    assert.equal(f.opened.length, 2);
    f.opened[1]!.deliver(reply(f.opened[1]!.sent[0]!), parseAddress('198.18.0.9')!);
    assert.equal((await q).kind, 'reply');
  } finally {
    pool.close();
  }
});

test('a socket with nothing in flight closes after the linger; a request meanwhile keeps it', async () => {
  const f = fakeSockets();
  const pool = new EchoPool({ logger: silentLogger(), open: f.open, lingerMs: 40 });
  try {
    await pool.echo(V4, '198.18.0.9', 10);
    await new Promise((r) => setTimeout(r, 20));
    const p = pool.echo(V4, '198.18.0.9', 60); // within the linger: same socket
    assert.equal(f.opened.length, 1);
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(f.opened[0]!.closed, false, 'in flight: not closed');
    await p;
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(f.opened[0]!.closed, true);
    assert.equal(pool.sockets, 0);
  } finally {
    pool.close();
  }
});

test('pingProbe maps outcomes to probe results: unreachable, timeout, config, socket failure', async () => {
  const f = fakeSockets();
  const pool = new EchoPool({ logger: silentLogger(), open: f.open });
  try {
    const target = { address: '198.18.0.9', port: 80 };
    const p = pingProbe(target, { pool, connectTimeoutMs: 2000 });
    const s = f.opened[0]!.sent[0]!;
    f.opened[0]!.deliver(
      { kind: 'error', type: 3, code: 13, identifier: s.identifier, sequence: s.sequence, quotedDestination: parseAddress('198.18.0.9')! },
      parseAddress('198.18.0.254')!,
    );
    assert.deepEqual(await p, {
      ok: false,
      reason: 'unreachable',
      detail: 'ping 198.18.0.9: communication administratively prohibited (ICMP from 198.18.0.254)',
    });
    const t = await pingProbe(target, { pool, connectTimeoutMs: 30, connectIp: '198.18.0.77' });
    assert.deepEqual(t, { ok: false, reason: 'timeout', detail: 'ping 198.18.0.77: no echo reply within 30 ms' });
    assert.equal(f.opened[0]!.sent[1]!.destination, '198.18.0.77', 'connect_ip overrides the real server');
    assert.equal((await pingProbe({ address: 'not-an-ip', port: 0 }, { pool })).ok === false, true);
    const mixed = await pingProbe(target, { pool, bindto: 'fd00:198:18::1' });
    assert.equal(!mixed.ok && mixed.reason, 'config');
    const noSock = await pingProbe(target, { pool, bindIf: 'nosuch0' });
    assert.equal(!noSock.ok && noSock.reason, 'connect');
    f.failSends('EHOSTUNREACH');
    const r = await pingProbe(target, { pool });
    assert.equal(!r.ok && r.reason, 'unreachable');
  } finally {
    pool.close();
  }
});
