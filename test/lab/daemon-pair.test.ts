// Real network: two `vipflow run` daemons (nodes a and b) share a VIP on a
// namespace lab (an IPv4 and an IPv6 instance each); node c is a client that
// fetches from both VIPs over HTTP
// (python3 http.server in a and b, each serving a file naming its node).
// Starts: a namespace lab, two vipflow daemons, two HTTP servers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../core/logger.js';
import { createLab, pollUntil, sleep, sweepStaleLabs, type Lab } from '../../lab/index.js';
import { confFile, type InstanceConf } from './daemon-conf.js';
import { addressesOf, holders, startVipflow, waitForHolder, type VipflowDaemon } from '../../lab/vipflow.js';

const logger = silentLogger();
const PREFIX = 'vfdtp';
const SUBNET = 120;
const VIP = `198.18.${SUBNET}.100`;
const EXCLUDED = `198.18.${SUBNET}.101`;
// A second instance per daemon, IPv6 (announced by unsolicited NA).
const VIP6 = `fd00:198:18:${SUBNET.toString(16)}::100`;
const NODES = ['a', 'b'] as const;
// v3, 100 ms adverts: Master_Down_Interval = 3 * 100 + Skew_Time.
const ADVERT_MS = 100;
const skewMs = (priority: number) => ((256 - priority) * ADVERT_MS) / 256;
const masterDownMs = (priority: number) => 3 * ADVERT_MS + skewMs(priority);

const instance = (priority: number, extra: Partial<InstanceConf> = {}): InstanceConf => ({
  name: 'VI_web',
  vrid: 20,
  version: 3,
  priority,
  advertInt: ADVERT_MS / 1000,
  vips: [`${VIP}/24`],
  excludedVips: [`${EXCLUDED}/24`],
  ...extra,
});

