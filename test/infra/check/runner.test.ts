/** CheckRunner in simulated time with fake probes and a fake track_file feed, and with the real tcp, dns and udp probes on loopback. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { setImmediate as flush } from 'node:timers/promises';
import { VirtualServerSchema } from '../../../config/model.js';
import { silentLogger } from '../../../core/logger.js';
import { planChecks, type CheckPlan } from '../../../infra/check/plan.js';
import { CheckRunner, type CheckEvent, type ProbeTable } from '../../../infra/check/runner.js';
import type { ProbeResult } from '../../../infra/check/probes/index.js';
import { VirtualClock } from '../../../sim/clock.js';
import { dgramServer } from './probes/datagrams.js';
import { systemClock } from '../../../actors/vrrp/instance.js';

type Obj = Record<string, unknown>;

function planOf(...vss: Obj[]): CheckPlan {
  return planChecks({ virtualServers: vss.map((v) => VirtualServerSchema.parse(v)), virtualServerGroups: [] });
}

const VIP = { kind: 'address', address: '192.0.2.10', port: 80 };
const RS1 = '192.0.2.10:80/192.0.2.21:80';
const RS2 = '192.0.2.10:80/192.0.2.22:80';
// delay_loop 5 s, connect_timeout 3 s, retry 2, delay_before_retry 1 s, no warmup: the first probe at 1 s (BOOTSTRAP_DELAY).
const TIMING = { delayLoop: 5, connectTimeout: 3, retry: 2, delayBeforeRetry: 1, warmup: 0 };

function vs(extra: Obj = {}, rss: Obj[] = [{ address: '192.0.2.21', checkers: [{ type: 'TCP_CHECK' }] }]): Obj {
  return { target: VIP, ...TIMING, ...extra, realServers: rss };
}

type Stamped = CheckEvent & { t: number };

/**
 * A fake TCP probe whose answer per address (or address:connect_port) is set by the test:
 * a result at once, 'hang' (never settles) or 'silent' (timeout after connect_timeout,
 * on the simulated clock). Every call is recorded.
 */
function fakeTcp(clock: VirtualClock) {
  const answer = new Map<string, ProbeResult | 'hang' | 'silent'>();
  const calls: { address: string; t: number; signal: AbortSignal | undefined }[] = [];
  const probe: NonNullable<ProbeTable['TCP_CHECK']> = (target, o, ctx = {}) => {
    calls.push({ address: target.address, t: clock.now(), signal: ctx.signal });
    const a = answer.get(`${target.address}:${o.connectPort}`) ?? answer.get(target.address) ?? { ok: true };
    if (a === 'hang') return new Promise<ProbeResult>(() => undefined);
    if (a === 'silent')
      return new Promise((resolve) => clock.setTimeout(() => resolve({ ok: false, reason: 'timeout', detail: 'connect timed out' }), o.connectTimeoutMs ?? 0));
    return Promise.resolve(a);
  };
  return { answer, calls, probe };
}

const REFUSED: ProbeResult = { ok: false, reason: 'refused', detail: 'connection refused' };

function setup(plan: CheckPlan) {
  const clock = new VirtualClock();
  const tcp = fakeTcp(clock);
  const events: Stamped[] = [];
  const all: Stamped[] = [];
  const runner = new CheckRunner(plan, {
    clock,
    log: silentLogger(),
    random: () => 0,
    probes: { TCP_CHECK: tcp.probe },
    // Actions without a script only write FIFO lines: kept in `all`, left out of `events`.
    listeners: [
      (e) => {
        all.push({ ...e, t: clock.now() });
        if (!(e.type === 'action' && 'script' in e.action && e.action.script === undefined)) events.push({ ...e, t: clock.now() });
      },
    ],
  });
  /** Runs every timer up to `time`, letting probe promises settle between them. */
  const until = async (time: number): Promise<void> => {
    for (;;) {
      await flush();
      const due = clock.nextDue();
      if (due === null || due > time) break;
      clock.set(due);
    }
    clock.set(time);
    await flush();
  };
  return { clock, tcp, events, all, runner, until };
}

