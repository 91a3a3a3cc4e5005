// Real network: one `vipflow run` daemon (node v) and its operator surface:
// `vipflow status` (text and --json), SIGUSR1 dump, SIGHUP reload (priority
// change applied live; a broken file refused), graceful exit, and the
// refusal to run without CAP_NET_RAW. Node w listens to its adverts.
// Starts: a namespace lab, vipflow daemons, a raw socket in w.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DaemonStatus } from '../../daemon/daemon.js';
import { silentLogger } from '../../core/logger.js';
import { createLab, pollUntil, sleep, sweepStaleLabs, type Lab } from '../../lab/index.js';
import { decodeVrrp, parseAddress } from '../../wire/codec/index.js';
import { openVrrpSocket, type VrrpSocket } from '../../wire/socket/index.js';
import { confFile, type InstanceConf } from './daemon-conf.js';
import { collect, type PacketCollector } from './packet-collector.js';
import { addressesOf, startVipflow, type VipflowDaemon } from '../../lab/vipflow.js';
import { vipflowAsUser } from '../../lab/as-user.js';

const logger = silentLogger();
const PREFIX = 'vfdtc';
const SUBNET = 124;
const VIP = `198.18.${SUBNET}.100`;
const VIP2 = `198.18.${SUBNET}.101`;

const inst = (priority: number): InstanceConf => ({ name: 'VI_ctl', vrid: 60, version: 3, priority, advertInt: 0.1, vips: [`${VIP}/24`] });

