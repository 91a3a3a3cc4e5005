// Real network: vipflow daemons with keepalived 2.4's auth_hmac on a namespace lab.
// Nodes a and b run the cluster (key 1, mode enforce); node c is a rogue vipflow
// with a higher priority and no key, then a wrong key. Key rotation by SIGHUP.
// Also: a replayed advert (python3 raw sockets in c), the rollout modes, and a control run without auth_hmac.
// Starts: a namespace lab, two or three vipflow daemons, python3 (replay). (keepalived 2.4.3 is not
// installable here: wire interop is proven by the captures in test/wire/codec.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../core/logger.js';
import { createLab, pollUntil, sleep, sweepStaleLabs, type Lab } from '../../lab/index.js';
import { confFile, type InstanceConf } from './daemon-conf.js';
import { holders, startVipflow, waitForHolder, type VipflowDaemon } from '../../lab/vipflow.js';

const logger = silentLogger();
const PREFIX = 'vfhmac';
const SUBNET = 171;
const VIP = `198.18.${SUBNET}.100`;
const VIP_UNI = `198.18.${SUBNET}.101`;
const VIP6 = `fd00:198:18:${SUBNET.toString(16)}::100`;
const NODES = ['a', 'b', 'c'] as const;
const KEY1 = 'hex:' + '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const KEY2 = 'hex:' + 'a5'.repeat(32);
const WRONG = 'hex:' + '5a'.repeat(32);

/**
 * Captures one VI_auth advert from argv[1] (joined to the VRRP group on c's
 * eth0, address argv[2]), waits 300 ms, and re-sends it three times as it was,
 * IP header included (source spoofed as the original sender).
 */
const REPLAY_PY = `
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b'eth0')
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, struct.pack('4s4s', socket.inet_aton('224.0.0.18'), socket.inet_aton(sys.argv[2])))
s.settimeout(3)
for _ in range(200):
    p, _ = s.recvfrom(2048)
    if socket.inet_ntoa(p[12:16]) == sys.argv[1] and p[(p[0] & 15) * 4 + 1] == 30:
        break
else:
    sys.exit('no advert captured')
time.sleep(0.3)
o = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
o.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b'eth0')
for _ in range(3):
    o.sendto(p, ('224.0.0.18', 0))
    time.sleep(0.05)
`;

interface Auth {
  keys: [number, string][];
  active: number;
  /** default enforce */
  mode?: 'enforce' | 'permissive' | 'receive-only';
}

const ADDR = { a: `198.18.${SUBNET}.1`, b: `198.18.${SUBNET}.2` } as const;

/**
 * Three instances per cluster node, all signed: IPv4 multicast (VI_auth), IPv6
 * multicast (VI_auth6, the checksum covering the trailer) and IPv4 unicast
 * between a and b (VI_uni). The rogue runs the two multicast ones.
 */
function instances(node: string, priority: number): InstanceConf[] {
  const list: InstanceConf[] = [
    { name: 'VI_auth', vrid: 30, version: 3, priority, advertInt: 0.1, vips: [`${VIP}/24`] },
    { name: 'VI_auth6', vrid: 31, version: 3, priority, advertInt: 0.1, vips: [`${VIP6}/64`] },
  ];
  if (node === 'a' || node === 'b') {
    const peer = node === 'a' ? ADDR.b : ADDR.a;
    list.push({ name: 'VI_uni', vrid: 32, version: 3, priority, advertInt: 0.1, vips: [`${VIP_UNI}/24`], unicastSource: ADDR[node], unicastPeers: [peer] });
  }
  return list;
}

/** keepalived.conf text with an auth_hmac block (anti_replay time) in every instance when `auth` is given. */
function conf(node: string, priority: number, auth: Auth | null): string {
  const text = confFile(node, instances(node, priority));
  if (!auth) return text;
  const block = [
    '  auth_hmac {',
    ...auth.keys.map(([id, k]) => `    key ${id} ${k}`),
    `    active_key ${auth.active}`,
    `    mode ${auth.mode ?? 'enforce'}`,
    '  }',
  ].join('\n');
  return text.replaceAll('  virtual_ipaddress {', `${block}\n  virtual_ipaddress {`);
}
const INSTANCES = ['VI_auth', 'VI_auth6', 'VI_uni'] as const;
/** Waits for every cluster instance of `d` to enter `to` after `mark`. */
const all = async (d: VipflowDaemon, to: string, timeoutMs: number, mark = 0) => {
  for (const name of INSTANCES) if (!(await d.waitForState(to, timeoutMs, mark, name))) return false;
  return true;
};

