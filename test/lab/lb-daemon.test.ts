// Real network, real daemons: issue 12's load balancer end to end, in
// keepalived's LVS-NAT example topology.
//
//   client `lbd-cl` (198.18.3.10)
//        | outside net 198.18.3.0/24 (bridge ns `lbd-obr`), VIP 198.18.3.100
//   lb1 (eth1 .3.1)     lb2 (eth1 .3.2)        each runs `vipflow run`: VRRP for the
//   lb1 (eth0 .2.1)     lb2 (eth0 .2.2)        outside VIP and the inside gateway VIP
//        | inside net 198.18.2.0/24 (lab bridge), gateway VIP 198.18.2.254, one sync group
//   rs1 .2.3  rs2 .2.4  rs3 .2.5  sorry .2.6   tiny node HTTP servers answering their name,
//                                              default route via the gateway VIP
//
// ip_forward is on in lb1 and lb2 only. Each daemon balances with nftables (the
// kernel has no IPVS), driven by its TCP_CHECK checkers. Debian's conntrackd runs
// in each LB over a dedicated veth (sync0, 198.18.4.0/30), driven by the daemons'
// conntrackd.sync workflow step on VI_OUT's MASTER / BACKUP / FAULT; the LBs have
// nf_conntrack_tcp_loose off, so only a synced entry keeps a connection across
// the failover.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../core/logger.js';
import { createLab, run, sweepStaleLabs, type Lab } from '../../lab/index.js';
import { register, release, type CleanupRecord } from '../../lab/cleanup.js';
import { pollUntil, sleep } from '../../lab/run.js';
import { vipflowCommand, waitForHolder } from '../../lab/vipflow.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCheckDaemon, globalDefs, detectionBounds, ms, type CheckDaemon } from './checks-lab.js';
import type { LoadBalancerStatus } from '../../daemon/load-balancer.js';
import { renderConntrackdConf } from '../../infra/lb/conntrackd-conf.js';
import { NAMED_HTTP_SERVER, SLOW_DOWNLOAD } from './lb-programs.js';

const logger = silentLogger();
const PREFIX = 'lbd';
const CLIENT_NS = `${PREFIX}-cl`;
const OUT_BR_NS = `${PREFIX}-obr`;
const VIP = '198.18.3.100';
const VIP6 = 'fd00:198:18:3::100';
const GW = '198.18.2.254';
const GW6 = 'fd00:198:18:2::fe';
const LBS = ['lb1', 'lb2'] as const;
/** The dedicated conntrackd link between the LBs. */
const SYNC: Record<string, string> = { lb1: '198.18.4.1', lb2: '198.18.4.2' };
const RS = ['rs1', 'rs2', 'rs3'] as const;
const WEIGHTS: Record<string, number> = { rs1: 3, rs2: 2, rs3: 1 };
const TIMING = { delayLoopMs: 1000, connectTimeoutMs: 1000, retry: 1, delayBeforeRetryMs: 1000, marginMs: 1500 };

/** Requests on new connections for n requests or until ms elapsed; per request its name or 'FAIL' with its start offset. */
const COUNT = `
const http = require('http');
const [url, n, maxMs, gapMs] = process.argv.slice(1);
const tally = {};
const log = [];
let fail = 0;
const t0 = Date.now();
(async () => {
  for (let i = 0; i < Number(n) && Date.now() - t0 < Number(maxMs); i++) {
    const at = Date.now() - t0;
    await new Promise((r) => {
      const q = http.get(url, { agent: false, timeout: 2000 }, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => { tally[b] = (tally[b] || 0) + 1; log.push([at, b]); r(); });
      });
      q.on('error', () => { fail++; log.push([at, 'FAIL']); r(); });
      q.on('timeout', () => q.destroy());
    });
    if (Number(gapMs) > 0) await new Promise((r) => setTimeout(r, Number(gapMs)));
  }
  console.log(JSON.stringify({ tally, fail, log, t0 }));
})();
`;

interface Tally {
  tally: Record<string, number>;
  fail: number;
  log: [number, string][];
  t0: number;
}

interface Options {
  weights?: Record<string, number>;
  /** real servers left out of port 80's virtual server */
  without?: string[];
}