const ofType = (events: Stamped[], type: CheckEvent['type']) => events.filter((e) => e.type === type);

test('a real server goes down retry x delay_before_retry after the first refused probe, once, with notify_down', async () => {
  const s = setup(planOf(vs({}, [{ address: '192.0.2.21', checkers: [{ type: 'TCP_CHECK' }], notifyDown: { command: '/bin/rs-down' } }])));
  s.runner.start();
  await s.until(1000);
  assert.equal(s.tcp.calls.length, 1); // first probe at BOOTSTRAP_DELAY, success
  s.tcp.answer.set('192.0.2.21', REFUSED);
  await s.until(6000); // next probe at 1 s + delay_loop: refused at once
  assert.equal(s.tcp.calls.at(-1)!.t, 6000);
  await s.until(7999);
  assert.deepEqual(ofType(s.events, 'realserver.down'), [], 'not down before retry x delay_before_retry');
  await s.until(8000);
  const down = ofType(s.events, 'realserver.down');
  assert.deepEqual(down, [
    {
      type: 'realserver.down',
      virtualServer: VIP.address + ':80',
      realServer: RS1,
      reason: 'refused',
      detail: 'connection refused',
      checker: `${RS1}/TCP_CHECK#0`,
      t: 8000,
    },
  ]);
  assert.deepEqual(
    s.events.filter((e) => e.type === 'action').map((e) => e.type === 'action' && e.action),
    [{ kind: 'notify-down', virtualServer: '192.0.2.10:80', realServer: RS1, script: { command: '/bin/rs-down' } }],
  );
  // No quorum scripts configured: the quorum crossings still come out (for the notify_fifo lines), without a script.
  assert.deepEqual(
    s.all.flatMap((e) => (e.type === 'action' && e.action.kind.startsWith('quorum') ? [[e.action.kind, 'script' in e.action ? e.action.script : 'none']] : [])),
    [
      ['quorum-up', undefined],
      ['quorum-down', undefined],
    ],
  );
  await s.until(60_000); // still refused: no second event
  assert.equal(ofType(s.events, 'realserver.down').length, 1);
  const st = s.runner.status()[0]!.realServers[0]!;
  assert.equal(st.alive, false);
  assert.deepEqual(st.checkers[0]!.lastFailure?.reason, 'refused');
  s.runner.stop();
});

test('a probe that times out: each try takes connect_timeout, so down comes (retry + 1) x connect_timeout + retry x delay_before_retry after the first failing probe starts', async () => {
  const s = setup(planOf(vs()));
  s.runner.start();
  await s.until(1000);
  // From now on the server is silent: each probe fails with 'timeout' after connect_timeout (3 s).
  s.tcp.answer.set('192.0.2.21', 'silent');
  await s.until(6000 + 3 * 3000 + 2 * 1000 - 1);
  assert.deepEqual(ofType(s.events, 'realserver.down'), []);
  await s.until(6000 + 3 * 3000 + 2 * 1000);
  assert.deepEqual(ofType(s.events, 'realserver.down'), [
    {
      type: 'realserver.down',
      virtualServer: '192.0.2.10:80',
      realServer: RS1,
      reason: 'timeout',
      detail: 'connect timed out',
      checker: `${RS1}/TCP_CHECK#0`,
      t: 17_000,
    },
  ]);
  s.runner.stop();
});