describe('auth_hmac between vipflow daemons', () => {
  let lab: Lab;
  const daemons = new Map<string, VipflowDaemon>();
  let runs = 0;
  const start = async (node: string, priority: number, auth: Auth | null) => {
    const d = await startVipflow(lab, node, `${node}${runs++}`, conf(node, priority, auth));
    daemons.set(node, d);
    return d;
  };
  const drops = async (d: VipflowDaemon, name = 'VI_auth') => (await d.status()).instances.find((i) => i.name === name)!.drops;
  /** Rewrites a daemon's config, sends SIGHUP, and waits for the reload to be logged. */
  const reload = async (d: VipflowDaemon, node: string, priority: number, auth: Auth) => {
    const mark = d.lines.length;
    d.writeConfig(conf(node, priority, auth));
    d.signal('SIGHUP');
    const ok = await pollUntil(async () => (d.lines.slice(mark).some((l) => l.msg === 'configuration reloaded') ? true : undefined), 3000, 20);
    assert.ok(ok, `${node} reloaded`);
    assert.ok(
      d.lines.slice(mark).some((l) => l.msg === 'auth_hmac changed by reload'),
      `${node}: a live change, not a restart: ${JSON.stringify(d.lines.slice(mark).map((l) => l.msg))}`,
    );
  };

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: [...NODES], subnet: SUBNET, logger });
  });
  after(async () => {
    for (const d of daemons.values()) await d.kill();
    await lab?.destroy();
  });

  test('election over IPv4, IPv6 and unicast: the higher priority becomes Master, adverts verify (no auth drops), status shows the mode and key', async () => {
    const b = await start('b', 100, { keys: [[1, KEY1]], active: 1 });
    const a = await start('a', 150, { keys: [[1, KEY1]], active: 1 });
    assert.ok(await all(a, 'master', 3000), 'a (150) becomes Master of IPv4, IPv6 and unicast');
    assert.ok(await all(b, 'backup', 3000), 'b (100) is Backup of all three');
    for (const vip of [VIP, VIP6, VIP_UNI]) assert.ok(await waitForHolder(lab, NODES, vip, 'a', 2000), vip);
    const marks = [a.transitions.length, b.transitions.length];
    await sleep(500);
    assert.deepEqual([a.transitions.length, b.transitions.length], marks, 'stable');
    for (const vip of [VIP, VIP6, VIP_UNI]) assert.deepEqual(await holders(lab, NODES, vip), ['a']);
    for (const d of [a, b]) {
      for (const name of INSTANCES) {
        const dr = await drops(d, name);
        for (const [k, n] of Object.entries(dr)) if (k.startsWith('hmac-')) assert.equal(n, 0, `${d.node} ${name} ${k}`);
      }
    }
    const st = (await b.status()).instances.find((i) => i.name === 'VI_auth')!;
    assert.deepEqual(st.authHmac, { mode: 'enforce', activeKey: 1, keyIds: [1] });
    const text = await b.cli(['status', '--state-dir', b.stateDir]);
    assert.match(text.stdout, /auth_hmac enforce key 1/);
  });

  test("a replayed advert (a's own, captured on the LAN and re-sent from c with a's address) is dropped as hmac-replay", async () => {
    const a = daemons.get('a')!;
    const b = daemons.get('b')!;
    const marks = [a.transitions.length, b.transitions.length];
    const before = (await drops(b))['hmac-replay'];
    const r = await lab.exec('c', 'python3', ['-c', REPLAY_PY, ADDR.a, `198.18.${SUBNET}.3`], 8000);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(await pollUntil(async () => ((await drops(b))['hmac-replay'] >= before + 3 ? true : undefined), 2000, 50), 'b counted the three replays');
    assert.deepEqual([a.transitions.length, b.transitions.length], marks);
  });

  for (const [what, auth, reason] of [
    ['no key', null, 'hmac-missing'],
    ['a wrong key', { keys: [[1, WRONG]], active: 1 } as Auth, 'hmac-bad'],
  ] as const) {
    test(`a rogue vipflow with priority 250 and ${what} cannot take the VIP: its adverts are dropped as ${reason}`, async () => {
      const a = daemons.get('a')!;
      const b = daemons.get('b')!;
      const marks = [a.transitions.length, b.transitions.length];
      const before = (await drops(a))[reason];
      const c = await start('c', 250, auth);
      assert.ok(await c.waitForState('master', 3000), 'the rogue, hearing no acceptable advert, makes itself Master');
      await sleep(1000);
      assert.equal(a.transitions.length, marks[0], 'a stays Master');
      assert.equal(b.transitions.length, marks[1], 'b stays Backup');
      for (const vip of [VIP, VIP6]) assert.deepEqual(await holders(lab, ['a', 'b'], vip), ['a'], `${vip} stays on a`);
      const after = (await drops(a))[reason];
      assert.ok(after - before >= 5, `a dropped ${after - before} rogue adverts as ${reason}`);
      assert.ok((await drops(a, 'VI_auth6'))[reason] >= 5, 'and the IPv6 ones');
      assert.ok(
        a.lines.some((l) => l.reason === reason && typeof l.msg === 'string' && l.msg.length > 20),
        'a log line names the likely cause',
      );
      await c.kill();
      daemons.delete('c');
      // A killed daemon leaves its VIPs: clear the rogue's so the cluster's can be counted alone.
      await lab.exec('c', 'ip', ['addr', 'del', `${VIP}/24`, 'dev', 'eth0']);
      await lab.exec('c', 'ip', ['addr', 'del', `${VIP6}/64`, 'dev', 'eth0']);
    });
  }

  test('key rotation by SIGHUP, node by node: add key 2, make it active, drop key 1 — no transition, no drop', async () => {
    const a = daemons.get('a')!;
    const b = daemons.get('b')!;
    const marks = [a.transitions.length, b.transitions.length];
    /** Every hmac-* counter of every instance of a and b, as one flat record. */
    const hmacDrops = async () => {
      const out: Record<string, number> = {};
      for (const d of [a, b])
        for (const name of INSTANCES) for (const [k, n] of Object.entries(await drops(d, name))) if (k.startsWith('hmac-')) out[`${d.node} ${name} ${k}`] = n;
      return out;
    };
    const dropsBefore = await hmacDrops();
    const both: Auth = {
      keys: [
        [1, KEY1],
        [2, KEY2],
      ],
      active: 1,
    };
    await reload(a, 'a', 150, both);
    await reload(b, 'b', 100, both);
    await sleep(300);
    await reload(b, 'b', 100, { ...both, active: 2 });
    await sleep(300);
    await reload(a, 'a', 150, { ...both, active: 2 });
    await sleep(300);
    await reload(a, 'a', 150, { keys: [[2, KEY2]], active: 2 });
    await reload(b, 'b', 100, { keys: [[2, KEY2]], active: 2 });
    await sleep(500);
    assert.equal(a.transitions.length, marks[0], 'a stayed Master');
    assert.equal(b.transitions.length, marks[1], 'b stayed Backup');
    assert.deepEqual(await hmacDrops(), dropsBefore, 'no advert of any instance dropped during the rotation');
    assert.deepEqual((await a.status()).instances[0]!.authHmac, { mode: 'enforce', activeKey: 2, keyIds: [2] });
    assert.deepEqual(await holders(lab, NODES, VIP), ['a']);
  });

  test('failover with the rotated key: SIGKILL of the Master, the Backup takes over; the Master comes back and preempts', async () => {
    const a = daemons.get('a')!;
    const b = daemons.get('b')!;
    const mark = b.transitions.length;
    const replaysBefore = (await drops(b))['hmac-replay'];
    process.kill(a.pid, 'SIGKILL');
    await a.exited;
    const t = await b.waitForState('master', 3000, mark, 'VI_auth');
    assert.ok(t, 'b becomes Master');
    assert.equal(t.reason, 'master-down-timer');
    assert.ok(await all(b, 'master', 3000, mark), 'of all three instances');
    const mark2 = b.transitions.length;
    const a2 = await start('a', 150, { keys: [[2, KEY2]], active: 2 });
    assert.ok(await all(a2, 'master', 3000), 'a preempts with signed adverts');
    assert.ok(await all(b, 'backup', 3000, mark2), "b steps down: a's adverts verify");
    for (const vip of [VIP, VIP6, VIP_UNI]) assert.ok(await waitForHolder(lab, ['a', 'b'], vip, 'a', 2000), vip);
    const dr = await drops(b);
    assert.equal(dr['hmac-replay'], replaysBefore, 'the restarted sender is not taken for a replay');
  });
  test("keepalived's rollout modes: enforce -> permissive -> receive-only -> off, node by node, without a transition; enforce beside an unsigned peer splits", async () => {
    const a = daemons.get('a')!;
    const b = daemons.get('b')!;
    const key: Auth = { keys: [[2, KEY2]], active: 2 };
    const marks = [a.transitions.length, b.transitions.length];
    const missingBefore = (await drops(b))['hmac-missing'];
    const steps: [VipflowDaemon, string, number, Auth | null][] = [
      [b, 'b', 100, { ...key, mode: 'permissive' }],
      [a, 'a', 150, { ...key, mode: 'permissive' }],
      [b, 'b', 100, { ...key, mode: 'receive-only' }],
      [a, 'a', 150, { ...key, mode: 'receive-only' }],
      [a, 'a', 150, null],
      [b, 'b', 100, null],
    ];
    for (const [d, node, prio, auth] of steps) {
      const mark = d.lines.length;
      d.writeConfig(conf(node, prio, auth));
      d.signal('SIGHUP');
      assert.ok(await pollUntil(async () => (d.lines.slice(mark).some((l) => l.msg === 'auth_hmac changed by reload') ? true : undefined), 3000, 20));
      await sleep(400);
      assert.deepEqual([a.transitions.length, b.transitions.length], marks, `no transition after ${node} -> ${auth?.mode ?? 'no auth_hmac'}`);
    }
    assert.equal((await drops(b))['hmac-missing'], missingBefore, 'the migration modes accept unsigned adverts');
    // The hazard: one node enforcing beside an unsigned peer drops its adverts and becomes Master too.
    const markB = b.transitions.length;
    const mark = b.lines.length;
    b.writeConfig(conf('b', 100, key));
    b.signal('SIGHUP');
    assert.ok(await b.waitForState('master', 3000, markB, 'VI_auth'), 'b (enforce) no longer hears a and becomes Master: split brain');
    assert.ok((await drops(b))['hmac-missing'] > missingBefore);
    assert.ok(
      b.lines.slice(mark).some((l) => l.reason === 'hmac-missing'),
      'logged with its likely cause',
    );
    const markB2 = b.transitions.length;
    b.writeConfig(conf('b', 100, null));
    b.signal('SIGHUP');
    assert.ok(await b.waitForState('backup', 3000, markB2, 'VI_auth'), 'without auth_hmac b hears a again and steps down');
  });

  test('control: the same rogue without auth_hmac anywhere takes over (what the key prevents)', async () => {
    const a = daemons.get('a')!;
    const b = daemons.get('b')!;
    for (const [d, node, prio] of [
      [a, 'a', 150],
      [b, 'b', 100],
    ] as const) {
      const mark = d.lines.length;
      d.writeConfig(conf(node, prio, null));
      d.signal('SIGHUP');
      assert.ok(await pollUntil(async () => (d.lines.slice(mark).some((l) => l.msg === 'configuration reloaded') ? true : undefined), 3000, 20));
    }
    const mark = a.transitions.length;
    const c = await start('c', 250, null);
    assert.ok(await a.waitForState('backup', 3000, mark), 'a yields to the rogue');
    assert.ok(await waitForHolder(lab, NODES, VIP, 'c', 2000), 'the rogue holds the VIP alone');
    await c.kill();
    daemons.delete('c');
  });
});