describe('vipflow + vipflow on a LAN', () => {
  let lab: Lab;
  const daemons = new Map<string, VipflowDaemon>();
  let runs = 0;

  const start = async (node: string, priority: number, extra: Partial<InstanceConf> = {}) => {
    const v6: InstanceConf = { ...instance(priority, extra), name: 'VI_web6', vrid: 21, vips: [`${VIP6}/64`] };
    delete v6.excludedVips;
    const d = await startVipflow(lab, node, `${node}${runs++}`, confFile(node, [instance(priority, extra), v6]));
    daemons.set(node, d);
    return d;
  };
  const fetchFromClient = async (host: string): Promise<string> => {
    const r = await lab.exec('c', 'curl', ['-s', '-g', '--max-time', '2', `http://${host}:8080/who.txt`], 5000);
    return r.code === 0 ? r.stdout.trim() : `curl failed (${r.code}): ${r.stderr.trim()}`;
  };
  /** Polls until the client's answers over both VIPs name `node` (ARP / neighbour caches follow the GARP / NA). */
  const clientReaches = async (node: string, timeoutMs = 3000) => {
    for (const host of [VIP, `[${VIP6}]`]) {
      const ok = await pollUntil(async () => ((await fetchFromClient(host)) === node ? true : undefined), timeoutMs, 50);
      if (!ok) return false;
    }
    return true;
  };
  const noTransitionTo = (d: VipflowDaemon, to: string, after: number) => d.transitions.slice(after).every((t) => t.to !== to);
  /** Both instances (IPv4 and IPv6) of `d` entered `to` after `mark`. */
  const both = async (d: VipflowDaemon, to: string, timeoutMs: number, mark = 0) =>
    (await d.waitForState(to, timeoutMs, mark, 'VI_web')) !== undefined && (await d.waitForState(to, timeoutMs, mark, 'VI_web6')) !== undefined;
  /** Signals a's daemon and waits for b to take over both instances; returns ms from the signal to b's VI_web transition, and its reason. */
  const handOver = async (a: VipflowDaemon, b: VipflowDaemon, signal: NodeJS.Signals): Promise<{ took: number; reason: string }> => {
    const mark = b.transitions.length;
    const signalledAt = performance.now();
    process.kill(a.pid, signal);
    const t = await b.waitForState('master', 3000, mark, 'VI_web');
    assert.ok(t, `b becomes Master after ${signal}`);
    assert.ok(await both(b, 'master', 1000, mark), 'of both instances');
    return { took: t.seenAt - signalledAt, reason: t.reason };
  };
  /** Polls until exactly `node` holds both VIPs. */
  const holdsBoth = async (node: string, timeoutMs = 2000) =>
    (await waitForHolder(lab, NODES, VIP, node, timeoutMs)) && (await waitForHolder(lab, NODES, VIP6, node, timeoutMs));

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['a', 'b', 'c'], subnet: SUBNET, logger });
    for (const node of NODES) {
      const root = join(lab.dir, `www-${node}`);
      mkdirSync(root);
      writeFileSync(join(root, 'who.txt'), `${node}\n`);
      lab.spawn(node, '/usr/bin/python3', ['-m', 'http.server', '--bind', '::', '--directory', root, '8080'], ['ignore', 'ignore', 'ignore']);
    }
  });
  after(async () => {
    for (const d of daemons.values()) await d.kill();
    await lab?.destroy();
  });

  test('election: the higher priority becomes Master, holds the VIP alone, and serves the client', async () => {
    const b = await start('b', 100);
    const a = await start('a', 150);
    assert.ok(await both(a, 'master', 3000), 'a (150) becomes Master');
    assert.ok(await both(b, 'backup', 3000), 'b (100) is Backup');
    assert.ok(await holdsBoth('a'), 'the VIPs are on a only');
    assert.deepEqual(await holders(lab, NODES, EXCLUDED), ['a'], 'the excluded VIP follows the Master too');
    // Watch for a while: one holder at every check, no further transition.
    const marks = [a.transitions.length, b.transitions.length];
    for (let i = 0; i < 10; i++) {
      assert.deepEqual(await holders(lab, NODES, VIP), ['a']);
      assert.deepEqual(await holders(lab, NODES, VIP6), ['a']);
      await sleep(50);
    }
    assert.equal(a.transitions.length, marks[0]);
    assert.equal(b.transitions.length, marks[1]);
    assert.ok(await clientReaches('a'), 'the client reaches a through the VIP');
  });

  test('SIGKILL of the Master: the Backup takes over after about Master_Down_Interval; the client follows', async () => {
    const a = daemons.get('a')!;
    const b = daemons.get('b')!;
    const { took, reason } = await handOver(a, b, 'SIGKILL');
    assert.equal(reason, 'master-down-timer');
    // The last advert a sent arrived up to one interval before the kill.
    const low = masterDownMs(100) - ADVERT_MS - 20;
    const high = masterDownMs(100) + 250;
    console.log(`# SIGKILL takeover: ${took.toFixed(0)} ms (Master_Down_Interval ${masterDownMs(100).toFixed(0)} ms)`);
    assert.ok(took >= low && took <= high, `takeover after ${took.toFixed(0)} ms, expected ${low.toFixed(0)}..${high.toFixed(0)}`);
    await a.exited;
    // A killed daemon cannot remove its VIP: b must have it, and the client must follow b's GARP.
    assert.ok((await holders(lab, NODES, VIP)).includes('b'));
    assert.ok((await holders(lab, NODES, VIP6)).includes('b'));
    assert.ok(await clientReaches('b'), 'the client reaches b after the failover');
  });

  test('preempt: the higher priority comes back, removes its stale VIP at start, and takes over', async () => {
    const b = daemons.get('b')!;
    const mark = b.transitions.length;
    const a = await start('a', 150);
    assert.ok(
      a.lines.some((l) => l.msg === 'removed stale VIPs left by an earlier run'),
      'stale VIP removed at start',
    );
    assert.ok(await both(a, 'master', 3000), 'a preempts');
    assert.ok(await both(b, 'backup', 3000, mark), 'b steps down');
    assert.ok(await holdsBoth('a'), 'the VIPs are on a only');
    assert.ok(await clientReaches('a'));
  });

  test('SIGTERM of the Master: priority 0, takeover after about Skew_Time, the VIP never absent', async () => {
    const a = daemons.get('a')!;
    const b = daemons.get('b')!;
    const samples: string[][] = [];
    let polling = true;
    const poller = (async () => {
      for (let i = 0; polling && i < 500; i++) {
        // In handover order, the old holder read before the new one: reads
        // made at once can straddle the instant the VIP moves and see neither.
        const [atA, atB] = [await addressesOf(lab, 'a'), await addressesOf(lab, 'b')];
        samples.push(
          NODES.filter((n) => (n === 'a' ? atA : atB).has(VIP)),
          NODES.filter((n) => (n === 'a' ? atA : atB).has(VIP6)),
        );
        await sleep(20);
      }
    })();
    await sleep(100);
    const { took, reason } = await handOver(a, b, 'SIGTERM');
    assert.equal(reason, 'priority-zero-skew');
    console.log(`# SIGTERM takeover: ${took.toFixed(0)} ms (Skew_Time ${skewMs(100).toFixed(0)} ms)`);
    // Well under Master_Down_Interval: the priority-0 advert cut the wait to Skew_Time.
    assert.ok(took < masterDownMs(100) - 50, `takeover after ${took.toFixed(0)} ms`);
    assert.equal(await a.exited, 0, 'graceful exit');
    assert.equal(a.lines.filter((l) => l.msg === 'new master heard: releasing VIPs').length, 2, 'make-before-break: a waited for b, on both instances');
    await sleep(100);
    polling = false;
    await poller;
    assert.ok(samples.length >= 5, `enough samples (${samples.length})`);
    const gaps = samples.filter((s) => s.length === 0).length;
    assert.equal(gaps, 0, `the VIP was absent from both nodes in ${gaps} of ${samples.length} samples`);
    assert.deepEqual(samples.slice(-2), [['b'], ['b']]);
    assert.deepEqual(await holders(lab, NODES, EXCLUDED), ['b'], 'the excluded VIP moved with it');
    assert.ok(await clientReaches('b'));
  });

  test("the Master's link goes down: it goes FAULT and drops the VIP, the Backup takes over; back up, it preempts", async () => {
    const b = daemons.get('b')!;
    const a = await start('a', 150);
    assert.ok(await both(a, 'master', 3000));
    assert.ok(await holdsBoth('a'));
    const markA = a.transitions.length;
    const markB = b.transitions.length;
    assert.equal((await lab.exec('a', 'ip', ['link', 'set', 'eth0', 'down'])).code, 0);
    assert.ok(await both(a, 'fault', 2000, markA), 'a goes FAULT');
    assert.ok(await both(b, 'master', 2000, markB), 'b takes over');
    assert.ok(await holdsBoth('b'), 'the VIPs are on b only');
    assert.ok(await clientReaches('b'));

    const markA2 = a.transitions.length;
    assert.equal((await lab.exec('a', 'ip', ['link', 'set', 'eth0', 'up'])).code, 0);
    assert.ok(await both(a, 'master', 4000, markA2), 'a preempts once its link is back');
    assert.ok(await holdsBoth('a'));
    assert.ok(await clientReaches('a'));
  });

  test("the Backup's link flaps: FAULT, then Backup again, and it stays Backup (it still hears the Master)", async () => {
    const b = daemons.get('b')!;
    const mark = b.transitions.length;
    assert.equal((await lab.exec('b', 'ip', ['link', 'set', 'eth0', 'down'])).code, 0);
    assert.ok(await both(b, 'fault', 2000, mark), 'b goes FAULT');
    assert.equal((await lab.exec('b', 'ip', ['link', 'set', 'eth0', 'up'])).code, 0);
    assert.ok(await both(b, 'backup', 2000, mark), 'b is Backup again');
    // Ten of a's intervals: deaf to a, b would take over after ~0.36 s.
    await sleep(1000);
    assert.ok(noTransitionTo(b, 'master', mark), `b stayed Backup: ${JSON.stringify(b.transitions.slice(mark))}`);
    assert.ok(await holdsBoth('a'));
  });

  test('nopreempt: the higher priority comes back and stays Backup', async () => {
    const a = daemons.get('a')!;
    const b = daemons.get('b')!;
    const mark = b.transitions.length;
    process.kill(a.pid, 'SIGTERM');
    assert.ok(await both(b, 'master', 3000, mark));
    await a.exited;
    assert.ok(await holdsBoth('b'));
    const a2 = await start('a', 150, { nopreempt: true });
    assert.ok(await both(a2, 'backup', 3000));
    // Ten advert intervals and then some: a preempting Backup would have taken over.
    for (let i = 0; i < 15; i++) {
      assert.deepEqual(await holders(lab, NODES, VIP), ['b']);
      assert.deepEqual(await holders(lab, NODES, VIP6), ['b']);
      await sleep(50);
    }
    assert.ok(noTransitionTo(a2, 'master', 0), 'a stayed Backup');
    assert.ok(await clientReaches('b'));
  });
});