test('two checkers of one real server failing together: one realserver.down; it is up again only when both are', async () => {
  const s = setup(planOf(vs({ retry: 0 }, [{ address: '192.0.2.21', checkers: [{ type: 'TCP_CHECK' }, { type: 'TCP_CHECK', connectPort: 81 }] }])));
  s.runner.start();
  s.tcp.answer.set('192.0.2.21', REFUSED);
  await s.until(1000);
  assert.equal(s.tcp.calls.length, 2);
  assert.equal(ofType(s.events, 'realserver.down').length, 1);
  const st = s.runner.status()[0]!.realServers[0]!;
  assert.deepEqual(
    st.checkers.map((c) => c.state),
    ['down', 'down'],
  );
  s.tcp.answer.set('192.0.2.21', { ok: true });
  s.tcp.answer.set('192.0.2.21:81', REFUSED);
  await s.until(11_000);
  assert.equal(ofType(s.events, 'realserver.up').length, 0, 'one checker of two up: still down');
  s.tcp.answer.delete('192.0.2.21:81');
  await s.until(16_000);
  assert.deepEqual(
    s.events.map((e) => [e.type, e.t]),
    [
      ['virtualserver.quorum', 0],
      ['realserver.down', 1000],
      ['virtualserver.quorum', 1000],
      ['realserver.up', 16_000],
      ['virtualserver.quorum', 16_000],
    ],
  );
  s.runner.stop();
});

test('misc_dynamic: the exit code sets the weight (code - 2), reported once per change, and moves the quorum', async () => {
  const clock = new VirtualClock();
  const events: CheckEvent[] = [];
  let code = 0;
  const misc: NonNullable<ProbeTable['MISC_CHECK']> = () => Promise.resolve(code === 0 ? { ok: true } : { ok: true, weight: code - 2 });
  const plan = planOf(
    vs({ quorum: 5 }, [
      { address: '192.0.2.21', weight: 5, checkers: [{ type: 'MISC_CHECK', miscPath: { command: '/bin/w' }, miscDynamic: true, delayLoop: 5 }] },
    ]),
  );
  const runner = new CheckRunner(plan, { clock, log: silentLogger(), random: () => 0, probes: { MISC_CHECK: misc }, listeners: [(e) => events.push(e)] });
  const step = async (ms: number) => {
    for (let i = 0; i < ms / 500; i++) {
      clock.increment(500);
      await flush();
    }
  };
  runner.start();
  await step(1000);
  assert.deepEqual(ofType(events as Stamped[], 'realserver.weight'), []);
  code = 4; // weight 2
  await step(5000);
  await step(5000);
  assert.deepEqual(
    events
      .filter((e) => e.type !== 'action')
      .map((e) => (e.type === 'realserver.weight' ? `weight:${e.weight}` : e.type === 'virtualserver.quorum' ? `quorum:${e.up}:${e.liveWeight}` : e.type)),
    ['quorum:true:5', 'weight:2', 'quorum:false:2'],
  );
  code = 0;
  await step(5000);
  assert.equal(runner.status()[0]!.realServers[0]!.weight, 5);
  assert.deepEqual(events.filter((e) => e.type !== 'action').at(-1), {
    type: 'virtualserver.quorum',
    virtualServer: '192.0.2.10:80',
    up: true,
    liveWeight: 5,
    quorum: 5,
    hysteresis: 0,
  });
  runner.stop();
});

test('recovery on one success, reported once, with notify_up', async () => {
  const s = setup(planOf(vs({}, [{ address: '192.0.2.21', checkers: [{ type: 'TCP_CHECK' }], notifyUp: { command: '/bin/rs-up' } }])));
  s.tcp.answer.set('192.0.2.21', REFUSED);
  s.runner.start();
  await s.until(3000); // 1 s: refused (retry_it starts at retry: down at once), and retried at 2 s and 3 s
  assert.equal(ofType(s.events, 'realserver.down').length, 1);
  assert.equal(ofType(s.events, 'realserver.down')[0]!.t, 1000);
  s.tcp.answer.delete('192.0.2.21');
  const next = s.clock.nextDue()!;
  await s.until(next);
  const up = ofType(s.events, 'realserver.up');
  assert.equal(up.length, 1);
  assert.equal(up[0]!.t, next);
  await s.until(next + 30_000);
  assert.equal(ofType(s.events, 'realserver.up').length, 1, 'one success is enough and is reported once');
  const acts = s.events.filter((e) => e.type === 'action');
  assert.deepEqual(
    acts.map((e) => e.type === 'action' && e.action.kind),
    ['notify-up'],
  );
  s.runner.stop();
});

