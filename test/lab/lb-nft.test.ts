// Real network: the nftables load-balancer backend (infra/lb/nft-backend.ts) in
// the classic LVS-NAT topology. Starts: namespaces `nftlb-lb`, `-rs1..3` on a
// bridge (the inside net 198.18.2.0/24, fd00:198:18:2::/64, the LB at .1 as
// the real servers' default gateway), a client namespace `nftlb-cl` on a veth
// to the LB (the outside net 198.18.3.0/24 with the VIPs .100/.101), a tiny
// node HTTP server per real server answering its own name, and node clients in
// the client namespace. ip_forward is on in the LB namespace only; nft runs
// there through the backend's netns option.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../core/logger.js';
import { createLab, run, sweepStaleLabs, type Lab } from '../../lab/index.js';
import { register, release, type CleanupRecord } from '../../lab/cleanup.js';
import { NftBackend } from '../../infra/lb/nft-backend.js';
import type { LbDestination, LbState, LbVirtualService } from '../../infra/lb/model.js';
import { NAMED_HTTP_SERVER, SLOW_DOWNLOAD } from './lb-programs.js';

const logger = silentLogger();
const PREFIX = 'nftlb';
const CLIENT_NS = `${PREFIX}-cl`;
const VIP4 = '198.18.3.100';
const VIP4B = '198.18.3.101';
const VIP6 = 'fd00:198:18:3::100';
const RS = ['rs1', 'rs2', 'rs3'];

/** N requests, each on a new connection; prints {tally: {rs1: n, ...}, fail}. */
const COUNT = `
const http = require('http');
const [url, n] = process.argv.slice(1);
const tally = {};
let fail = 0;
(async () => {
  for (let i = 0; i < Number(n); i++) {
    await new Promise((r) => {
      const q = http.get(url, { agent: false, timeout: 2000 }, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => { tally[b] = (tally[b] || 0) + 1; r(); });
      });
      q.on('error', () => { fail++; r(); });
      q.on('timeout', () => q.destroy());
    });
  }
  console.log(JSON.stringify({ tally, fail }));
})();
`;

