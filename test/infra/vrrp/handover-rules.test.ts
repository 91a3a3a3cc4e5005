// The handover_drain rulesets (pure text) and the order in which the
// forwarder and the drain ask nft for them, on a simulated clock. The rules
// themselves run against the kernel in test/lab/handover-client.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  deleteRuleset,
  drainRuleset,
  forwardRuleset,
  handoverTable,
  ipv6Hex,
  staleHandoverTables,
  HANDOVER_TABLE_PREFIX,
} from '../../../infra/vrrp/handover-rules.js';
import { HandoverDrain, HandoverForwarder, type NftRun } from '../../../infra/vrrp/handover-nft.js';
import { silentLogger } from '../../../core/logger.js';
import { forwardWindowMs } from '../../../infra/vrrp/instance-runner.js';

test('table names: one per purpose and instance, family by purpose, characters nft refuses replaced', () => {
  assert.deepEqual(handoverTable('fwd', 4, 'VI-web.1'), { family: 'netdev', name: `${HANDOVER_TABLE_PREFIX}fwd_VI_web_1` });
  assert.deepEqual(handoverTable('drain', 4, 'VI_1'), { family: 'arp', name: `${HANDOVER_TABLE_PREFIX}drain_VI_1` });
  assert.deepEqual(handoverTable('drain', 6, 'VI_1'), { family: 'ip6', name: `${HANDOVER_TABLE_PREFIX}drain_VI_1` });
});

test('forward ruleset: replaces the table, remembers flows from their SYN, sends the rest for the VIPs to the old Master', () => {
  const text = forwardRuleset({
    table: handoverTable('fwd', 4, 'VI_1'),
    device: 'eth0',
    family: 4,
    vips: ['198.18.1.100', '198.18.1.101'],
    oldMaster: '198.18.1.1',
    flowTimeoutMs: 1500,
  });
  const lines = text.split('\n').map((l) => l.trim());
  assert.equal(lines[0], 'add table netdev vipflow_handover_fwd_VI_1');
  assert.equal(lines[1], 'delete table netdev vipflow_handover_fwd_VI_1');
  assert.ok(lines.includes('set flows { type ipv4_addr . inet_service . ipv4_addr; flags dynamic, timeout; timeout 2s; size 65536; }'), text);
  assert.ok(lines.includes('type filter hook ingress device "eth0" priority -500; policy accept;'));
  const rules = lines.slice(lines.indexOf('type filter hook ingress device "eth0" priority -500; policy accept;') + 1, -3);
  assert.deepEqual(rules, [
    'ip daddr != { 198.18.1.100, 198.18.1.101 } return',
    'meta l4proto != tcp return',
    'tcp flags & (syn | ack) == syn update @flows { ip saddr . tcp sport . ip daddr } return',
    'ip saddr . tcp sport . ip daddr @flows return',
    'fwd ip to 198.18.1.1 device "eth0"',
  ]);
  const v6 = forwardRuleset({
    table: handoverTable('fwd', 6, 'VI_6'),
    device: 'eth0',
    family: 6,
    vips: ['fd00:198:18::100'],
    oldMaster: 'fe80::1',
    flowTimeoutMs: 500,
  });
  assert.match(v6, /type ipv6_addr \. inet_service \. ipv6_addr; flags dynamic, timeout; timeout 1s;/);
  assert.match(v6, /ip6 daddr != \{ fd00:198:18::100 \} return/);
  assert.match(v6, /fwd ip6 to fe80::1 device "eth0"/);
  assert.throws(() => forwardRuleset({ table: handoverTable('fwd', 4, 'x'), device: 'eth0', family: 4, vips: [], oldMaster: '198.18.1.1', flowTimeoutMs: 1 }));
});