test("quorum: quorum_up at start, quorum_down with the sorry server in when live weight drops below it, back out on recovery (keepalived's update_quorum_state)", async () => {
  const s = setup(
    planOf(
      vs({ quorum: 2, quorumUp: { command: '/bin/q-up' }, quorumDown: { command: '/bin/q-down' }, sorryServer: { address: '192.0.2.99' } }, [
        { address: '192.0.2.21', checkers: [{ type: 'TCP_CHECK' }] },
        { address: '192.0.2.22', checkers: [{ type: 'TCP_CHECK' }] },
      ]),
    ),
  );
  s.runner.start();
  assert.deepEqual(
    s.events.map((e) => [e.type, e.type === 'action' ? e.action.kind : e.type === 'virtualserver.quorum' ? e.up : '']),
    [
      ['virtualserver.quorum', true],
      ['action', 'quorum-up'],
    ],
  );
  s.events.length = 0;
  s.tcp.answer.set('192.0.2.22', REFUSED);
  await s.until(8000);
  const kinds = () =>
    s.events.map((e) => (e.type === 'action' ? `action:${e.action.kind}` : e.type === 'virtualserver.quorum' ? `quorum:${e.up}:${e.liveWeight}` : e.type));
  assert.deepEqual(kinds(), ['realserver.down', 'action:sorry-server-in', 'quorum:false:1', 'action:quorum-down']);
  const scripts = () =>
    s.events.flatMap((e) => (e.type === 'action' && 'script' in e.action && e.action.script !== undefined ? [e.action.script.command] : []));
  assert.deepEqual(scripts(), ['/bin/q-down']);
  assert.deepEqual(
    s.events.flatMap((e) => (e.type === 'action' && 'sorryServer' in e.action ? [e.action.sorryServer] : [])),
    [{ address: '192.0.2.99', port: 80 }],
  );
  s.events.length = 0;
  s.tcp.answer.delete('192.0.2.22');
  await s.until(20_000);
  assert.deepEqual(kinds(), ['realserver.up', 'action:sorry-server-out', 'quorum:true:2', 'action:quorum-up']);
  assert.deepEqual(scripts(), ['/bin/q-up']);
  const st = s.runner.status()[0]!;
  assert.equal(st.quorumUp, true);
  assert.equal(st.liveWeight, 2);
  s.runner.stop();
});

test('a probe that never settles is aborted at its bound and counted as a failure: probe-stalled', async () => {
  const s = setup(planOf(vs({ retry: 0 })));
  s.tcp.answer.set('192.0.2.21', 'hang');
  s.runner.start();
  await s.until(1000);
  const call = s.tcp.calls[0]!;
  assert.equal(call.signal?.aborted, false);
  // bound: connect_timeout 3 s + the plan's 1 s watchdog margin
  await s.until(4999);
  assert.equal(call.signal?.aborted, false);
  await s.until(5000);
  assert.equal(call.signal?.aborted, true, 'the I/O is aborted, not just the verdict');
  assert.deepEqual(ofType(s.events, 'realserver.down'), [
    {
      type: 'realserver.down',
      virtualServer: '192.0.2.10:80',
      realServer: RS1,
      reason: 'probe-stalled',
      detail: 'no result within 4000 ms: aborted',
      checker: `${RS1}/TCP_CHECK#0`,
      t: 5000,
    },
  ]);
  assert.equal(s.runner.status()[0]!.realServers[0]!.checkers[0]!.lastFailure?.reason, 'probe-stalled');
  s.runner.stop();
});

