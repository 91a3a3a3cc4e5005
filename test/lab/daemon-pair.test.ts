// Real network: two `vipflow run` daemons (nodes a and b) share a VIP on a
// namespace lab; node c is a client that fetches from the VIP over HTTP
// (python3 http.server in a and b, each serving a file naming its node).
// Starts: a namespace lab, two vipflow daemons, two HTTP servers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../infra/logger.js';
import { createLab, pollUntil, sleep, sweepStaleLabs, type Lab } from '../../infra/lab/index.js';
import { confFile, type InstanceConf } from './daemon-conf.js';
import { holders, startVipflow, waitForHolder, type VipflowDaemon } from './vipflow-daemon.js';

const logger = silentLogger();
const PREFIX = 'vfdtp';
const SUBNET = 120;
const VIP = `198.18.${SUBNET}.100`;
const EXCLUDED = `198.18.${SUBNET}.101`;
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
    const d = await startVipflow(lab, node, `${node}${runs++}`, confFile(node, [instance(priority, extra)]));
    daemons.set(node, d);
    return d;
  };
  const fetchFromClient = async (): Promise<string> => {
    const r = await lab.exec('c', 'curl', ['-s', '--max-time', '2', `http://${VIP}:8080/who.txt`], 5000);
    return r.code === 0 ? r.stdout.trim() : `curl failed (${r.code}): ${r.stderr.trim()}`;
  };
  /** Polls until the client's answer names `node` (ARP caches follow the GARP). */
  const clientReaches = async (node: string, timeoutMs = 3000) =>
    (await pollUntil(async () => ((await fetchFromClient()) === node ? true : undefined), timeoutMs, 50)) === true;
  const noTransitionTo = (d: VipflowDaemon, to: string, after: number) => d.transitions.slice(after).every((t) => t.to !== to);

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['a', 'b', 'c'], subnet: SUBNET, ipv6: false, logger });
    for (const node of NODES) {
      const root = join(lab.dir, `www-${node}`);
      mkdirSync(root);
      writeFileSync(join(root, 'who.txt'), `${node}\n`);
      lab.spawn(node, '/usr/bin/python3', ['-m', 'http.server', '--bind', '0.0.0.0', '--directory', root, '8080'], ['ignore', 'ignore', 'ignore']);
    }
  });
  after(async () => {
    for (const d of daemons.values()) await d.kill();
    await lab?.destroy();
  });

  test('election: the higher priority becomes Master, holds the VIP alone, and serves the client', async () => {
    const b = await start('b', 100);
    const a = await start('a', 150);
    assert.ok(await a.waitForState('master', 3000), 'a (150) becomes Master');
    assert.ok(await b.waitForState('backup', 3000), 'b (100) is Backup');
    assert.ok(await waitForHolder(lab, NODES, VIP, 'a', 2000), 'the VIP is on a only');
    assert.deepEqual(await holders(lab, NODES, EXCLUDED), ['a'], 'the excluded VIP follows the Master too');
    // Watch for a while: one holder at every check, no further transition.
    const marks = [a.transitions.length, b.transitions.length];
    for (let i = 0; i < 10; i++) {
      assert.deepEqual(await holders(lab, NODES, VIP), ['a']);
      await sleep(50);
    }
    assert.equal(a.transitions.length, marks[0]);
    assert.equal(b.transitions.length, marks[1]);
    assert.ok(await clientReaches('a'), 'the client reaches a through the VIP');
  });

  test('SIGKILL of the Master: the Backup takes over after about Master_Down_Interval; the client follows', async () => {
    const a = daemons.get('a')!;
    const b = daemons.get('b')!;
    const mark = b.transitions.length;
    const killedAt = performance.now();
    process.kill(a.pid, 'SIGKILL');
    const t = await b.waitForState('master', 3000, mark);
    assert.ok(t, 'b becomes Master');
    const took = t.seenAt - killedAt;
    // The last advert a sent arrived up to one interval before the kill.
    const low = masterDownMs(100) - ADVERT_MS - 20;
    const high = masterDownMs(100) + 250;
    console.log(`# SIGKILL takeover: ${took.toFixed(0)} ms (Master_Down_Interval ${masterDownMs(100).toFixed(0)} ms)`);
    assert.ok(took >= low && took <= high, `takeover after ${took.toFixed(0)} ms, expected ${low.toFixed(0)}..${high.toFixed(0)}`);
    await a.exited;
    // A killed daemon cannot remove its VIP: b must have it, and the client must follow b's GARP.
    assert.ok((await holders(lab, NODES, VIP)).includes('b'));
    assert.ok(await clientReaches('b'), 'the client reaches b after the failover');
  });

  test('preempt: the higher priority comes back, removes its stale VIP at start, and takes over', async () => {
    const b = daemons.get('b')!;
    const mark = b.transitions.length;
    const a = await start('a', 150);
    assert.ok(a.lines.some((l) => l.msg === 'removed stale VIPs left by an earlier run'), 'stale VIP removed at start');
    assert.ok(await a.waitForState('master', 3000), 'a preempts');
    assert.ok(await b.waitForState('backup', 3000, mark), 'b steps down');
    assert.ok(await waitForHolder(lab, NODES, VIP, 'a', 2000), 'the VIP is on a only');
    assert.ok(await clientReaches('a'));
  });

  test('SIGTERM of the Master: priority 0, takeover after about Skew_Time, the VIP never absent', async () => {
    const a = daemons.get('a')!;
    const b = daemons.get('b')!;
    const mark = b.transitions.length;
    const samples: string[][] = [];
    let polling = true;
    const poller = (async () => {
      for (let i = 0; polling && i < 500; i++) {
        samples.push(await holders(lab, NODES, VIP));
        await sleep(20);
      }
    })();
    await sleep(100);
    const termAt = performance.now();
    process.kill(a.pid, 'SIGTERM');
    const t = await b.waitForState('master', 3000, mark);
    assert.ok(t, 'b becomes Master');
    const took = t.seenAt - termAt;
    console.log(`# SIGTERM takeover: ${took.toFixed(0)} ms (Skew_Time ${skewMs(100).toFixed(0)} ms)`);
    assert.equal(t.reason.length > 0, true);
    // Well under Master_Down_Interval: the priority-0 advert cut the wait to Skew_Time.
    assert.ok(took < masterDownMs(100) - 50, `takeover after ${took.toFixed(0)} ms`);
    assert.equal(await a.exited, 0, 'graceful exit');
    assert.ok(a.lines.some((l) => l.msg === 'new master heard: releasing VIPs'), 'make-before-break: a waited for b');
    await sleep(100);
    polling = false;
    await poller;
    assert.ok(samples.length >= 5, `enough samples (${samples.length})`);
    const gaps = samples.filter((s) => s.length === 0).length;
    assert.equal(gaps, 0, `the VIP was absent from both nodes in ${gaps} of ${samples.length} samples`);
    assert.deepEqual(samples.at(-1), ['b']);
    assert.deepEqual(await holders(lab, NODES, EXCLUDED), ['b'], 'the excluded VIP moved with it');
    assert.ok(await clientReaches('b'));
  });

  test("the Master's link goes down: it goes FAULT and drops the VIP, the Backup takes over; back up, it preempts", async () => {
    const b = daemons.get('b')!;
    const a = await start('a', 150);
    assert.ok(await a.waitForState('master', 3000));
    assert.ok(await waitForHolder(lab, NODES, VIP, 'a', 2000));
    const markA = a.transitions.length;
    const markB = b.transitions.length;
    assert.equal((await lab.exec('a', 'ip', ['link', 'set', 'eth0', 'down'])).code, 0);
    assert.ok(await a.waitForState('fault', 2000, markA), 'a goes FAULT');
    assert.ok(await b.waitForState('master', 2000, markB), 'b takes over');
    assert.ok(await waitForHolder(lab, NODES, VIP, 'b', 2000), 'the VIP is on b only');
    assert.ok(await clientReaches('b'));

    const markA2 = a.transitions.length;
    assert.equal((await lab.exec('a', 'ip', ['link', 'set', 'eth0', 'up'])).code, 0);
    assert.ok(await a.waitForState('master', 4000, markA2), 'a preempts once its link is back');
    assert.ok(await waitForHolder(lab, NODES, VIP, 'a', 2000));
    assert.ok(await clientReaches('a'));
  });

  test('nopreempt: the higher priority comes back and stays Backup', async () => {
    const a = daemons.get('a')!;
    const b = daemons.get('b')!;
    const mark = b.transitions.length;
    process.kill(a.pid, 'SIGTERM');
    assert.ok(await b.waitForState('master', 3000, mark));
    await a.exited;
    assert.ok(await waitForHolder(lab, NODES, VIP, 'b', 2000));
    const a2 = await start('a', 150, { nopreempt: true });
    assert.ok(await a2.waitForState('backup', 3000));
    // Ten advert intervals and then some: a preempting Backup would have taken over.
    for (let i = 0; i < 15; i++) {
      assert.deepEqual(await holders(lab, NODES, VIP), ['b']);
      await sleep(50);
    }
    assert.ok(noTransitionTo(a2, 'master', 0), 'a stayed Backup');
    assert.ok(await clientReaches('b'));
  });
});
