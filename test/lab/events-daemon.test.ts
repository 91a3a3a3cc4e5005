// Real network: vipflow daemons (nodes a and b) publishing their events to a real
// nats-server (Debian's, JetStream) running in the lab's `nats` node; readers run
// inside the namespace (`vipflow events --json`, a KV dump helper).
// Starts: a namespace lab, nats-server (stopped and restarted on the same store),
// vipflow daemons (one without NATS first).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../core/logger.js';
import { createLab, pollUntil, sleep, sweepStaleLabs, type Lab, type SpawnedProcess } from '../../lab/index.js';
import type { VipflowDaemon } from '../../lab/vipflow.js';
import type { VipflowEvent } from '../../infra/events/schema.js';
import { instanceConf, median, readEvents, readKv, startEventDaemon, startNats, stopNats, transitionsOf } from './events-lab.js';

const logger = silentLogger();
const PREFIX = 'vfev';
const SUBNET = 150;
const VIP = `198.18.${SUBNET}.100/24`;

describe('daemon events on NATS', () => {
  let lab: Lab;
  let nats: SpawnedProcess | null = null;
  const daemons = new Map<string, VipflowDaemon>();
  /** Each node's daemon runs with NATS, oldest first: their logged transitions are what the stream must hold. */
  const runs = new Map<string, VipflowDaemon[]>([
    ['a', []],
    ['b', []],
  ]);
  const logged = (node: string) => runs.get(node)!.flatMap((d) => d.transitions.map((t) => `${t.from}>${t.to}`));
  const prio = new Map<string, number>();
  const all: VipflowDaemon[] = [];

  const start = async (node: string, name: string, priority: number) => {
    prio.set(node, priority);
    const d = await startEventDaemon(lab, node, name, priority, VIP);
    daemons.set(node, d);
    runs.get(node)!.push(d);
    all.push(d);
    return d;
  };
  /**
   * One failover by configuration: the current Master's priority drops below the
   * other's (SIGHUP, applied live); the other preempts after Master_Down_Interval.
   * @returns ms from the SIGHUP to the new Master's transition line.
   */
  const failover = async (): Promise<number> => {
    const [m, o] = (await masterFirst()) as [string, string];
    const dm = daemons.get(m)!;
    const dO = daemons.get(o)!;
    const mark = dO.transitions.length;
    const markM = dm.transitions.length;
    const next = prio.get(o)! - 10;
    prio.set(m, next);
    dm.writeConfig(instanceConf(m, next, VIP));
    const t0 = performance.now();
    dm.signal('SIGHUP');
    const t = await dO.waitForState('master', 3000, mark);
    assert.ok(t, `${o} takes over from ${m}`);
    assert.ok(await dm.waitForState('backup', 2000, markM), `${m} goes Backup`);
    return t.seenAt - t0;
  };
  /** [master, other] by the daemons' logs. */
  const masterFirst = async () => {
    const last = (d: VipflowDaemon) => d.transitions.at(-1)?.to;
    const a = daemons.get('a')!;
    return last(a) === 'master' ? ['a', 'b'] : ['b', 'a'];
  };
  /** Polls the stream until each node's transitions there equal its logged ones (of `nodes`), then asserts it. */
  const streamMatchesLogs = async (timeoutMs: number, nodes = ['a', 'b']): Promise<VipflowEvent[]> => {
    let events: VipflowEvent[] = [];
    const same = () => nodes.every((n) => transitionsOf(events, n).join(' ') === logged(n).join(' '));
    await pollUntil(
      async () => {
        events = await readEvents(lab, 'nats');
        return same() ? true : undefined;
      },
      timeoutMs,
      200,
    );
    for (const n of nodes) assert.deepEqual(transitionsOf(events, n), logged(n), `${n}: the stream holds its logged transitions, in order`);
    return events;
  };
  const assertExactlyOnce = (events: VipflowEvent[]) => {
    assert.equal(new Set(events.map((e) => e.id)).size, events.length, 'no event id twice');
    for (const node of ['a', 'b']) {
      const seqs = events.filter((e) => e.node === node).map((e) => e.seq);
      for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1]! + 1, `${node}: sequence contiguous and in order (${seqs.join(',')})`);
    }
  };
  const upTimes: number[] = [];

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['a', 'b', 'nats'], subnet: SUBNET, ipv6: false, logger });
  });
  after(async () => {
    for (const d of all) await d.kill();
    if (nats) await stopNats(nats);
    await lab?.destroy();
  });

  test('without NATS one host works: events flow in-process and show in status', async () => {
    const d = await startEventDaemon(lab, 'a', 'solo', 150, VIP, { nats: false });
    all.push(d);
    assert.ok(await d.waitForState('master', 3000), 'alone, it becomes Master');
    const st = await pollUntil(
      async () => {
        const s = await d.status();
        return s.events && s.events.delivered === s.events.published && s.events.recent.some((e) => e.type === 'instance.transition') ? s : undefined;
      },
      3000,
      50,
    );
    assert.ok(st?.events, 'status shows the events');
    assert.equal(st.events.bus, 'in-process');
    assert.equal(st.events.node, 'a');
    assert.deepEqual(
      st.events.recent.map((e) => e.type),
      ['daemon.start', 'instance.transition', 'instance.transition'],
      'daemon.start, then initialize→backup and backup→master',
    );
    assert.ok(d.lines.some((l) => l.msg === 'events stay in this process (no NATS configured)'));
    assert.equal(await d.stop(), 0);
  });

  test('a failover publishes each transition once, in order, and the KV shows the new Master', async () => {
    nats = await startNats(lab);
    const a = await start('a', 'a0', 150);
    const b = await start('b', 'b0', 100);
    assert.ok(await a.waitForState('master', 3000), 'a (150) Master');
    assert.ok(await b.waitForState('backup', 3000), 'b Backup');
    await sleep(300);
    for (let i = 0; i < 3; i++) {
      upTimes.push(await failover());
      await sleep(150);
    }
    const events = await streamMatchesLogs(10_000);
    assertExactlyOnce(events);
    const types = events.filter((e) => e.node === 'b').map((e) => e.type);
    assert.equal(types[0], 'daemon.start');
    assert.equal(types.filter((t) => t === 'config.reload').length, 1, "b's one reload is published");
    const tr = events.find((e) => e.type === 'instance.transition' && e.node === 'b' && e.data.to === 'master');
    assert.ok(tr && tr.type === 'instance.transition');
    assert.equal(tr.data.instance, 'VI_ev');
    assert.equal(tr.data.vrid, 50);
    assert.equal(tr.data.family, 'ipv4');
    assert.equal(tr.data.interface, 'eth0');
    assert.equal(tr.data.from, 'backup');
    assert.equal(tr.data.advertIntervalCs, 10);
    assert.equal(tr.data.source, lab.node('b').ipv4);
    const yielded = events.find((e) => e.type === 'instance.transition' && e.node === 'a' && e.data.from === 'master' && e.data.to === 'backup');
    assert.ok(yielded && yielded.type === 'instance.transition');
    assert.equal(yielded.data.masterSeen, lab.node('b').ipv4, 'a names b, whose advert made it yield');
    assert.equal(yielded.data.reason, 'higher-priority-advert');
    const [m] = await masterFirst();
    const kv = await pollUntil(
      async () => {
        const k = await readKv(lab, 'nats');
        return k.find((s) => s.node === m && s.state === 'master') && k.find((s) => s.node !== m && s.state === 'backup') ? k : undefined;
      },
      5000,
      200,
    );
    assert.ok(kv, `KV shows ${m} as Master and the other as Backup`);
  });

  test('NATS down: failover is as fast, events queue, and arrive in order exactly once when it returns', async (t) => {
    await stopNats(nats!);
    nats = null;
    const a = daemons.get('a')!;
    assert.ok(await a.waitForLog((l) => l.msg === 'NATS connection lost; events are queued', 3000), 'the daemon logs the loss');
    const downTimes: number[] = [];
    for (let i = 0; i < 3; i++) {
      downTimes.push(await failover());
      await sleep(150);
    }
    const st = await a.status();
    assert.ok((st.events?.outbox?.inMemory ?? 0) + (st.events?.outbox?.spilled ?? 0) > 0, 'events are queued while NATS is down');
    nats = await startNats(lab);
    const events = await streamMatchesLogs(15_000);
    assertExactlyOnce(events);
    const up = median(upTimes);
    const down = median(downTimes);
    t.diagnostic(`failover ms: NATS up ${upTimes.map((x) => x.toFixed(0)).join(',')} / down ${downTimes.map((x) => x.toFixed(0)).join(',')}`);
    // Failover is Master_Down_Interval (~360 ms) minus where the last advert fell in its 100 ms period, plus the
    // reload's config load, which on a loaded 2-core CI machine varies with the load (up 802 ms, down 962 ms in one
    // run): the margin is the advert period's spread or a quarter of the time with NATS up, whichever is larger.
    const margin = Math.max(150, up / 4);
    assert.ok(
      Math.abs(down - up) <= margin,
      `failover with NATS down (${down.toFixed(0)} ms) matches NATS up (${up.toFixed(0)} ms) within ${margin.toFixed(0)} ms`,
    );
    // A stall bound, not the comparison above: with NATS up this takeover measured 806-1007 ms on a 2-core CI
    // machine (the reload's config load is most of it), so 1 s was the machine's own speed, not NATS; a daemon
    // that waited on NATS would take its 5 s connect timeout.
    assert.ok(down < 2000, `and stays well within a NATS connect timeout (${down.toFixed(0)} ms)`);
  });

  test('a daemon stopped with undelivered events delivers them after its restart', async () => {
    await stopNats(nats!);
    nats = null;
    const b = daemons.get('b')!;
    const a = daemons.get('a')!;
    assert.ok(await b.waitForLog((l) => l.msg === 'NATS connection lost; events are queued', 3000));
    const markA = a.transitions.length;
    assert.equal(await b.stop(8000), 0, 'b stops gracefully');
    assert.ok(b.lines.some((l) => l.msg === 'NATS not reachable at stop: undelivered events are kept for the next start'));
    await a.waitForState('master', 2000, markA);
    nats = await startNats(lab);
    // a drains; b's last events stay on b's disk.
    const before = await streamMatchesLogs(10_000, ['a']);
    assert.equal(before.filter((e) => e.node === 'b' && e.type === 'daemon.stop').length, 0, "b's stop is not delivered while b is down");
    await start('b', 'b0', 20);
    const ok = await pollUntil(
      async () => {
        const ev = await readEvents(lab, 'nats');
        return ev.filter((e) => e.node === 'b' && e.type === 'daemon.start').length === 2 && ev.some((e) => e.node === 'b' && e.type === 'daemon.stop')
          ? ev
          : undefined;
      },
      15_000,
      200,
    );
    assert.ok(ok, "b's saved events and its new start arrive");
    const bTypes = ok.filter((e) => e.node === 'b').map((e) => e.type);
    const stopAt = bTypes.indexOf('daemon.stop');
    assert.equal(bTypes.lastIndexOf('daemon.start'), stopAt + 1, 'the saved stop comes just before the new start');
    assertExactlyOnce(ok);
    await streamMatchesLogs(10_000);
  });

  test('NATS unreachable at start: the daemon runs and takes over; its events arrive once NATS is up', async () => {
    await stopNats(nats!);
    nats = null;
    const a = daemons.get('a')!;
    const old = daemons.get('b')!;
    assert.equal(await old.stop(8000), 0);
    const b = await start('b', 'b0', 100);
    assert.ok(await b.waitForLog((l) => l.msg === 'NATS unreachable; retrying in the background', 3000), 'b says NATS is unreachable');
    assert.ok(await b.waitForState('backup', 3000), 'b runs as Backup');
    const mark = b.transitions.length;
    const t0 = performance.now();
    assert.equal(await a.stop(8000), 0, 'a (Master) stops gracefully');
    const took = await b.waitForState('master', 3000, mark);
    assert.ok(took, 'b takes over without NATS');
    assert.ok(took.seenAt - t0 < 1500, `take-over within a bound (${(took.seenAt - t0).toFixed(0)} ms)`);
    nats = await startNats(lab);
    assert.ok(await b.waitForLog((l) => l.msg === 'NATS connection up', 5000), 'b connects when NATS appears');
    // a stopped while NATS was down: its last events wait in its outbox for its next start.
    const events = await streamMatchesLogs(15_000, ['b']);
    assertExactlyOnce(events);
  });
});