describe('nftables load balancer (LVS-NAT topology)', () => {
  let lab: Lab;
  let backend: NftBackend;
  const record: CleanupRecord = { namespaces: new Set(), pids: new Set(), tempDirs: new Set() };
  const rsAddr = (name: string, family: 4 | 6): string => (family === 4 ? lab.node(name).ipv4! : lab.node(name).ipv6!);

  const ns = (cmd: string, args: string[], timeoutMs = 10_000) => run('ip', ['netns', 'exec', CLIENT_NS, cmd, ...args], timeoutMs);
  const sh = async (nsName: string, args: string[]): Promise<void> => {
    const r = await run('ip', ['-n', nsName, ...args], 5000);
    assert.equal(r.code, 0, `ip -n ${nsName} ${args.join(' ')}: ${r.stderr}`);
  };

  async function requests(url: string, n: number): Promise<{ tally: Record<string, number>; fail: number }> {
    const r = await ns(process.execPath, ['-e', COUNT, url, String(n)], 60_000);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { tally: Record<string, number>; fail: number };
  }

  function service(over: Partial<LbVirtualService> & { destinations: LbDestination[] }, family: 4 | 6 = 4): LbVirtualService {
    const address = family === 4 ? VIP4 : VIP6;
    return {
      id: family === 4 ? `${address}:80/tcp` : `[${address}]:80/tcp`,
      virtualServer: `${address}:80`,
      service: { kind: 'address', family, protocol: 'tcp', address, port: 80 },
      scheduler: 'rr',
      lbKind: 'NAT',
      ...over,
    };
  }
  const dests = (weights: Record<string, number>, family: 4 | 6 = 4): LbDestination[] =>
    Object.entries(weights).map(([name, weight]) => ({ address: rsAddr(name, family), port: 80, weight }));

  async function applyOk(state: LbState): Promise<number> {
    const r = await backend.apply(state);
    assert.ok(r.ok, r.ok ? '' : r.error);
    return r.ms;
  }

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['lb', ...RS], subnet: 2, logger });
    register(record);
    await run('ip', ['netns', 'add', CLIENT_NS], 5000);
    record.namespaces.add(CLIENT_NS);
    const lbNs = lab.node('lb').ns;
    await sh(CLIENT_NS, ['link', 'set', 'lo', 'up']);
    await sh(CLIENT_NS, ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1', 'netns', lbNs]);
    await sh(CLIENT_NS, ['link', 'set', 'eth0', 'up']);
    await sh(CLIENT_NS, ['addr', 'add', '198.18.3.2/24', 'dev', 'eth0']);
    await sh(CLIENT_NS, ['-6', 'addr', 'add', 'fd00:198:18:3::2/64', 'dev', 'eth0', 'nodad']);
    await sh(lbNs, ['link', 'set', 'eth1', 'up']);
    for (const a of ['198.18.3.1/24', `${VIP4}/24`, `${VIP4B}/24`]) await sh(lbNs, ['addr', 'add', a, 'dev', 'eth1']);
    for (const a of ['fd00:198:18:3::1/64', `${VIP6}/64`]) await sh(lbNs, ['-6', 'addr', 'add', a, 'dev', 'eth1', 'nodad']);
    const sysctl = await run('ip', ['netns', 'exec', lbNs, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1'], 5000);
    assert.equal(sysctl.code, 0, sysctl.stderr);
    for (const name of RS) {
      await sh(lab.node(name).ns, ['route', 'add', 'default', 'via', lab.node('lb').ipv4!]);
      await sh(lab.node(name).ns, ['-6', 'route', 'add', 'default', 'via', lab.node('lb').ipv6!]);
      lab.spawn(name, process.execPath, ['-e', NAMED_HTTP_SERVER, name]);
    }
    backend = new NftBackend({ netns: lbNs, logger });
    // The servers listen once node has started: poll each directly from the LB.
    for (const name of RS) {
      let up = false;
      for (let i = 0; i < 50 && !up; i++) {
        const r = await lab.exec(
          'lb',
          process.execPath,
          ['-e', `require('http').get('http://${rsAddr(name, 4)}/',(r)=>process.exit(0)).on('error',()=>process.exit(1))`],
          3000,
        );
        up = r.code === 0;
        if (!up) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(up, `${name} answers`);
    }
  });

  after(async () => {
    await backend?.clear();
    await run('ip', ['netns', 'del', CLIENT_NS], 5000);
    record.namespaces.delete(CLIENT_NS);
    release(record);
    await lab?.destroy();
  });

  test('rr spreads new connections evenly; counters count them', async () => {
    await applyOk({ services: [service({ destinations: dests({ rs1: 1, rs2: 1, rs3: 1 }) })] });
    const { tally, fail } = await requests(`http://${VIP4}/`, 90);
    console.log('rr 90 requests:', tally);
    assert.equal(fail, 0);
    // numgen inc is exact: 30 each; allow ±10% in case anything else opened a connection.
    for (const name of RS) assert.ok(Math.abs((tally[name] ?? 0) - 30) <= 3, `${name}: ${tally[name]}`);
    const [c] = await backend.counters();
    console.log('counters:', JSON.stringify(c));
    assert.equal(c!.connections, 90);
    // Each HTTP exchange is at least 5 packets each way through the forward chain.
    for (const d of c!.destinations) assert.ok(d.packets >= 30 * 10, JSON.stringify(d));
    assert.equal(
      c!.packets,
      c!.destinations.reduce((n, d) => n + d.packets, 0),
    );
  });

  test('wrr follows weights 3:2:1 (reduced by gcd)', async () => {
    await applyOk({ services: [service({ scheduler: 'wrr', destinations: dests({ rs1: 30, rs2: 20, rs3: 10 }) })] });
    const { tally, fail } = await requests(`http://${VIP4}/`, 120);
    console.log('wrr 3:2:1, 120 requests:', tally);
    assert.equal(fail, 0);
    const want: Record<string, number> = { rs1: 60, rs2: 40, rs3: 20 };
    for (const name of RS) assert.ok(Math.abs((tally[name] ?? 0) - want[name]!) <= 6, `${name}: ${tally[name]} (want ${want[name]} ±5%)`);
  });

  test('wlc runs as wrr (the documented fallback)', async () => {
    await applyOk({ services: [service({ scheduler: 'wlc', destinations: dests({ rs1: 2, rs2: 1, rs3: 1 }) })] });
    const { tally } = await requests(`http://${VIP4}/`, 40);
    assert.ok(Math.abs((tally.rs1 ?? 0) - 20) <= 2, JSON.stringify(tally));
  });

  test('sh keeps one client on one real server; persistence does too under rr', async () => {
    await applyOk({ services: [service({ scheduler: 'sh', destinations: dests({ rs1: 1, rs2: 1, rs3: 1 }) })] });
    const sh1 = await requests(`http://${VIP4}/`, 30);
    assert.equal(Object.keys(sh1.tally).length, 1, JSON.stringify(sh1.tally));
    await applyOk({ services: [service({ scheduler: 'mh', destinations: dests({ rs1: 1, rs2: 1, rs3: 1 }) })] });
    const mh = await requests(`http://${VIP4}/`, 30);
    assert.equal(Object.keys(mh.tally).length, 1, JSON.stringify(mh.tally));
    await applyOk({ services: [service({ persistenceTimeoutS: 60, destinations: dests({ rs1: 1, rs2: 1, rs3: 1 }) })] });
    const p = await requests(`http://${VIP4}/`, 30);
    console.log('sh / mh / rr+persistence, 30 requests from one client:', sh1.tally, mh.tally, p.tally);
    assert.equal(Object.keys(p.tally).length, 1, JSON.stringify(p.tally));
    // A weight change elsewhere keeps the client's entry (incremental apply keeps the sets of staying destinations).
    const mine = Object.keys(p.tally)[0]!;
    const weights = Object.fromEntries(RS.map((n) => [n, n === mine ? 1 : 4]));
    await applyOk({ services: [service({ persistenceTimeoutS: 60, destinations: dests(weights) })] });
    assert.equal(backend.lastApplyMode, 'incremental');
    const kept = await requests(`http://${VIP4}/`, 10);
    assert.deepEqual(kept.tally, { [mine]: 10 });
    // Its destination at weight 0: the client is scheduled anew, and stays on the new one.
    await applyOk({ services: [service({ persistenceTimeoutS: 60, destinations: dests({ ...weights, [mine]: 0 }) })] });
    const moved = await requests(`http://${VIP4}/`, 10);
    assert.equal(Object.keys(moved.tally).length, 1, JSON.stringify(moved.tally));
    assert.equal(moved.tally[mine], undefined);
  });

  test('weight 0 takes no new connections; a removed destination gets nothing', async () => {
    await applyOk({ services: [service({ destinations: dests({ rs1: 1, rs2: 1, rs3: 0 }) })] });
    const w0 = await requests(`http://${VIP4}/`, 30);
    assert.equal(w0.tally.rs3, undefined, JSON.stringify(w0.tally));
    assert.equal(w0.fail, 0);
    await applyOk({ services: [service({ destinations: dests({ rs1: 1, rs3: 1 }) })] });
    const gone = await requests(`http://${VIP4}/`, 30);
    console.log('rs3 at weight 0 / rs2 removed, 30 requests each:', w0.tally, gone.tally);
    assert.equal(gone.tally.rs2, undefined, JSON.stringify(gone.tally));
    assert.equal(gone.fail, 0);
  });

  test('a long-lived TCP connection survives applies that change weights, remove another real server and set its own to weight 0', async () => {
    await applyOk({ services: [service({ destinations: dests({ rs1: 1, rs2: 1, rs3: 1 }) })] });
    const [c0] = await backend.counters();
    const stream = ns(process.execPath, ['-e', SLOW_DOWNLOAD, `http://${VIP4}/stream`], 20_000);
    await new Promise((r) => setTimeout(r, 800));
    const [c] = await backend.counters();
    const busy = RS.find((_, j) => c!.destinations[j]!.packets > c0!.destinations[j]!.packets)!;
    const others = RS.filter((n) => n !== busy);
    // Its own weight changes, then another real server goes away; several transactions while it streams.
    await applyOk({ services: [service({ destinations: dests({ [busy]: 5, [others[0]!]: 1, [others[1]!]: 1 }) })] });
    await new Promise((r) => setTimeout(r, 500));
    const d = await backend.apply({ services: [service({ destinations: dests({ [busy]: 2, [others[0]!]: 1 }) })] });
    assert.ok(d.ok);
    assert.equal(backend.lastApplyMode, 'incremental');
    assert.deepEqual(d.diff.changed, [`${VIP4}:80/tcp`]);
    await new Promise((r) => setTimeout(r, 500));
    await applyOk({ services: [service({ scheduler: 'wrr', destinations: dests({ [busy]: 0, [others[0]!]: 3 }) })] });
    const r = await stream;
    const out = JSON.parse(r.stdout) as { lines: number; names: string[]; complete: boolean; error: string | null };
    console.log('slow download across 3 applies:', out);
    assert.equal(out.error, null);
    assert.ok(out.complete);
    assert.equal(out.lines, 40);
    assert.deepEqual(out.names, [busy]);
  });

  test('a client on the load balancer itself is balanced too (nat output hook)', async () => {
    await applyOk({ services: [service({ destinations: dests({ rs1: 1, rs2: 1, rs3: 1 }) })] });
    const r = await lab.exec('lb', process.execPath, ['-e', COUNT, `http://${VIP4}/`, '9'], 30_000);
    assert.equal(r.code, 0, r.stderr);
    const { tally, fail } = JSON.parse(r.stdout) as { tally: Record<string, number>; fail: number };
    console.log('local client, 9 requests:', tally);
    assert.equal(fail, 0);
    assert.deepEqual(tally, { rs1: 3, rs2: 3, rs3: 3 });
  });

  test('IPv6 NAT', async () => {
    await applyOk({
      services: [service({ destinations: dests({ rs1: 1, rs2: 1, rs3: 1 }) }), service({ destinations: dests({ rs1: 1, rs2: 1, rs3: 1 }, 6) }, 6)],
    });
    const { tally, fail } = await requests(`http://[${VIP6}]/`, 30);
    console.log('IPv6 rr, 30 requests:', tally);
    assert.equal(fail, 0);
    for (const name of RS) assert.equal(tally[name], 10, JSON.stringify(tally));
  });

  test('fwmark service: a mark set before dstnat selects it; the destination port is kept', async () => {
    const lbNs = lab.node('lb').ns;
    // The test's own mangle table marks the flows, as an operator's firewall would.
    const mark = await run(
      'ip',
      [
        'netns',
        'exec',
        lbNs,
        'sh',
        '-c',
        'printf "%s\\n" "$1" | nft -f -',
        'nft',
        [
          'add table ip nftlbmark',
          'add chain ip nftlbmark pre { type filter hook prerouting priority mangle; }',
          `add rule ip nftlbmark pre ip daddr ${VIP4B} tcp dport 8080 meta mark set 7`,
        ].join('\n'),
      ],
      5000,
    );
    assert.equal(mark.code, 0, mark.stderr);
    await applyOk({
      services: [
        {
          id: 'fwmark:7/v4',
          virtualServer: 'fwmark:7',
          service: { kind: 'fwmark', family: 4, fwmark: 7 },
          scheduler: 'rr',
          lbKind: 'NAT',
          destinations: RS.map((n) => ({ address: rsAddr(n, 4), port: undefined, weight: 1 })),
        },
      ],
    });
    const { tally, fail } = await requests(`http://${VIP4B}:8080/`, 30);
    console.log('fwmark 7, 30 requests:', tally);
    assert.equal(fail, 0);
    for (const name of RS) assert.equal(tally[name], 10, JSON.stringify(tally));
    // Never touches other tables: clear() leaves the operator's table alone.
    await backend.clear();
    const left = await run('ip', ['netns', 'exec', lbNs, 'nft', 'list', 'tables'], 5000);
    assert.match(left.stdout, /nftlbmark/);
    assert.doesNotMatch(left.stdout, /vipflow/);
  });

  test('a broken desired state is refused and the installed table stays as it was', async () => {
    const good: LbState = { services: [service({ destinations: dests({ rs1: 1, rs2: 1 }) })] };
    await applyOk(good);
    const list = () => run('ip', ['netns', 'exec', lab.node('lb').ns, 'nft', 'list', 'table', 'inet', 'vipflow'], 5000);
    const before = (await list()).stdout;
    const bad1 = await backend.apply({ services: [service({ scheduler: 'lblc', destinations: dests({ rs1: 1 }) })] });
    assert.equal(bad1.ok, false);
    assert.match(bad1.ok ? '' : bad1.error, /lb_algo lblc is not supported/);
    const bad2 = await backend.apply({ services: [service({ lbKind: 'DR', destinations: dests({ rs1: 1 }) })] });
    assert.match(bad2.ok ? '' : bad2.error, /lb_kind DR/);
    // Passes the checks but nft rejects it (no such address): the transaction changes nothing.
    const bad3 = await backend.apply({ services: [service({ destinations: [{ address: '198.18.2.300', port: 80, weight: 1 }] })] });
    assert.match(bad3.ok ? '' : bad3.error, /not an IP address/);
    // Passes the checks but the kernel rejects it (two services on one address and port: the second dispatch element exists): nothing changes.
    const bad4 = await backend.apply({
      services: [...good.services, service({ id: 'dup', destinations: dests({ rs1: 1 }) })],
    });
    assert.equal(bad4.ok, false);
    console.log(
      'refused:',
      [bad1, bad2, bad3, bad4].map((r) => (r.ok ? 'ok' : r.error.slice(0, 160))),
    );
    assert.equal((await list()).stdout, before);
    assert.deepEqual(backend.current, good);
    const { fail } = await requests(`http://${VIP4}/`, 10);
    assert.equal(fail, 0);
  });

  test('an incremental apply on a table changed behind its back falls back to replacing the table whole', async () => {
    await applyOk({ services: [service({ destinations: dests({ rs1: 1, rs2: 1 }) })] });
    const del = await run('ip', ['netns', 'exec', lab.node('lb').ns, 'nft', 'delete', 'table', 'inet', 'vipflow'], 5000);
    assert.equal(del.code, 0, del.stderr);
    await applyOk({ services: [service({ destinations: dests({ rs2: 1, rs3: 1 }) })] });
    assert.equal(backend.lastApplyMode, 'full');
    const { tally, fail } = await requests(`http://${VIP4}/`, 20);
    assert.equal(fail, 0);
    assert.deepEqual(tally, { rs2: 10, rs3: 10 });
  });

  test('two services sharing real servers: adding and removing either stays an incremental transaction', async () => {
    const a = service({ destinations: dests({ rs1: 1, rs2: 1 }) });
    const b: LbVirtualService = { ...a, id: `${VIP4}:81/tcp`, virtualServer: `${VIP4}:81`, service: { ...a.service, port: 81 } as LbVirtualService['service'] };
    await applyOk({ services: [a] });
    for (const next of [[a, b], [b], [a, b], [a]]) {
      await applyOk({ services: next });
      assert.equal(backend.lastApplyMode, 'incremental', next.map((s) => s.id).join(' '));
    }
    const { tally } = await requests(`http://${VIP4}/`, 10);
    assert.deepEqual(tally, { rs1: 5, rs2: 5 });
  });

  test('figures: apply time for 1,000 destinations and for 2,000 services / 37,000 destinations', async () => {
    const thousand = (w: (k: number) => number): LbState => ({
      services: [
        service({
          scheduler: 'wrr',
          destinations: Array.from({ length: 1000 }, (_, k) => ({ address: `198.18.${100 + Math.floor(k / 250)}.${(k % 250) + 1}`, port: 80, weight: w(k) })),
        }),
      ],
    });
    await backend.clear();
    const first = await applyOk(thousand(() => 1));
    const change = await applyOk(thousand((k) => (k % 7) + 1));
    const one = thousand((k) => (k % 7) + 1);
    one.services[0]!.destinations[500]!.weight = 0;
    const oneChange = await applyOk(one);
    const services: LbVirtualService[] = [];
    let n = 0;
    for (let i = 0; i < 2000; i++) {
      const count = i < 1000 ? 18 : 19; // 1000*18 + 1000*19 = 37,000
      const address = `198.19.${Math.floor(i / 250)}.${(i % 250) + 1}`;
      services.push({
        id: `${address}:80/tcp`,
        virtualServer: `${address}:80`,
        service: { kind: 'address', family: 4, protocol: 'tcp', address, port: 80 },
        scheduler: 'wrr',
        lbKind: 'NAT',
        destinations: Array.from({ length: count }, () => {
          n++;
          return { address: `198.19.${16 + Math.floor(n / 250)}.${(n % 250) + 1}`, port: 8000 + (n % 100), weight: (n % 5) + 1 };
        }),
      });
    }
    await backend.clear();
    const big = await applyOk({ services });
    services[0]!.destinations[0]!.weight = 50;
    const bigChange = await applyOk({ services });
    services.splice(1999, 1);
    const bigRemove = await applyOk({ services });
    assert.equal(backend.lastApplyMode, 'incremental');
    const same = await applyOk({ services });
    assert.equal(backend.lastApplyMode, 'unchanged');
    console.log(
      `FIGURES apply (one nft transaction each): 1,000 destinations in one service: ${first} ms (table created), ` +
        `${change} ms (every weight changed), ${oneChange} ms (one destination to weight 0); ` +
        `2,000 services / ${n} destinations: ${big} ms (table created), ${bigChange} ms (one weight changed), ` +
        `${bigRemove} ms (one service removed), ${same} ms (nothing changed)`,
    );
    await backend.clear();
  });
});