describe('vipflow run: status, dump, reload, exit', () => {
  let lab: Lab;
  let daemon: VipflowDaemon;
  let listener: VrrpSocket;
  let heard: PacketCollector;
  const priorityOf = (payload: Buffer, source: Uint8Array) => {
    const d = decodeVrrp(payload, { source, destination: parseAddress('224.0.0.18')! });
    return d.ok ? d.packet.priority : -1;
  };
  /** Whether node w hears an advert with `priority` among those arriving from now on. */
  const hearsPriority = async (priority: number) => {
    const since = heard.packets.length;
    const seen = await pollUntil(() => (heard.packets.slice(since).some((p) => priorityOf(p.payload, p.source) === priority) ? true : undefined), 2000, 20);
    return seen === true;
  };

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['v', 'w'], subnet: SUBNET, ipv6: false, logger });
    const r = openVrrpSocket({ family: 4, interface: 'eth0', netns: lab.node('w').ns, mode: 'multicast', logger });
    assert.ok(r.ok);
    listener = r.value;
    heard = collect(listener);
    daemon = await startVipflow(lab, 'v', 'v', confFile('v', [inst(150)]));
    assert.ok(await daemon.waitForState('master', 3000));
  });
  after(async () => {
    listener?.close();
    await daemon?.kill();
    await lab?.destroy();
  });

  test('vipflow status --json: the instance, its counters and the wire', async () => {
    const s: DaemonStatus = await daemon.status();
    assert.equal(s.pid > 0, true);
    assert.equal(s.configPath, daemon.configPath);
    assert.equal(s.instances.length, 1);
    const i = s.instances[0]!;
    assert.equal(i.name, 'VI_ctl');
    assert.equal(i.vrid, 60);
    assert.equal(i.version, 3);
    assert.equal(i.state, 'master');
    assert.equal(i.basePriority, 150);
    assert.equal(i.advertIntervalCs, 10);
    assert.equal(i.source, lab.node('v').ipv4);
    assert.equal(i.lastMaster, lab.node('v').ipv4);
    assert.ok((i.counters.advertsSent ?? 0) > 0, 'adverts sent');
    assert.deepEqual(i.vips, [`${VIP}/24 dev eth0`]);
    assert.equal(s.wire.sockets, 1);
    assert.ok(s.recentTransitions.some((t) => t.to === 'master' && t.instance === 'VI_ctl'));
    assert.deepEqual(s.reloads, { ok: 0, refused: 0 });
  });

  test('vipflow status (text): one line per instance', async () => {
    const r = await daemon.cli(['status', '--state-dir', daemon.stateDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^vipflow pid \d+, up \d+ s, config /);
    assert.match(r.stdout, /wire: 1 sockets/);
    assert.match(r.stdout, new RegExp(`VI_ctl +vrid 60 +v3 eth0 MASTER +prio 150/150 master ${lab.node('v').ipv4!.replace(/\./g, '\\.')} sent \\d+`));
  });

  test('vipflow status without a daemon: exit 1 naming the socket; exit 4 for a state dir that does not exist', async () => {
    const empty = join(lab.dir, 'nothing-here');
    mkdirSync(empty);
    const r = await daemon.cli(['status', '--state-dir', empty]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no daemon answers on .*nothing-here\/control\.sock/);
    const missing = await daemon.cli(['status', '--state-dir', join(lab.dir, 'not-created')]);
    assert.equal(missing.code, 4);
    assert.match(missing.stderr, /state directory .*not-created does not exist/);
  });

  test('a second daemon on the same state dir is refused', async () => {
    const r = await daemon.cli(['run', '--config', daemon.configPath, '--state-dir', daemon.stateDir]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`another vipflow \\(pid ${daemon.pid}\\) runs with state dir`));
    assert.equal((await daemon.status()).instances[0]!.state, 'master', 'the first one is unaffected');
  });

  test('SIGUSR1 writes vipflow.dump.json in the state dir', async () => {
    const path = join(daemon.stateDir, 'vipflow.dump.json');
    assert.equal(existsSync(path), false);
    daemon.signal('SIGUSR1');
    assert.ok(await daemon.waitForLog((l) => l.msg === 'status dump written', 2000));
    const dump = JSON.parse(readFileSync(path, 'utf8')) as DaemonStatus;
    assert.equal(dump.instances[0]?.name, 'VI_ctl');
    assert.equal(dump.instances[0]?.state, 'master');
    assert.equal(dump.pid, (await daemon.status()).pid);
  });

  test('SIGHUP with a changed priority: applied live, no transition, adverts carry it', async () => {
    const mark = daemon.transitions.length;
    daemon.writeConfig(confFile('v', [inst(120)]));
    daemon.signal('SIGHUP');
    assert.ok(await daemon.waitForLog((l) => l.msg === 'configuration reloaded', 3000));
    assert.ok(daemon.lines.some((l) => l.msg === 'priority changed by reload' && l.priority === 120));
    assert.ok(await hearsPriority(120), 'adverts carry priority 120');
    const s = await daemon.status();
    assert.equal(s.instances[0]!.basePriority, 120);
    assert.equal(s.instances[0]!.state, 'master');
    assert.deepEqual(s.reloads, { ok: 1, refused: 0 });
    assert.equal(daemon.transitions.length, mark, 'no transition');
  });

  test('SIGHUP with a changed VIP list: applied live by the Master, no transition, adverts list the new address', async () => {
    const mark = daemon.transitions.length;
    const advertisesOnly = async (address: string) => {
      const since = heard.packets.length;
      const seen = await pollUntil(
        () => {
          for (const p of heard.packets.slice(since)) {
            const d = decodeVrrp(p.payload, { source: p.source, destination: parseAddress('224.0.0.18')! });
            if (d.ok && d.packet.addresses.length === 1 && d.packet.addresses[0]!.join('.') === address) return true;
          }
          return undefined;
        },
        2000,
        20,
      );
      return seen === true;
    };
    const reloadedSince = async (since: number) =>
      (await pollUntil(() => (daemon.lines.slice(since).some((l) => l.msg === 'configuration reloaded') ? true : undefined), 3000, 20)) === true;
    let since = daemon.lines.length;
    daemon.writeConfig(confFile('v', [{ ...inst(120), vips: [`${VIP2}/24`] }]));
    daemon.signal('SIGHUP');
    assert.ok(await reloadedSince(since), 'reloaded');
    assert.ok(
      daemon.lines.slice(since).some((l) => l.msg === 'addresses changed by reload'),
      'logged as a live address change',
    );
    const addrs = await addressesOf(lab, 'v');
    assert.ok(addrs.has(VIP2), 'the new VIP is on the Master');
    assert.ok(!addrs.has(VIP), 'the dropped VIP is gone');
    assert.ok(await advertisesOnly(VIP2), 'adverts carry the new address list');
    assert.equal((await daemon.status()).instances[0]!.state, 'master');
    // Back to the original list for the tests that follow.
    since = daemon.lines.length;
    daemon.writeConfig(confFile('v', [inst(120)]));
    daemon.signal('SIGHUP');
    assert.ok(await reloadedSince(since), 'reloaded back');
    assert.ok(await pollUntil(async () => ((await addressesOf(lab, 'v')).has(VIP) ? true : undefined), 3000, 20), 'original VIP restored');
    assert.ok(!(await addressesOf(lab, 'v')).has(VIP2), 'second VIP removed again');
    assert.equal(daemon.transitions.length, mark, 'no transition');
  });

  test('SIGHUP with an unchanged file keeps the instance untouched', async () => {
    const mark = daemon.transitions.length;
    daemon.signal('SIGHUP');
    assert.ok(await daemon.waitForLog((l) => l.msg === 'configuration reloaded' && l.kept === 1, 3000));
    assert.equal(daemon.transitions.length, mark);
  });

  test('SIGHUP with a broken file: refused, the daemon keeps running the previous configuration', async () => {
    const mark = daemon.transitions.length;
    daemon.writeConfig('vrrp_instance VI_ctl {\n  interface eth0\n  virtual_router_id 999\n');
    daemon.signal('SIGHUP');
    assert.ok(await daemon.waitForLog((l) => /reload refused/.test(l.msg), 3000));
    const s = await daemon.status();
    assert.deepEqual(s.reloads, { ok: 4, refused: 1 });
    assert.equal(s.instances[0]!.state, 'master');
    assert.equal(s.instances[0]!.basePriority, 120);
    assert.equal(daemon.transitions.length, mark);
    assert.ok(await hearsPriority(120), 'still advertising priority 120');
  });

  test('SIGHUP adding then removing an instance: the other one runs on untouched', async () => {
    const two: InstanceConf = { name: 'VI_two', vrid: 61, version: 3, priority: 150, advertInt: 0.1, vips: [`${VIP2}/24`] };
    daemon.writeConfig(confFile('v', [inst(120), two]));
    daemon.signal('SIGHUP');
    assert.ok(await daemon.waitForLog((l) => l.msg === 'configuration reloaded' && l.added === 1, 3000));
    const twoMaster = () => (daemon.transitions.some((x) => x.instance === 'VI_two' && x.to === 'master') ? true : undefined);
    assert.ok(await pollUntil(twoMaster, 2000), 'VI_two Master');
    let s = await daemon.status();
    assert.deepEqual(s.instances.map((i) => [i.name, i.state]).sort(), [
      ['VI_ctl', 'master'],
      ['VI_two', 'master'],
    ]);
    assert.equal(s.wire.sockets, 1, 'both instances share one socket');
    const addrs = (await lab.exec('v', 'ip', ['-j', 'addr', 'show', 'dev', 'eth0'])).stdout;
    assert.ok(addrs.includes(VIP) && addrs.includes(VIP2));

    daemon.writeConfig(confFile('v', [{ ...two }]));
    daemon.signal('SIGHUP');
    assert.ok(await daemon.waitForLog((l) => l.msg === 'instance removed by reload' && l.instance === 'VI_ctl', 3000));
    assert.ok(await daemon.waitForLog((l) => l.msg === 'configuration reloaded' && l.kept === 1, 3000));
    s = await daemon.status();
    assert.deepEqual(
      s.instances.map((i) => [i.name, i.state]),
      [['VI_two', 'master']],
    );
    assert.equal(s.wire.sockets, 1);
    const after = (await lab.exec('v', 'ip', ['-j', 'addr', 'show', 'dev', 'eth0'])).stdout;
    assert.equal(after.includes(`"${VIP}"`), false, 'the removed instance released its VIP');
    assert.ok(after.includes(VIP2), 'the kept instance keeps its VIP');
    assert.equal(daemon.transitions.filter((x) => x.instance === 'VI_two' && x.from === 'master').length, 0, 'VI_two never left Master');
    // Adverts keep flowing for VI_two on the shared socket.
    const since = heard.packets.length;
    assert.ok(await pollUntil(() => (heard.packets.slice(since).some((p) => p.payload[1] === 61) ? true : undefined), 2000), 'VI_two still advertises');
  });

  test('a SIGHUP that arrives while a reload is still running is applied after it, not lost', async () => {
    const two: InstanceConf = { name: 'VI_two', vrid: 61, version: 3, priority: 150, advertInt: 0.2, vips: [`${VIP2}/24`] };
    // An interval change restarts the Master, which first waits for a successor (none here: ~0.8 s).
    const mark = daemon.transitions.length;
    daemon.writeConfig(confFile('v', [two]));
    daemon.signal('SIGHUP');
    // The first reload has read the file and is waiting in the Master's stop.
    assert.ok(await daemon.waitForState('stopped', 2000, mark, 'VI_two'));
    daemon.writeConfig(confFile('v', [{ ...two, priority: 140 }]));
    daemon.signal('SIGHUP');
    const applied = await pollUntil(
      async () => {
        const st = await daemon.status();
        const i = st.instances[0];
        return i && i.basePriority === 140 && i.advertIntervalCs === 20 ? true : undefined;
      },
      5000,
      100,
    );
    if (!applied)
      console.log(
        daemon.lines
          .slice(-30)
          .map((l) => JSON.stringify(l))
          .join('\n'),
      );
    assert.ok(applied, `the second edit was applied: ${JSON.stringify((await daemon.status()).instances.map((i) => [i.basePriority, i.advertIntervalCs]))}`);
  });

  test('SIGTERM: exit 0, the VIP, the pid file and the control socket are gone', async () => {
    daemon.signal('SIGTERM');
    assert.equal(await daemon.exited, 0);
    assert.equal(existsSync(join(daemon.stateDir, 'vipflow.pid')), false);
    assert.equal(existsSync(join(daemon.stateDir, 'control.sock')), false);
    const r = await lab.exec('v', 'ip', ['-j', 'addr', 'show', 'dev', 'eth0']);
    assert.equal(r.stdout.includes(VIP), false);
    assert.equal(r.stdout.includes(VIP2), false);
    // With nobody else on the LAN the handover waited its bound, then released the VIP.
    assert.ok(daemon.lines.some((l) => l.msg === 'no new master within Master_Down_Interval: releasing VIPs'));
  });

  test('a second SIGTERM during the handover wait does not cut it short: exit 0, VIP released', async () => {
    // 500 ms adverts: without a peer the make-before-break wait lasts ~2 s.
    const d = await startVipflow(lab, 'v', 'v-twice', confFile('v', [{ ...inst(150), advertInt: 0.5 }]));
    assert.ok(await d.waitForState('master', 4000));
    d.signal('SIGTERM');
    assert.ok(await d.waitForLog((l) => l.msg === 'stopping', 2000));
    d.signal('SIGTERM');
    d.signal('SIGINT');
    assert.equal(await d.exited, 0, 'graceful exit despite the repeated signals');
    const r = await lab.exec('v', 'ip', ['-j', 'addr', 'show', 'dev', 'eth0']);
    assert.equal(r.stdout.includes(VIP), false, 'the VIP was released');
  });

  test('SIGTERM while a reload waits for a handover: the daemon exits and leaves no VIP behind', async () => {
    const base: InstanceConf = { ...inst(150), advertInt: 0.5 };
    const d = await startVipflow(lab, 'v', 'v-hup-term', confFile('v', [base]));
    assert.ok(await d.waitForState('master', 4000));
    const mark = d.transitions.length;
    d.writeConfig(confFile('v', [{ ...base, advertInt: 0.4 }]));
    d.signal('SIGHUP');
    // The reload stops the Master (priority 0, then up to ~2 s waiting for a successor).
    assert.ok(await d.waitForState('stopped', 2000, mark));
    d.signal('SIGTERM');
    const exit = await Promise.race([d.exited, sleep(8000).then(() => 'still running')]);
    assert.equal(exit, 0, 'exit 0');
    const r = await lab.exec('v', 'ip', ['-j', 'addr', 'show', 'dev', 'eth0']);
    assert.equal(r.stdout.includes(VIP), false, 'the VIP was released');
    assert.ok(
      d.transitions.slice(mark).every((t) => t.to !== 'master'),
      `no instance started after the stop: ${JSON.stringify(d.transitions.slice(mark))}`,
    );
  });

  test('a configuration with errors at start: exit 1, diagnostics with file:line on stderr', async () => {
    const d = await startVipflow(lab, 'v', 'v-broken', 'vrrp_instance VI_x {\n  interface eth0\n  virtual_router_id 999\n}\n', { waitReady: false });
    assert.equal(await d.exited, 1);
    assert.match(d.stderr(), /vipflow-v-broken\.conf:3:\d+: error: /);
  });

  test('an interface missing on the host: exit 1 naming it', async () => {
    const d = await startVipflow(lab, 'v', 'v-noif', confFile('v', [{ ...inst(150), interface: 'eth7' }]), { waitReady: false });
    assert.equal(await d.exited, 1);
    assert.match(d.stderr(), /interface eth7 for vrrp_instance VI_ctl does not exist on this host/);
  });

  test('link down at start: FAULT without the VIP; link up: it becomes Master', async () => {
    assert.equal((await lab.exec('v', 'ip', ['link', 'set', 'eth0', 'down'])).code, 0);
    try {
      const d = await startVipflow(lab, 'v', 'v-down', confFile('v', [inst(150)]));
      assert.ok(await d.waitForState('fault', 2000), 'FAULT while the link is down');
      await sleep(400);
      assert.ok(
        d.transitions.every((t) => t.to !== 'master'),
        'not Master while down',
      );
      assert.equal((await lab.exec('v', 'ip', ['-j', 'addr', 'show', 'dev', 'eth0'])).stdout.includes(VIP), false);
      assert.equal((await lab.exec('v', 'ip', ['link', 'set', 'eth0', 'up'])).code, 0);
      assert.ok(await d.waitForState('master', 3000), 'Master once the link is up');
      assert.ok(
        await pollUntil(async () => ((await lab.exec('v', 'ip', ['-j', 'addr', 'show', 'dev', 'eth0'])).stdout.includes(VIP) ? true : undefined), 2000),
      );
      await d.stop();
    } finally {
      await lab.exec('v', 'ip', ['link', 'set', 'eth0', 'up']);
    }
  });

  test('without CAP_NET_RAW (an unprivileged user): exit 3 (not permitted) with a message naming it', async () => {
    // The checkout may be unreadable to uid 65534 (a clone under a 0700 home): then it runs a readable copy.
    const asNobody = await vipflowAsUser(65534, 65534);
    try {
      const [cmd, ...args] = asNobody.argv;
      const r = await lab.exec('v', cmd!, [...args, 'run', '--config', daemon.configPath, '--state-dir', join(lab.dir, 'nobody-state')], 20_000);
      assert.equal(r.code, 3, `exit ${r.code}: ${r.stderr}`);
      assert.match(r.stderr, /CAP_NET_RAW/);
    } finally {
      asNobody.cleanup();
    }
  });
});
