/**
 * daemon/systemd-service.ts with a recording sender and a scripted daemon:
 * when READY=1 goes out, the watchdog interval, and that the watchdog pings
 * come from the event loop (a stalled loop sends none).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../../core/logger.js';
import { statusLine, SystemdService, watchdogIntervalMs, type ServiceDaemon } from '../../daemon/systemd-service.js';

function recorder() {
  const sent: { socket: string; message: string; at: number }[] = [];
  return { sent, send: (socket: string, message: string) => (sent.push({ socket, message, at: performance.now() }), null) };
}

function scriptedDaemon(states: Record<string, string>) {
  const listeners: (() => void)[] = [];
  const daemon: ServiceDaemon = {
    instanceStates: () => Object.entries(states).map(([name, state]) => ({ name, state })),
    onTransition: (l) => listeners.push(l),
  };
  const move = (name: string, state: string) => {
    states[name] = state;
    for (const l of listeners) l();
  };
  return { daemon, move };
}

function capturedLog() {
  const lines: { level: number; msg: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as { level: number; msg: string });
      done();
    },
  });
  return { lines, log: createLogger({ level: 'info', destination: stream }) };
}

test('watchdog interval: half of WATCHDOG_USEC, only for this pid, none without a valid value', () => {
  assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '10000000' }, 42), 5000);
  assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '10000000', WATCHDOG_PID: '42' }, 42), 5000);
  assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '10000000', WATCHDOG_PID: '43' }, 42), undefined, 'a child that inherited the variables');
  assert.equal(watchdogIntervalMs({}, 42), undefined);
  assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '0' }, 42), undefined);
  assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: 'soon' }, 42), undefined);
  assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '1500' }, 42), 1, 'never a 0 ms interval');
});

test('READY=1 waits until no instance is in Initialize, is sent once, and names each state', () => {
  const r = recorder();
  const { daemon, move } = scriptedDaemon({ VI_1: 'initialize', VI_2: 'backup' });
  const service = new SystemdService({ env: { NOTIFY_SOCKET: '@vf-test' }, pid: 42, log: capturedLog().log, send: r.send });
  service.follow(daemon);
  assert.equal(r.sent.length, 0, 'one instance still in Initialize');
  move('VI_2', 'master');
  assert.equal(r.sent.length, 0);
  move('VI_1', 'fault');
  assert.equal(r.sent.length, 1);
  assert.equal(r.sent[0]!.socket, '@vf-test');
  assert.equal(r.sent[0]!.message, 'READY=1\nSTATUS=VI_1 fault, VI_2 master\nMAINPID=42');
  move('VI_1', 'backup');
  assert.equal(r.sent.length, 1, 'READY only once');
  service.reloading();
  service.reloaded();
  service.stopping();
  assert.match(r.sent[1]!.message, /^RELOADING=1\nMONOTONIC_USEC=\d+$/);
  assert.deepEqual(
    r.sent.slice(2).map((s) => s.message),
    ['READY=1', 'STOPPING=1'],
  );
  service.close();
});

test('READY=1 at once when every instance is out of Initialize at start (or there are none)', () => {
  const r = recorder();
  new SystemdService({ env: { NOTIFY_SOCKET: '/run/x' }, pid: 7, log: capturedLog().log, send: r.send }).follow(scriptedDaemon({}).daemon);
  assert.deepEqual(
    r.sent.map((s) => s.message),
    ['READY=1\nSTATUS=no VRRP instances\nMAINPID=7'],
  );
  assert.equal(statusLine([{ name: 'a', state: 'backup' }]), 'a backup');
});

test('outside systemd (no NOTIFY_SOCKET) nothing is sent and no timer runs', () => {
  const r = recorder();
  const service = new SystemdService({ env: { WATCHDOG_USEC: '2000' }, pid: 1, log: capturedLog().log, send: r.send });
  service.follow(scriptedDaemon({ VI_1: 'backup' }).daemon);
  service.stopping();
  assert.equal(service.enabled, false);
  assert.equal(r.sent.length, 0);
});

test('the watchdog pings come from an event-loop timer: none while the loop is blocked', async () => {
  const r = recorder();
  const service = new SystemdService({ env: { NOTIFY_SOCKET: '@vf-test', WATCHDOG_USEC: '40000' }, pid: 42, log: capturedLog().log, send: r.send });
  service.follow(scriptedDaemon({ VI_1: 'backup' }).daemon);
  try {
    await new Promise((res) => setTimeout(res, 120));
    const before = r.sent.filter((s) => s.message === 'WATCHDOG=1');
    assert.ok(before.length >= 2, `pings every 20 ms (got ${before.length} in 120 ms)`);
    // A stall: the loop is busy for 150 ms, 7 intervals.
    const stallStart = performance.now();
    while (performance.now() - stallStart < 150);
    const stallEnd = performance.now();
    await new Promise((res) => setTimeout(res, 60));
    const during = r.sent.filter((s) => s.message === 'WATCHDOG=1' && s.at > stallStart && s.at < stallEnd);
    assert.deepEqual(during, [], 'no ping while the loop is stalled');
    assert.ok(
      r.sent.some((s) => s.message === 'WATCHDOG=1' && s.at >= stallEnd),
      'pings again once the loop runs',
    );
  } finally {
    service.close();
  }
});

test('a failing socket is logged once, not at every watchdog tick', async () => {
  const { lines, log } = capturedLog();
  let calls = 0;
  const service = new SystemdService({
    env: { NOTIFY_SOCKET: '/run/nowhere', WATCHDOG_USEC: '20000' },
    pid: 42,
    log,
    send: () => (calls++, 'ENOENT'),
  });
  service.follow(scriptedDaemon({ VI_1: 'backup' }).daemon);
  await new Promise((res) => setTimeout(res, 80));
  service.close();
  assert.ok(calls >= 3, `READY and pings were tried (${calls})`);
  assert.equal(lines.filter((l) => l.msg === 'systemd notification failed').length, 1);
});