test('unsupported checker types are reported once, count neither up nor down, and a real server with only them stays alive', async () => {
  const s = setup(
    planOf(
      vs({}, [
        { address: '192.0.2.21', checkers: [{ type: 'PING_CHECK' }, { type: 'TCP_CHECK' }] },
        { address: '192.0.2.22', checkers: [{ type: 'DNS_CHECK', alpha: true }] },
      ]),
    ),
  );
  s.runner.start();
  await s.until(30_000);
  const u = ofType(s.events, 'checker.unsupported');
  assert.deepEqual(
    u.map((e) => e.type === 'checker.unsupported' && [e.realServer, e.checkerType]),
    [
      [RS1, 'PING_CHECK'],
      [RS2, 'DNS_CHECK'],
    ],
  );
  const [r1, r2] = s.runner.status()[0]!.realServers;
  assert.equal(r1!.checkers[0]!.state, 'unsupported');
  assert.equal(r1!.alive, true, 'judged by its TCP_CHECK alone');
  assert.equal(r2!.alive, true, 'an alpha DNS_CHECK that never runs does not hold the real server down');
  // TCP fails: the real server goes down whatever the PING_CHECK would say.
  s.tcp.answer.set('192.0.2.21', REFUSED);
  await s.until(60_000);
  assert.equal(ofType(s.events, 'realserver.down').length, 1);
  s.runner.reload(
    planOf(
      vs({}, [
        { address: '192.0.2.21', checkers: [{ type: 'PING_CHECK' }, { type: 'TCP_CHECK' }] },
        { address: '192.0.2.22', checkers: [{ type: 'DNS_CHECK', alpha: true }] },
      ]),
    ),
  );
  assert.equal(ofType(s.events, 'checker.unsupported').length, 2, 'not reported again on reload');
  s.runner.stop();
});

test('reload keeps an unchanged checker with its state and timer, replaces a changed one, starts an added real server', async () => {
  const rs1 = { address: '192.0.2.21', checkers: [{ type: 'TCP_CHECK' }] };
  const s = setup(planOf(vs({}, [rs1, { address: '192.0.2.22', checkers: [{ type: 'TCP_CHECK' }] }])));
  s.tcp.answer.set('192.0.2.21', REFUSED);
  s.runner.start();
  await s.until(3500); // .21 refused at 1 s: down at once (retry_it starts at retry), next probe at 1 s + delay_loop = 6 s
  const before = s.runner.status()[0]!.realServers[0]!;
  assert.equal(before.alive, false);
  const ch = s.runner.reload(
    planOf(
      vs({}, [
        rs1,
        { address: '192.0.2.22', checkers: [{ type: 'TCP_CHECK', connectTimeout: 2 }] },
        { address: '192.0.2.23', checkers: [{ type: 'TCP_CHECK' }] },
      ]),
    ),
  );
  assert.deepEqual(ch.kept.checkers, [`${RS1}/TCP_CHECK#0`]);
  assert.deepEqual(ch.removed.checkers, [`${RS2}/TCP_CHECK#0`]);
  assert.deepEqual(ch.added.checkers, [`${RS2}/TCP_CHECK#0`, '192.0.2.10:80/192.0.2.23:80/TCP_CHECK#0']);
  assert.deepEqual(ch.added.realServers, ['192.0.2.10:80/192.0.2.23:80']);
  assert.deepEqual(ofType(s.events, 'realserver.up'), [], 'the kept real server stays down: no event');
  const after = s.runner.status()[0]!.realServers[0]!;
  assert.equal(after.alive, false);
  assert.equal(after.checkers[0]!.state, 'down');
  assert.equal(after.checkers[0]!.probes, before.checkers[0]!.probes);
  await s.until(10_000);
  const at = (address: string) => s.tcp.calls.filter((c) => c.address === address).map((c) => c.t);
  assert.deepEqual(
    at('192.0.2.21'),
    [1000, 6000, 7000, 8000],
    "the kept checker's timer runs on (6 s, then tcp_epilog's retries of a down checker): no new BOOTSTRAP_DELAY",
  );
  assert.deepEqual(at('192.0.2.22'), [1000, 4500, 9500], 'the changed checker is replaced: a fresh start 1 s after the reload');
  assert.deepEqual(at('192.0.2.23'), [4500, 9500]);
  assert.deepEqual(ofType(s.events, 'realserver.up'), []);
  s.runner.stop();
});