describe('the daemon balances virtual servers (LVS-NAT, two load balancers, VRRP)', () => {
  let lab: Lab;
  const record: CleanupRecord = { namespaces: new Set(), pids: new Set(), tempDirs: new Set() };
  const daemons = new Map<string, CheckDaemon>();
  const servers = new Map<string, { pid: number; exited: Promise<number | string> }>();
  const addr = (node: string) => lab.node(node).ipv4!;
  const addr6 = (node: string) => lab.node(node).ipv6!;

  const ip = async (ns: string, args: string[]) => {
    const r = await run('ip', ['-n', ns, ...args], 5000);
    assert.equal(r.code, 0, `ip -n ${ns} ${args.join(' ')}: ${r.stderr}`);
  };
  const inNs = (ns: string, cmd: string, args: string[], timeoutMs = 10_000) => run('ip', ['netns', 'exec', ns, cmd, ...args], timeoutMs);
  const requests = async (url: string, n: number, maxMs = 30_000, gapMs = 0): Promise<Tally> => {
    const r = await inNs(CLIENT_NS, process.execPath, ['-e', COUNT, url, String(n), String(maxMs), String(gapMs)], maxMs + 15_000);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Tally;
  };
  const startServer = async (name: string) => {
    const p = lab.spawn(name, process.execPath, ['-e', NAMED_HTTP_SERVER, name]);
    servers.set(name, p);
    const up = await pollUntil(
      async () => {
        const r = await lab.exec(
          'lb1',
          process.execPath,
          ['-e', `require('http').get('http://${addr(name)}/',(r)=>process.exit(0)).on('error',()=>process.exit(1))`],
          3000,
        );
        return r.code === 0 ? true : undefined;
      },
      10_000,
      100,
    );
    assert.ok(up, `${name} answers`);
  };
  const stopServer = async (name: string) => {
    const p = servers.get(name)!;
    process.kill(p.pid, 'SIGKILL');
    await p.exited;
    servers.delete(name);
  };

  const realServer = (name: string, port: number, extra: string[] = []) => [
    `  real_server ${addr(name)} ${port} {`,
    `    weight ${WEIGHTS[name] ?? 1}`,
    ...extra.map((l) => `    ${l}`),
    '    TCP_CHECK {',
    '      connect_timeout 1',
    '      retry 1',
    '      delay_before_retry 1',
    '    }',
    '  }',
  ];
  const virtualServer = (head: string, lines: string[], reals: string[][]) => [
    `virtual_server ${head} {`,
    '  delay_loop 1',
    '  lb_kind NAT',
    '  protocol TCP',
    ...lines.map((l) => `  ${l}`),
    ...reals.flat(),
    '}',
  ];
  const instance = (name: string, iface: string, vrid: number, prio: number, vips: string[], excluded: string[]) => [
    `vrrp_instance ${name} {`,
    '  state BACKUP',
    `  interface ${iface}`,
    `  virtual_router_id ${vrid}`,
    '  version 3',
    `  priority ${prio}`,
    '  advert_int 0.5',
    '  virtual_ipaddress {',
    ...vips.map((v) => `    ${v}`),
    '  }',
    '  virtual_ipaddress_excluded {',
    ...excluded.map((v) => `    ${v}`),
    '  }',
    '}',
  ];
  const conf = (lb: string, o: Options = {}) => {
    const w = { ...WEIGHTS, ...(o.weights ?? {}) };
    const rs80 = RS.filter((n) => !(o.without ?? []).includes(n)).map((n) =>
      realServer(n, 80).map((l) => (l.startsWith('    weight') ? `    weight ${w[n]}` : l)),
    );
    return [
      globalDefs({ routerId: lb }),
      ...instance('VI_OUT', 'eth1', 51, lb === 'lb1' ? 150 : 100, [`${VIP}/24`], [`${VIP6}/64`]),
      ...instance('VI_IN', 'eth0', 52, lb === 'lb1' ? 150 : 100, [`${GW}/24`], [`${GW6}/64`]),
      'vrrp_sync_group G {',
      '  group {',
      '    VI_OUT',
      '    VI_IN',
      '  }',
      '}',
      ...virtualServer(`${VIP} 80`, ['lb_algo wrr'], rs80),
      ...virtualServer(
        `${VIP} 8080`,
        ['lb_algo sh'],
        RS.map((n) => realServer(n, 8080)),
      ),
      // quorum 2 of weights 1, a sorry server, dead real servers kept at weight 0
      ...virtualServer(
        `${VIP} 81`,
        ['lb_algo rr', 'quorum 2', `sorry_server ${addr('sorry')} 80`],
        RS.map((n) => realServer(n, 80, ['inhibit_on_failure']).map((l) => (l.startsWith('    weight') ? '    weight 1' : l))),
      ),
      ...virtualServer(
        `${VIP6} 80`,
        ['lb_algo rr'],
        RS.map((n) => realServer(n, 80).map((l) => l.replace(addr(n), addr6(n)))),
      ),
      '',
    ].join('\n');
  };
  /** Polls until every real server of every virtual server is alive in `lb`'s checkers. */
  const allAlive = async (lb: string) => {
    const ok = await pollUntil(
      async () => ((await daemons.get(lb)!.checks()).virtualServers.every((v) => v.realServers.every((r) => r.alive)) ? true : undefined),
      bounds.up(false) + 2000,
      100,
    );
    assert.ok(ok, `every real server alive in ${lb}`);
  };
  const lbStatus = async (lb: string): Promise<LoadBalancerStatus> => (await daemons.get(lb)!.daemon.status()).lb;
  const nftTable = async (node: string) => (await lab.exec(node, 'nft', ['list', 'table', 'inet', 'vipflow'], 5000)).stdout;
  const bounds = detectionBounds(TIMING);
  const ctConf = (lb: string) => join(lab.dir, `conntrackd-${lb}.conf`);
  const workflowsFile = (lb: string) => join(lab.dir, `workflows-${lb}.mjs`);

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: [...LBS, ...RS, 'sorry'], subnet: 2, logger });
    register(record);
    for (const ns of [OUT_BR_NS, CLIENT_NS]) {
      const r = await run('ip', ['netns', 'add', ns], 5000);
      assert.equal(r.code, 0, r.stderr);
      record.namespaces.add(ns);
      await ip(ns, ['link', 'set', 'lo', 'up']);
    }
    await ip(OUT_BR_NS, ['link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0']);
    await ip(OUT_BR_NS, ['link', 'set', 'br0', 'up']);
    const outside: [string, string, string, string][] = [
      [CLIENT_NS, 'eth0', '198.18.3.10', 'fd00:198:18:3::a'],
      [lab.node('lb1').ns, 'eth1', '198.18.3.1', 'fd00:198:18:3::1'],
      [lab.node('lb2').ns, 'eth1', '198.18.3.2', 'fd00:198:18:3::2'],
    ];
    for (const [ns, dev, a4, a6] of outside) {
      const port = `o-${ns.slice(PREFIX.length + 1)}`;
      await ip(ns, ['link', 'add', dev, 'type', 'veth', 'peer', 'name', port, 'netns', OUT_BR_NS]);
      await ip(OUT_BR_NS, ['link', 'set', port, 'master', 'br0', 'up']);
      await ip(ns, ['link', 'set', dev, 'up']);
      await ip(ns, ['addr', 'add', `${a4}/24`, 'dev', dev]);
      await ip(ns, ['-6', 'addr', 'add', `${a6}/64`, 'dev', dev, 'nodad']);
    }
    for (const lb of LBS) {
      const r = await lab.exec(lb, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1'], 5000);
      assert.equal(r.code, 0, r.stderr);
    }
    for (const name of [...RS, 'sorry']) {
      await ip(lab.node(name).ns, ['route', 'add', 'default', 'via', GW]);
      await ip(lab.node(name).ns, ['-6', 'route', 'add', 'default', 'via', GW6]);
      await startServer(name);
    }
    // conntrackd on a dedicated link, driven by the daemons' conntrackd.sync workflow step (keepalived's primary-backup.sh).
    await ip(lab.node('lb1').ns, ['link', 'add', 'sync0', 'type', 'veth', 'peer', 'name', 'sync0', 'netns', lab.node('lb2').ns]);
    for (const lb of LBS) {
      const ns = lab.node(lb).ns;
      await ip(ns, ['link', 'set', 'sync0', 'up']);
      await ip(ns, ['addr', 'add', `${SYNC[lb]}/30`, 'dev', 'sync0']);
      // A conntrack-using table of the test's own, so nf_conntrack is live in the namespace before conntrackd subscribes.
      const rules = 'table ip lbdct {\n  chain dropinvalid { type filter hook forward priority 0; ct state invalid counter drop; }\n}\n';
      const nft = await lab.exec(lb, 'sh', ['-c', 'printf "%s" "$1" | nft -f -', 'nft', rules], 5000);
      assert.equal(nft.code, 0, nft.stderr);
      // As in conntrack-sync.test.ts: a mid-stream packet without a (synced) entry is not picked up afresh, so only conntrackd saves a connection.
      const loose = await lab.exec(lb, 'sysctl', ['-qw', 'net.netfilter.nf_conntrack_tcp_loose=0'], 5000);
      assert.equal(loose.code, 0, loose.stderr);
      writeFileSync(
        ctConf(lb),
        renderConntrackdConf({
          interface: 'sync0',
          localAddress: SYNC[lb]!,
          peerAddress: SYNC[lb === 'lb1' ? 'lb2' : 'lb1']!,
          controlSocket: join(lab.dir, `${lb}.ctl`),
          lockFile: join(lab.dir, `${lb}.lock`),
          logFile: join(lab.dir, `conntrackd-${lb}.log`),
          ignoreAddresses: [addr(lb), lb === 'lb1' ? '198.18.3.1' : '198.18.3.2'],
        }),
      );
      // Console mode: the lab owns the process.
      lab.spawn(lb, 'conntrackd', ['-C', ctConf(lb)]);
      const up = await pollUntil(async () => ((await lab.exec(lb, 'conntrackd', ['-C', ctConf(lb), '-s'], 2000)).code === 0 ? true : undefined), 5000, 50);
      assert.ok(up, `conntrackd in ${lb} answers`);
      writeFileSync(
        workflowsFile(lb),
        `import { defineWorkflow } from 'vipflow/workflows';
import { conntrackdSyncStep } from 'vipflow/notifiers';
export default [
  defineWorkflow({
    name: 'conntrack-sync',
    on: { instance: 'VI_OUT', to: ['MASTER', 'BACKUP', 'FAULT'] },
    steps: [conntrackdSyncStep({ config: ${JSON.stringify(ctConf(lb))}, lockFile: ${JSON.stringify(join(lab.dir, `${lb}.lock`))} })],
  }),
];
`,
      );
    }
    for (const lb of LBS) daemons.set(lb, await startCheckDaemon(lab, lb, lb, conf(lb), { args: ['--workflows', workflowsFile(lb)] }));
    assert.ok(await waitForHolder(lab, [...LBS], GW, 'lb1', 10_000), 'lb1 holds the gateway VIP');
    // lab's holders() reads eth0 only: the outside VIP is on eth1.
    const outsideHolder = await pollUntil(
      async () => {
        const r = await lab.exec('lb1', 'ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth1'], 3000);
        return r.stdout.includes(`${VIP}/`) ? true : undefined;
      },
      10_000,
      50,
    );
    assert.ok(outsideHolder, 'lb1 holds the outside VIP');
    // Both daemons have applied their first state.
    for (const lb of LBS) {
      const ok = await pollUntil(async () => ((await lbStatus(lb)).applies.ok > 0 ? true : undefined), 10_000, 100);
      assert.ok(ok, `${lb} applied its rules`);
    }
  });

  after(async () => {
    for (const d of daemons.values()) await d.daemon.kill();
    await run('ip', ['netns', 'del', CLIENT_NS], 5000);
    await run('ip', ['netns', 'del', OUT_BR_NS], 5000);
    record.namespaces.delete(CLIENT_NS);
    record.namespaces.delete(OUT_BR_NS);
    release(record);
    await lab?.destroy();
  });

  test('wrr spreads 120 requests 3:2:1; sh keeps one client on one real server', async () => {
    const s = await lbStatus('lb1');
    console.log('lb1 status lb:', JSON.stringify({ backend: s.backend, services: s.services, destinations: s.destinations, applies: s.applies }));
    assert.equal(s.backend, 'nftables');
    const { tally, fail } = await requests(`http://${VIP}/`, 120);
    console.log('wrr 3:2:1, 120 requests:', tally);
    assert.equal(fail, 0);
    const want: Record<string, number> = { rs1: 60, rs2: 40, rs3: 20 };
    // nftables' numgen is exact; ±5 % of 120 leaves room for a probe-free miscount.
    for (const n of RS) assert.ok(Math.abs((tally[n] ?? 0) - want[n]!) <= 6, `${n}: ${tally[n]} (want ${want[n]} ±6)`);
    const sh = await requests(`http://${VIP}:8080/`, 30);
    console.log('sh, 30 requests from one client:', sh.tally);
    assert.equal(sh.fail, 0);
    assert.equal(Object.keys(sh.tally).length, 1, JSON.stringify(sh.tally));
    // The counters over the control socket: connections per service, packets per destination.
    const c = (await lbStatus('lb1')).counters ?? [];
    const c80 = c.find((x) => x.id === `${VIP}:80/tcp`)!;
    const c8080 = c.find((x) => x.id === `${VIP}:8080/tcp`)!;
    console.log('counters :80', JSON.stringify(c80), ':8080', JSON.stringify(c8080));
    assert.equal(c80.connections, 120);
    assert.equal(c8080.connections, 30);
    const chosen = addr(Object.keys(sh.tally)[0]!);
    assert.ok(c8080.destinations.find((x) => x.address === chosen)!.packets >= 30 * 10, JSON.stringify(c8080));
  });

  test('a stopped real server gets no request after the checker notices; back, it gets traffic again', async () => {
    const d = daemons.get('lb1')!;
    const mark = d.mark();
    // Paced (one request per ~10 ms): an unpaced flood (~1,800 connections/s) once saw one request fail 2.3 s after
    // the apply, not explained (a reused client port whose TIME_WAIT or CLOSE entry pointed at the dead server was
    // checked separately: the kernel NATs such a SYN afresh) - likely the flood itself (accept backlog, 2 s timeout).
    const load = requests(`http://${VIP}/`, 100_000, bounds.down(false) + 2000, 10);
    await sleep(300);
    const stoppedAt = performance.now();
    const stoppedWall = Date.now();
    await stopServer('rs3');
    const down = await d.waitForRs('down', `${VIP}:80/${addr('rs3')}:80`, mark, bounds.down(false));
    assert.ok(down, 'rs3 reported down within the bound');
    // Port 80's service without rs3 in the applied table (each virtual server's change may be its own apply).
    const applied = await pollUntil(
      async () => {
        const s = await lbStatus('lb1');
        const svc = s.table.find((x) => x.id === `${VIP}:80/tcp`);
        return svc !== undefined && !svc.destinations.some((x) => x.address === addr('rs3')) ? { s, wall: Date.now() } : undefined;
      },
      3000,
      20,
    );
    assert.ok(applied, 'lb1 applied after the down');
    const l = await load;
    const rel = (at: number) => l.t0 + at - stoppedWall;
    const fails = l.log.filter(([, b]) => b === 'FAIL').map(([at]) => rel(at));
    const lastRs3 = l.log.filter(([, b]) => b === 'rs3').map(([at]) => rel(at));
    const detectMs = ms(down.at - stoppedAt);
    const applyMs = applied.wall - stoppedWall;
    console.log(
      `rs3 stopped: down logged after ${detectMs} ms (bound ${bounds.down(false)}), rs3 out of :80's rules (status poll) after ${applyMs} ms;` +
        ` during ${l.log.length} requests: ${fails.length} failed, the last at +${fails.length > 0 ? Math.max(...fails) : '-'} ms; rs3's last answer at +${lastRs3.length > 0 ? Math.max(...lastRs3) : '-'} ms`,
    );
    for (const f of fails) assert.ok(f <= applyMs + 200, `a request failed at +${f} ms, after the apply at +${applyMs} ms`);
    const after1 = await requests(`http://${VIP}/`, 60);
    console.log('rs3 down, 60 requests:', after1.tally);
    assert.equal(after1.fail, 0);
    assert.equal(after1.tally.rs3, undefined);

    const mark2 = d.mark();
    const t = performance.now();
    await startServer('rs3');
    const up = await d.waitForRs('up', `${VIP}:80/${addr('rs3')}:80`, mark2, bounds.up(false));
    assert.ok(up, 'rs3 reported up within the bound');
    await sleep(300);
    const back = await requests(`http://${VIP}/`, 60);
    console.log(`rs3 back: up logged after ${ms(up.at - t)} ms (bound ${bounds.up(false)}); 60 requests:`, back.tally);
    assert.equal(back.fail, 0);
    assert.ok((back.tally.rs3 ?? 0) >= 7, JSON.stringify(back.tally));
  });

  test('a slow download survives a weight change, another real server removed and a plain reload (SIGHUP)', async () => {
    const d = daemons.get('lb1')!;
    const counters = async () => (await lbStatus('lb1')).counters?.find((c) => c.id === `${VIP}:80/tcp`);
    const c0 = await counters();
    assert.ok(c0, 'counters for port 80');
    const stream = inNs(CLIENT_NS, process.execPath, ['-e', SLOW_DOWNLOAD, `http://${VIP}/stream?n=80`], 30_000);
    await sleep(1000);
    const c1 = (await counters())!;
    const busyAddr = c1.destinations.find((x) => x.packets > (c0.destinations.find((y) => y.address === x.address)?.packets ?? 0))?.address;
    const busy = RS.find((n) => addr(n) === busyAddr)!;
    assert.ok(busy, 'the stream shows in the counters');
    const others = RS.filter((n) => n !== busy);
    const reload = async (o: Options, what: string) => {
      const okBefore = (await lbStatus('lb1')).applies.ok;
      const t = performance.now();
      d.daemon.writeConfig(conf('lb1', o));
      d.daemon.signal('SIGHUP');
      const done = await pollUntil(async () => ((await lbStatus('lb1')).applies.ok > okBefore ? true : undefined), 5000, 50);
      console.log(`${what}: ${done ? `applied after ${ms(performance.now() - t)} ms` : 'no apply (nothing changed)'}`);
      await sleep(700);
    };
    await reload({ weights: { [others[0]!]: 7 } }, `reload: ${others[0]} weight 7`);
    await reload({ weights: { [others[0]!]: 7 }, without: [others[1]!] }, `reload: ${others[1]} removed`);
    await reload({ weights: { [others[0]!]: 7 }, without: [others[1]!] }, 'reload: same config');
    const out = JSON.parse((await stream).stdout) as { lines: number; names: string[]; complete: boolean; error: string | null };
    console.log(`slow download (8 s) from ${busy} across 3 reloads:`, out);
    assert.equal(out.error, null);
    assert.ok(out.complete);
    assert.equal(out.lines, 80);
    assert.deepEqual(out.names, [busy]);
    // Back to the test's own config.
    await reload({}, 'reload: original config');
    const t = await requests(`http://${VIP}/`, 60);
    assert.equal(t.fail, 0);
    assert.deepEqual(Object.keys(t.tally).sort(), [...RS]);
  });

  test('quorum lost: the sorry server answers; inhibit_on_failure keeps a dead real server at weight 0', async () => {
    const d = daemons.get('lb1')!;
    const vs81 = `${VIP}:81`;
    let mark = d.mark();
    await stopServer('rs3');
    assert.ok(await d.waitForRs('down', `${vs81}/${addr('rs3')}:80`, mark, bounds.down(false)));
    await sleep(300);
    const s1 = await lbStatus('lb1');
    const table1 = await nftTable('lb1');
    const one = await requests(`http://${VIP}:81/`, 30);
    console.log('rs3 down (inhibit_on_failure), 30 requests to :81:', one.tally);
    assert.equal(one.fail, 0);
    assert.equal(one.tally.rs3, undefined);
    assert.deepEqual(Object.keys(one.tally).sort(), ['rs1', 'rs2']);
    // Still in the rules, at weight 0: in the status and in the nft table (its dispatch map has no entry for it).
    const svc81 = s1.table?.find((x) => x.id === `${vs81}/tcp`);
    assert.ok(svc81, JSON.stringify(s1.table));
    assert.deepEqual(
      svc81.destinations.find((x) => x.address === addr('rs3')),
      { address: addr('rs3'), port: 80, weight: 0 },
    );
    if (process.env.LBD_DEBUG) console.log(table1);

    mark = d.mark();
    await stopServer('rs2');
    const quorumDown = await d.waitForLine((l) => l.msg === 'quorum down' && l.virtualServer === vs81, mark, bounds.down(false));
    assert.ok(quorumDown, 'quorum down logged');
    await sleep(300);
    const sorry = await requests(`http://${VIP}:81/`, 20);
    const s2 = await lbStatus('lb1');
    console.log(
      'rs2, rs3 down (quorum 2 lost), 20 requests to :81:',
      sorry.tally,
      'destinations:',
      JSON.stringify(s2.table?.find((x) => x.id === `${vs81}/tcp`)),
    );
    assert.equal(sorry.fail, 0);
    assert.deepEqual(sorry.tally, { sorry: 20 });

    mark = d.mark();
    await startServer('rs2');
    await startServer('rs3');
    assert.ok(await d.waitForLine((l) => l.msg === 'quorum up' && l.virtualServer === vs81, mark, bounds.up(false) + 2000));
    // quorum up needs one of the two: wait for both.
    for (const n of ['rs2', 'rs3'])
      assert.ok(await pollUntil(async () => ((await d.realServer(`${vs81}/${addr(n)}:80`))?.alive ? true : undefined), bounds.up(false), 100));
    await allAlive('lb1');
    await allAlive('lb2');
    await sleep(300);
    const back = await requests(`http://${VIP}:81/`, 30);
    console.log('both back, 30 requests to :81:', back.tally);
    assert.deepEqual(back.tally, { rs1: 10, rs2: 10, rs3: 10 });
  });

  test('IPv6 NAT through the daemon', async () => {
    const { tally, fail } = await requests(`http://[${VIP6}]/`, 30);
    console.log('IPv6 rr, 30 requests:', tally);
    assert.equal(fail, 0);
    for (const n of RS) assert.equal(tally[n], 10, JSON.stringify(tally));
  });

  test('the status text shows the load balancer with weights and counters', async () => {
    const r = await daemons.get('lb1')!.daemon.cli(['status', '--state-dir', daemons.get('lb1')!.daemon.stateDir]);
    assert.equal(r.code, 0, r.stderr);
    const lbLines = r.stdout.split('\n').filter((l) => /^lb |^ {2}service |^ {4}-> /.test(l));
    console.log(lbLines.join('\n'));
    if (process.env.LBD_DEBUG) {
      console.log(await nftTable('lb1'));
      for (const l of daemons.get('lb1')!.daemon.lines.filter((x) => /load-balancer|incremental/.test(x.msg))) console.log(JSON.stringify(l));
    }
    assert.match(r.stdout, /^lb nftables/m);
    assert.match(r.stdout, new RegExp(`service ${VIP.replaceAll('.', '\\.')}:80/tcp wrr`));
    assert.match(r.stdout, new RegExp(`-> ${addr('rs1').replaceAll('.', '\\.')}:80 +weight 3 .*pkts`));
  });

  test('the Master load balancer dies: the backup takes both VIPs and new connections go through it', async () => {
    const lb2 = daemons.get('lb2')!;
    const mark = lb2.daemon.transitions.length;
    // A slow download through lb1 that must survive on the connection state conntrackd carried to lb2.
    const stream = inNs(CLIENT_NS, process.execPath, ['-e', SLOW_DOWNLOAD, `http://${VIP}/stream?n=80`], 40_000);
    await sleep(1500);
    const cache = (await lab.exec('lb2', 'conntrackd', ['-C', ctConf('lb2'), '-e'], 5000)).stdout;
    assert.match(cache, new RegExp(`dst=${VIP.replaceAll('.', '\\.')} sport=\\d+ dport=80 `), `lb2's external cache: ${cache}`);
    const t = performance.now();
    await daemons.get('lb1')!.daemon.kill();
    // A dead node: its links go down too (a SIGKILLed daemon leaves its addresses and rules behind, as keepalived would).
    await ip(lab.node('lb1').ns, ['link', 'set', 'eth1', 'down']);
    await ip(lab.node('lb1').ns, ['link', 'set', 'eth0', 'down']);
    const master = await lb2.daemon.waitForState('master', 5000, mark, 'VI_OUT');
    assert.ok(master, 'lb2 VI_OUT master');
    assert.ok(await lb2.daemon.waitForState('master', 5000, mark, 'VI_IN'), 'lb2 VI_IN master');
    const took = ms(master.seenAt - t);
    const first = await pollUntil(
      async () => {
        const r = await requests(`http://${VIP}/`, 1, 2500);
        return r.fail === 0 ? performance.now() : undefined;
      },
      10_000,
      50,
    );
    assert.ok(first, 'a request through lb2 succeeds');
    const r = await requests(`http://${VIP}/`, 60);
    console.log(`lb1 killed: lb2 master after ${took} ms, first request through lb2 after ${ms(first - t)} ms; 60 requests:`, r.tally);
    assert.equal(r.fail, 0);
    assert.deepEqual(Object.keys(r.tally).sort(), [...RS]);
    const out = JSON.parse((await stream).stdout) as { lines: number; names: string[]; complete: boolean; error: string | null };
    // The workflow run after the failover: the MASTER commands (commit, flush, resync, bulk send).
    const runs = lb2.daemon.lines.filter((l) => l.msg === 'workflow finished');
    const last = runs[runs.length - 1];
    console.log(`slow download across the failover (conntrackd.sync on MASTER: ${String(last?.status)} in ${String(last?.durationMs)} ms):`, out);
    assert.equal(last?.status, 'succeeded', JSON.stringify(last));
    assert.equal(out.error, null);
    assert.ok(out.complete);
    assert.equal(out.lines, 80);
    assert.equal(out.names.length, 1);
  });

  test('bad input: an unsupported scheduler or lb_kind is a config error at check-config, at start and at reload, with nothing half-applied; overlapping virtual servers and a real server on the VIP are config errors', async () => {
    // A daemon of its own in the sorry server's namespace (no VRRP; the sorry server is no longer used).
    const vs = (address: string, algo: string, reals: string[], extra: string[] = []) =>
      virtualServer(
        `${address} 80`,
        [`lb_algo ${algo}`, ...extra],
        reals.map((n) => realServer(n, 80)),
      );
    const good = [globalDefs({ routerId: 'bad' }), ...vs('198.18.9.1', 'rr', ['rs1', 'rs2']), ...vs('198.18.9.2', 'rr', ['rs1', 'rs2']), ''].join('\n');
    // The second service changes too: refused with the first, it must not be applied alone.
    const unsupported = [
      globalDefs({ routerId: 'bad' }),
      ...vs('198.18.9.1', 'lblc', ['rs1', 'rs2']),
      ...vs('198.18.9.2', 'rr', ['rs1'], ['lb_kind DR']),
      '',
    ].join('\n');

    const badPath = join(lab.dir, 'unsupported.conf');
    writeFileSync(badPath, unsupported);
    const refusal = await lab.exec('sorry', process.execPath, [...vipflowCommand(), 'check-config', badPath], 15_000);
    console.log('check-config (unsupported):', refusal.code, refusal.stderr.trim().split('\n').slice(0, 2).join(' | '));
    assert.equal(refusal.code, 1);
    assert.match(refusal.stderr, /unsupported\.conf:\d+:\d+: error: lb_algo lblc is not supported by the nftables backend/);
    assert.match(refusal.stderr, /unsupported\.conf:\d+:\d+: error: lb_kind DR is not supported by the nftables backend/);
    assert.match(refusal.stderr, /--lb none runs the checkers without load-balancer rules/);
    const ipvs = await lab.exec('sorry', process.execPath, [...vipflowCommand(), 'check-config', '--lb', 'ipvs', badPath], 15_000);
    assert.equal(ipvs.code, 0, `IPVS runs lblc and DR: ${ipvs.stderr}`);
    await assert.rejects(startCheckDaemon(lab, 'sorry', 'unsupported', unsupported), /lblc/);
    assert.doesNotMatch((await lab.exec('sorry', 'nft', ['list', 'tables'], 5000)).stdout, /vipflow/, 'a refused start writes no rule');

    const bad = await startCheckDaemon(lab, 'sorry', 'bad', good);
    daemons.set('bad', bad);
    const ok = await pollUntil(async () => ((await lbStatus('bad')).applies.ok > 0 ? true : undefined), 5000, 50);
    assert.ok(ok, 'the good configuration applied');
    const before = await nftTable('sorry');
    assert.match(before, /198\.18\.9\.1/);
    assert.match(before, /198\.18\.9\.2/);
    const mark = bad.mark();
    bad.daemon.writeConfig(unsupported);
    bad.daemon.signal('SIGHUP');
    const refused = await bad.waitForLine((l) => l.msg.startsWith('reload refused'), mark, 10_000);
    assert.ok(refused, 'the reload is refused');
    assert.ok(bad.linesSince(mark, (l) => l.level >= 50 && /lblc/.test(l.msg)).length > 0, 'the refusal names the unsupported scheduler');
    await sleep(500);
    const s = await lbStatus('bad');
    assert.deepEqual(s.refused, []);
    assert.deepEqual(s.table.map((t) => t.id).sort(), ['198.18.9.1:80/tcp', '198.18.9.2:80/tcp']);
    assert.equal((await nftTable('sorry')).replace(/packets \d+ bytes \d+/g, ''), before.replace(/packets \d+ bytes \d+/g, ''), 'the rules are as before');

    // Stopping it removes its table too.
    assert.equal(await bad.daemon.stop(10_000), 0);
    daemons.delete('bad');
    assert.doesNotMatch((await lab.exec('sorry', 'nft', ['list', 'tables'], 5000)).stdout, /vipflow/);

    // Configuration errors: check-config names the lines, and the daemon does not start.
    const overlap = [
      globalDefs({ routerId: 'bad' }),
      ...vs('198.18.9.2', 'rr', ['rs1']),
      ...vs('198.18.9.2', 'wrr', ['rs2']),
      ...virtualServer('198.18.9.3 80', ['lb_algo rr'], [realServer('rs1', 80).map((l) => l.replace(addr('rs1'), '198.18.9.3'))]),
      '',
    ].join('\n');
    const path = join(lab.dir, 'overlap.conf');
    writeFileSync(path, overlap);
    const cc = await lab.exec('sorry', process.execPath, [...vipflowCommand(), 'check-config', path], 15_000);
    console.log('check-config:', cc.code, cc.stdout.trim(), cc.stderr.trim());
    assert.notEqual(cc.code, 0);
    const out = cc.stdout + cc.stderr;
    assert.match(out, /overlap\.conf:\d+.*virtual_server 198\.18\.9\.2 80 TCP is already defined at .*overlap\.conf:\d+/);
    assert.match(out, /overlap\.conf:\d+.*real_server 198\.18\.9\.3 80 of virtual_server 198\.18\.9\.3 80 is the virtual server itself/);
    await assert.rejects(startCheckDaemon(lab, 'sorry', 'overlap', overlap), /already defined/);
  });

  test('stopping the daemon removes table inet vipflow', async () => {
    const lb2 = daemons.get('lb2')!;
    assert.match(await nftTable('lb2'), /table inet vipflow/);
    const code = await lb2.daemon.stop(10_000);
    assert.equal(code, 0);
    const left = await lab.exec('lb2', 'nft', ['list', 'tables'], 5000);
    console.log('lb2 tables after stop:', JSON.stringify(left.stdout.trim()));
    assert.doesNotMatch(left.stdout, /vipflow/);
  });
});