test('drain ruleset: ARP requests for the VIPs dropped (IPv4); Neighbor Solicitations for them by target (IPv6)', () => {
  const v4 = drainRuleset({ table: handoverTable('drain', 4, 'VI_1'), family: 4, vips: ['198.18.1.100'] });
  assert.match(v4, /^add table arp vipflow_handover_drain_VI_1\ndelete table arp vipflow_handover_drain_VI_1\ntable arp vipflow_handover_drain_VI_1 \{/);
  assert.match(v4, /arp operation request arp daddr ip \{ 198\.18\.1\.100 \} drop/);
  const v6 = drainRuleset({ table: handoverTable('drain', 6, 'VI_6'), family: 6, vips: ['fd00:198:18:147::100', '::1'] });
  assert.match(v6, /icmpv6 type nd-neighbor-solicit @th,64,128 0xfd000198001801470000000000000100 drop/);
  assert.match(v6, /icmpv6 type nd-neighbor-solicit @th,64,128 0x00000000000000000000000000000001 drop/);
});

test('ipv6Hex: every spelling of an address, bad input refused', () => {
  assert.equal(ipv6Hex('fd00::1'), '0xfd000000000000000000000000000001');
  assert.equal(ipv6Hex('FD00:0:0:0:0:0:0:1'), '0xfd000000000000000000000000000001');
  assert.equal(ipv6Hex('::'), '0x00000000000000000000000000000000');
  assert.throws(() => ipv6Hex('fd00::1::2'));
  assert.throws(() => ipv6Hex('198.18.1.1'));
});

test('stale tables: only ours, in the families we use, from `nft list tables`', () => {
  const out = [
    'table inet filter',
    'table netdev vipflow_handover_fwd_VI_1',
    'table arp vipflow_handover_drain_VI_1',
    'table ip vipflow_lb',
    'table ip6 vipflow_handover_drain_X',
    '',
  ].join('\n');
  const stale = staleHandoverTables(out);
  assert.deepEqual(stale, [
    { family: 'netdev', name: 'vipflow_handover_fwd_VI_1' },
    { family: 'arp', name: 'vipflow_handover_drain_VI_1' },
    { family: 'ip6', name: 'vipflow_handover_drain_X' },
  ]);
  assert.equal(deleteRuleset(stale.slice(0, 1)), 'add table netdev vipflow_handover_fwd_VI_1\ndelete table netdev vipflow_handover_fwd_VI_1\n');
});

/** A clock whose timers run when the test moves time, and an nft that records what it was given. */
function rig() {
  let now = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let next = 1;
  const clock = {
    now: () => now,
    setTimeout: (fn: () => void, ms: number) => (timers.set(next, { at: now + ms, fn }), next++),
    clearTimeout: (id: unknown) => void timers.delete(id as number),
  };
  const advance = (ms: number) => {
    now += ms;
    for (const [id, t] of [...timers].sort((a, b) => a[1].at - b[1].at))
      if (t.at <= now) {
        timers.delete(id);
        t.fn();
      }
  };
  const scripts: string[] = [];
  const nft: NftRun = async (_args, input) => (scripts.push(input), { ok: true, stdout: '' });
  const target = { instance: 'VI_1', family: 4 as const, device: 'eth0', vips: ['198.18.1.100'] };
  return { clock, advance, scripts, nft, target };
}
const what = (s: string) => (s.includes('fwd ip to') ? `fwd ${/fwd ip to (\S+)/.exec(s)![1]}` : s.includes('arp operation') ? 'drain' : 'delete');

test('forwarder: armed toward the Master a Backup hears, kept for the window after a handover, then removed', async () => {
  const r = rig();
  const f = new HandoverForwarder(r.target, 1000, r.nft, r.clock, silentLogger());
  f.heard('198.18.1.1');
  f.heard('198.18.1.1');
  r.advance(50);
  f.heard('198.18.1.2');
  r.advance(50);
  f.becameMaster(100);
  r.advance(999);
  await f.disarm().then(() => undefined);
  assert.deepEqual(r.scripts.map(what), ['fwd 198.18.1.1', 'fwd 198.18.1.2', 'delete'], 'the same Master heard again costs no nft run');
  const g = rig();
  const h = new HandoverForwarder(g.target, 1000, g.nft, g.clock, silentLogger());
  h.heard('198.18.1.1');
  g.advance(10);
  h.becameMaster(100);
  g.advance(999);
  await Promise.resolve();
  assert.deepEqual(g.scripts.map(what), ['fwd 198.18.1.1']);
  g.advance(1);
  await h.disarm();
  assert.deepEqual(g.scripts.map(what), ['fwd 198.18.1.1', 'delete'], 'removed when the window ends, once');
});

test('forwarder: after a crash (the old Master silent for more than two intervals) the table goes at once', async () => {
  const r = rig();
  const f = new HandoverForwarder(r.target, 1000, r.nft, r.clock, silentLogger());
  f.heard('198.18.1.1');
  r.advance(361);
  f.becameMaster(100);
  await f.disarm();
  assert.deepEqual(r.scripts.map(what), ['fwd 198.18.1.1', 'delete']);
});

test('drain: one table while it lasts, removed once', async () => {
  const r = rig();
  const d = new HandoverDrain(r.target, r.nft, silentLogger());
  d.start();
  d.start();
  await d.end();
  await d.end();
  assert.deepEqual(r.scripts.map(what), ['drain', 'delete']);
});

test("the new Master's forward window ends a quarter of the drain before the old Master's drain does", () => {
  assert.equal(forwardWindowMs(1000), 750);
  assert.equal(forwardWindowMs(500), 375);
});

test('forwarder: a reload that changes the VIPs rewrites an armed table; with none left it goes', async () => {
  const r = rig();
  const f = new HandoverForwarder(r.target, 1000, r.nft, r.clock, silentLogger());
  f.setVips(['198.18.1.100', '198.18.1.101']);
  assert.deepEqual(r.scripts, [], 'nothing armed: nothing to rewrite');
  f.heard('198.18.1.1');
  f.setVips(['198.18.1.102']);
  f.setVips([]);
  await f.disarm();
  assert.deepEqual(r.scripts.map(what), ['fwd 198.18.1.1', 'fwd 198.18.1.1', 'delete']);
  assert.match(r.scripts[0]!, /198\.18\.1\.100, 198\.18\.1\.101/);
  assert.match(r.scripts[1]!, /ip daddr != \{ 198\.18\.1\.102 \}/);
});