test('stop leaves no timer and no pending probe, emits nothing later; omega runs notify_down and quorum_down on the way out', async () => {
  const s = setup(
    planOf(
      vs({ omega: true, quorumDown: { command: '/bin/q-down' } }, [
        { address: '192.0.2.21', checkers: [{ type: 'TCP_CHECK' }], notifyDown: { command: '/bin/d' } },
      ]),
    ),
  );
  s.tcp.answer.set('192.0.2.21', 'hang');
  s.runner.start();
  await s.until(1500);
  const call = s.tcp.calls[0]!;
  assert.ok(s.clock.pending > 0);
  s.events.length = 0;
  s.runner.stop();
  assert.equal(s.clock.pending, 0, 'no timer left');
  assert.equal(call.signal?.aborted, true, 'the probe in flight is aborted');
  assert.deepEqual(
    s.events.map((e) => (e.type === 'action' ? `action:${e.action.kind}` : e.type)),
    ['action:notify-down', 'virtualserver.quorum', 'action:quorum-down'],
  );
  s.events.length = 0;
  await s.until(100_000);
  assert.deepEqual(s.events, []);
  assert.equal(s.tcp.calls.length, 1);
});

test('ha_suspend: no probe while suspended, probes resume with setSuspended(false)', async () => {
  const s = setup(planOf(vs({ haSuspend: true })));
  s.runner.start();
  await s.until(20_000);
  assert.equal(s.tcp.calls.length, 0, 'the VIP is absent until the caller says otherwise');
  assert.equal(s.runner.setSuspended('192.0.2.10:80', false), true);
  await s.until(30_000);
  assert.ok(s.tcp.calls.length > 0);
  s.runner.stop();
});

test('the real tcpProbe against a server on 127.0.0.1: up while it listens, down (refused) once it is closed', async () => {
  const server: Server = createServer((sock) => sock.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const events: CheckEvent[] = [];
  const plan = planOf({
    target: { kind: 'address', address: '127.0.0.1', port },
    delayLoop: 0.2,
    connectTimeout: 1,
    retry: 0,
    warmup: 0,
    alpha: true,
    realServers: [{ address: '127.0.0.1', checkers: [{ type: 'TCP_CHECK' }] }],
  });
  const clock = systemClock;
  const runner = new CheckRunner(plan, { clock, log: silentLogger(), random: () => 0, listeners: [(e) => events.push(e)] });
  const waitFor = async (type: CheckEvent['type']) => {
    const t0 = Date.now();
    while (!events.some((e) => e.type === type)) {
      if (Date.now() - t0 > 5000) throw new Error(`no ${type} within 5 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  try {
    runner.start();
    await waitFor('realserver.up');
    await new Promise<void>((r) => server.close(() => r()));
    await waitFor('realserver.down');
    const down = events.find((e) => e.type === 'realserver.down');
    assert.equal(down?.type === 'realserver.down' && down.reason, 'refused');
  } finally {
    runner.stop();
    server.close();
  }
});

/** A TrackFileFeed the test sets by hand. */
function fakeFeed(initial: Record<string, number>) {
  const values = new Map(Object.entries(initial));
  const listeners = new Set<(name: string, value: number) => void>();
  return {
    feed: {
      value: (name: string) => values.get(name),
      subscribe(l: (name: string, value: number) => void) {
        listeners.add(l);
        return () => void listeners.delete(l);
      },
    },
    set(name: string, value: number) {
      values.set(name, value);
      for (const l of listeners) l(name, value);
    },
    listeners,
  };
}

test('FILE_CHECK follows its track_file: weight offsets, down at INT_MIN, quorum recomputed; unsupported without a feed', async () => {
  const cfg = vs({ quorum: 3 }, [
    { address: '192.0.2.21', weight: 2, checkers: [{ type: 'FILE_CHECK', trackFile: 'load', weight: 1 }] },
    { address: '192.0.2.22', weight: 1, checkers: [{ type: 'TCP_CHECK' }] },
  ]);
  const plan = planChecks({
    virtualServers: [VirtualServerSchema.parse(cfg)],
    virtualServerGroups: [],
    trackFiles: [{ name: 'load', file: '/x', weight: 1, reverse: false }],
  });
  const clock = new VirtualClock();
  const f = fakeFeed({ load: 3 });
  const events: CheckEvent[] = [];
  const runner = new CheckRunner(plan, {
    clock,
    log: silentLogger(),
    random: () => 0,
    probes: { TCP_CHECK: () => Promise.resolve({ ok: true }) },
    listeners: [(e) => events.push(e)],
    trackFiles: f.feed,
  });
  runner.start();
  const rs = () => runner.status()[0]!.realServers[0]!;
  assert.equal(rs().weight, 5, 'the value at start: 2 + 3 x 1');
  assert.equal(rs().checkers[0]!.state, 'up');
  assert.equal(runner.status()[0]!.liveWeight, 6);
  f.set('load', 10);
  assert.deepEqual(
    events.filter((e) => e.type === 'realserver.weight'),
    [{ type: 'realserver.weight', virtualServer: '192.0.2.10:80', realServer: RS1, weight: 12 }],
  );
  f.set('load', -(2 ** 31));
  assert.equal(rs().alive, false);
  assert.equal(rs().checkers[0]!.lastFailure?.reason, 'file');
  assert.deepEqual(
    events.filter((e) => e.type === 'realserver.down'),
    [
      {
        type: 'realserver.down',
        virtualServer: '192.0.2.10:80',
        realServer: RS1,
        reason: 'file',
        detail: 'track_file load is -2147483648',
        checker: `${RS1}/FILE_CHECK#0`,
      },
    ],
  );
  assert.deepEqual(events.filter((e) => e.type === 'virtualserver.quorum').pop(), {
    type: 'virtualserver.quorum',
    virtualServer: '192.0.2.10:80',
    up: false,
    liveWeight: 1,
    quorum: 3,
    hysteresis: 0,
  });
  f.set('other', 1);
  f.set('load', 0);
  assert.equal(rs().alive, true);
  assert.equal(rs().weight, 2, 'offset 0 again');
  runner.stop();
  assert.equal(f.listeners.size, 0, 'stop ends the subscription');

  const bare = new CheckRunner(plan, { clock, log: silentLogger(), probes: {}, listeners: [(e) => events.push(e)] });
  bare.start();
  assert.equal(bare.status()[0]!.realServers[0]!.checkers[0]!.state, 'unsupported');
  bare.stop();
});

test('FILE_CHECK on reload: a kept checker keeps its offset, a new one starts from the current value', () => {
  const rsOf = (checkers: Obj[]) => vs({}, [{ address: '192.0.2.21', weight: 4, checkers }]);
  const planWith = (checkers: Obj[]) =>
    planChecks({
      virtualServers: [VirtualServerSchema.parse(rsOf(checkers))],
      virtualServerGroups: [],
      trackFiles: [
        { name: 'a', file: '/a', weight: 1, reverse: false },
        { name: 'b', file: '/b', weight: 0, reverse: false },
      ],
    });
  const f = fakeFeed({ a: 2, b: 1 });
  const runner = new CheckRunner(planWith([{ type: 'FILE_CHECK', trackFile: 'a' }]), {
    clock: new VirtualClock(),
    log: silentLogger(),
    probes: {},
    trackFiles: f.feed,
  });
  runner.start();
  assert.equal(runner.status()[0]!.realServers[0]!.weight, 6);
  const ch = runner.reload(
    planWith([
      { type: 'FILE_CHECK', trackFile: 'a' },
      { type: 'FILE_CHECK', trackFile: 'b' },
    ]),
  );
  assert.equal(ch.kept.checkers.length, 1);
  const r = runner.status()[0]!.realServers[0]!;
  assert.equal(r.weight, 6, 'a kept its offset');
  assert.equal(r.alive, false, 'b: weight 0 and a non-zero value is down');
  f.set('b', 0);
  assert.equal(runner.status()[0]!.realServers[0]!.alive, true);
  runner.stop();
});

test('DNS, SMTP and UDP checkers reach their probes with the configured options', async () => {
  const cfg = vs({}, [
    {
      address: '192.0.2.21',
      checkers: [
        { type: 'DNS_CHECK', queryType: 'A', name: 'www.test', connectPort: 5353 },
        { type: 'SMTP_CHECK', heloName: 'lb.test', hosts: [{ connectIp: '192.0.2.31' }, { connectIp: '192.0.2.32', connectPort: 2525 }] },
        { type: 'UDP_CHECK', payload: 'aa bb', requireReply: 'cc', minReplyLength: 1, maxReplyLength: 9 },
      ],
    },
  ]);
  const clock = new VirtualClock();
  const calls: [string, unknown][] = [];
  const rec = (type: string) => (target: unknown, o: unknown) => {
    calls.push([type, { target, ...(o as Obj) }]);
    return Promise.resolve<ProbeResult>({ ok: true });
  };
  const runner = new CheckRunner(planOf(cfg), {
    clock,
    log: silentLogger(),
    random: () => 0,
    probes: { DNS_CHECK: rec('dns'), SMTP_CHECK: rec('smtp'), UDP_CHECK: rec('udp') },
  });
  runner.start();
  for (let i = 0; i < 5; i++) {
    await flush();
    const due = clock.nextDue();
    if (due === null || due > 1500) break;
    clock.set(due);
  }
  await flush();
  const target = { address: '192.0.2.21', port: 80 };
  assert.deepEqual(
    calls.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    [
      ['dns', { target, connectPort: 5353, connectTimeoutMs: 3000, queryType: 'A', name: 'www.test' }],
      ['smtp', { target, connectIp: '192.0.2.31', connectTimeoutMs: 3000, heloName: 'lb.test' }],
      ['smtp', { target, connectIp: '192.0.2.32', connectPort: 2525, connectTimeoutMs: 3000, heloName: 'lb.test' }],
      ['udp', { target, connectTimeoutMs: 3000, payload: 'aa bb', requireReply: 'cc', minReplyLength: 1, maxReplyLength: 9 }],
    ],
  );
  assert.equal(runner.status()[0]!.realServers[0]!.checkers.length, 4, 'the second SMTP host is a checker of its own');
  runner.stop();
});

test('the real dnsProbe and udpProbe through the runner on 127.0.0.1: up while a server answers, down (refused) once its port is closed', async () => {
  // Answers every datagram as a NOERROR DNS reply with the query's id (UDP_CHECK's filler gets one too).
  const srv = await dgramServer((q) => {
    const b = Buffer.from(q);
    if (b.length >= 4) b.writeUInt16BE(0x8180, 2);
    return b;
  });
  const events: CheckEvent[] = [];
  const plan = planOf({
    target: { kind: 'address', address: '127.0.0.1', port: srv.port },
    delayLoop: 0.2,
    connectTimeout: 1,
    retry: 0,
    warmup: 0,
    alpha: true,
    realServers: [
      {
        address: '127.0.0.1',
        checkers: [
          { type: 'DNS_CHECK', name: 'svc.test', queryType: 'A' },
          { type: 'UDP_CHECK', requireReply: true },
        ],
      },
    ],
  });
  const clock = systemClock;
  const runner = new CheckRunner(plan, { clock, log: silentLogger(), random: () => 0, listeners: [(e) => events.push(e)] });
  const waitFor = async (type: CheckEvent['type']) => {
    const t0 = Date.now();
    while (!events.some((e) => e.type === type)) {
      if (Date.now() - t0 > 5000) throw new Error(`no ${type} within 5 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  try {
    runner.start();
    await waitFor('realserver.up');
    assert.deepEqual(
      runner.status()[0]!.realServers[0]!.checkers.map((c) => [c.type, c.state]),
      [
        ['DNS_CHECK', 'up'],
        ['UDP_CHECK', 'up'],
      ],
    );
    await srv.close();
    await waitFor('realserver.down');
    const down = events.find((e) => e.type === 'realserver.down');
    assert.equal(down?.type === 'realserver.down' && down.reason, 'refused');
  } finally {
    runner.stop();
  }
});
