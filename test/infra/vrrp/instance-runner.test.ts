// InstanceRunner through the production path in simulated time: each node of
// the VirtualLan plans its keepalived.conf with planInstance and runs
// InstanceRunners behind a WireHub whose sockets are virtual, so adverts are
// encoded by the runner, decoded and routed by the hub, screened by
// screenAdvert and only then reach the machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { masterDownIntervalMs, skewTimeMs } from '../../../actors/vrrp/index.js';
import { encodeVrrp, parseAddress, simplePassword, type VrrpV2Advert } from '../../../wire/codec/index.js';
import { HANDOVER_OVERLAP_MS } from '../../../infra/vrrp/instance-runner.js';
import { VirtualLan, type HostEvent } from '../../../sim/index.js';

const VIP = '198.18.0.100';
const mdi = (priority: number) => masterDownIntervalMs({ version: 3, priority, masterAdvertIntervalCs: 100 });

function addNode(l: VirtualLan, name: string, priority: number, lastByte: number, lines: string[] = ['version 3']): void {
  const config = [
    'vrrp_instance VI_1 {',
    '  interface eth0',
    '  virtual_router_id 51',
    `  priority ${priority}`,
    '  advert_int 1',
    ...lines.map((x) => `  ${x}`),
    `  virtual_ipaddress {\n    ${VIP}/24\n  }`,
    '}',
  ].join('\n');
  l.addNode(name, { interfaces: [{ name: 'eth0', addresses: [`198.18.0.${lastByte}/24`] }], config });
}

/** Index and time of the first event of `node` matching `pred` at or after `since`. */
function first(l: VirtualLan, node: string, pred: (e: HostEvent) => boolean, since = 0): { i: number; at: number } {
  const i = l.events.findIndex((e) => e.node === node && e.at >= since && pred(e));
  assert.ok(i >= 0, `no such event of ${node} since ${since}`);
  return { i, at: l.events[i]!.at };
}

const advertOf = (priority?: number) => (e: HostEvent) => e.kind === 'advert' && (priority === undefined || e.priority === priority);
const addOf = (e: HostEvent) => e.kind === 'address' && e.address === VIP && e.action === 'add';
const removeOf = (e: HostEvent) => e.kind === 'address' && e.address === VIP && e.action !== 'add';
const announceOf = (e: HostEvent) => e.kind === 'announce' && e.address === VIP;

test('bad TTL, wrong VRID, wrong password and another address list are dropped and counted; none resets the Master_Down_Timer', () => {
  const l = new VirtualLan();
  const auth = ['version 2', 'authentication {', '  auth_type PASS', '  auth_pass secret', '}'];
  addNode(l, 'b', 100, 2, auth);
  const source = '198.18.0.9';
  const advert = (o: Partial<VrrpV2Advert> = {}): Buffer =>
    encodeVrrp(
      {
        version: 2,
        vrid: 51,
        priority: 200,
        advertIntervalSec: 1,
        authType: 'simple',
        authData: simplePassword('secret'),
        addresses: [parseAddress(VIP)!],
        ...o,
      },
      { source: parseAddress(source)!, destination: parseAddress('224.0.0.18')! },
    );
  const bad = [
    { payload: advert(), ttl: 254 },
    { payload: advert({ vrid: 52 }) },
    { payload: advert({ authData: simplePassword('guess') }) },
    { payload: advert({ addresses: [parseAddress('198.18.0.101')!] }) },
  ];
  for (let t = 500; t < 3_600; t += 1_000) {
    l.runFor(t - l.now());
    for (const p of bad) l.inject('lan0', { source, ...p });
  }
  const becameMaster = l.runUntil(() => l.stateOf('b') === 'master', 1_000);
  const mdiV2 = masterDownIntervalMs({ version: 2, priority: 100, masterAdvertIntervalCs: 100 });
  assert.equal(l.transitions({ node: 'b' }).find((e) => e.to === 'master')?.at, mdiV2, 'Master on its own timer: no bad advert was accepted');
  assert.ok(becameMaster !== null);
  const drops = l.runnerOf('b').status().drops;
  assert.equal(drops['bad-ttl'], 4);
  assert.equal(drops['auth-mismatch'], 4);
  assert.equal(drops['address-list-mismatch'], 4);
  assert.equal(drops['unknown-vrid'], 0, 'another VRID never reaches the runner...');
  assert.equal(l.hubOf('b')!.stats.unknownVrid, 4, '...the hub counts it');
  assert.equal(l.hubOf('b')!.stats.received, 16);

  // The same advert without a defect is heard: a Master steps down for priority 200.
  l.inject('lan0', { source, payload: advert() });
  l.runFor(1);
  assert.equal(l.stateOf('b'), 'backup');
  assert.equal(l.transitions({ node: 'b' }).at(-1)?.reason, 'higher-priority-advert');
  assert.equal(l.runnerOf('b').status().lastMaster, source);
  l.dispose();
});

test('the Master is killed: the Backup takes over Master_Down_Interval after its last advert, adds the VIP and sends gratuitous ARP', () => {
  const l = new VirtualLan();
  addNode(l, 'a', 150, 1);
  addNode(l, 'b', 100, 2);
  l.runFor(10_400);
  assert.deepEqual(l.holders(VIP), ['a']);
  l.kill('a');
  const last = l.lastAdvertAt('a')!;
  l.runFor(5_000);
  const up = l.transitions({ node: 'b' }).find((e) => e.to === 'master')!;
  assert.equal(up.at - last, mdi(100));
  assert.equal(up.reason, 'master-down-timer');
  assert.deepEqual(l.holders(VIP), ['b']);
  assert.equal(first(l, 'b', addOf).at, up.at);
  const garps = l.events.filter((e) => e.node === 'b' && announceOf(e) && e.at === up.at);
  assert.ok(garps.length >= 1, 'gratuitous ARP for the VIP at the takeover');
  assert.ok(l.runnerOf('b').status().announcements.framesSent >= garps.length);
  l.dispose();
});

test('graceful stop of the Master: priority 0, takeover after Skew_Time, and the VIPs stay until the new advert is heard plus HANDOVER_OVERLAP_MS', async () => {
  const delayMs = 1;
  const l = new VirtualLan({ delayMs });
  addNode(l, 'a', 150, 1);
  addNode(l, 'b', 100, 2);
  l.runFor(8_300);
  const t0 = l.now();
  let done = false;
  const stopped = l.stop('a').then(() => (done = true));
  assert.equal(first(l, 'a', advertOf(), t0).at, t0);
  assert.ok(
    l.events.some((e) => e.node === 'a' && e.at === t0 && e.kind === 'advert' && e.priority === 0),
    'priority 0 sent at once',
  );
  l.runFor(3_000);
  await stopped;
  assert.ok(done);

  const up = l.transitions({ node: 'b', since: t0 }).find((e) => e.to === 'master')!;
  assert.equal(up.at - t0, delayMs + skewTimeMs({ version: 3, priority: 100, masterAdvertIntervalCs: 100 }));
  assert.equal(up.reason, 'priority-zero-skew');
  const bAdvert = first(l, 'b', advertOf(100), t0).at;
  const released = first(l, 'a', removeOf, t0).at;
  assert.equal(released, bAdvert + delayMs + HANDOVER_OVERLAP_MS, "a releases HANDOVER_OVERLAP_MS after b's first advert reached it");
  assert.deepEqual(l.vipGaps(VIP), [], 'at every simulated instant some node held the VIP');
  assert.deepEqual(l.vipOverlaps(VIP, t0), [{ from: up.at, to: released }]);
  assert.deepEqual(l.holders(VIP), ['b']);
  assert.equal(l.stateOf('a'), 'stopped');
  l.dispose();
});

test('a new Master after silence: the gratuitous ARP burst, its first advert, the VIP, and only then the transition is reported', () => {
  const l = new VirtualLan({ delayMs: 1 });
  addNode(l, 'a', 150, 1, ['version 3', 'garp_master_repeat 4']);
  addNode(l, 'b', 100, 2);
  // Where the events list stood when each transition reached the listeners.
  const reportedAt = new Map<string, number>();
  const push = l.timeline.push.bind(l.timeline);
  l.timeline.push = (...entries) => {
    for (const e of entries) reportedAt.set(`${e.node} ${e.to} ${e.at}`, l.events.length);
    return push(...entries);
  };
  l.runFor(5_000);
  const up = l.transitions({ node: 'a' }).find((e) => e.to === 'master')!;
  const atTakeover = l.events.map((e, i) => ({ e, i })).filter(({ e }) => e.node === 'a' && e.at === up.at);
  assert.deepEqual(
    atTakeover.map(({ e }) => e.kind),
    ['announce', 'announce', 'announce', 'announce', 'advert', 'address'],
  );
  assert.equal(reportedAt.get(`a master ${up.at}`), atTakeover.at(-1)!.i + 1, 'reported after every frame of the takeover');
  l.dispose();
});

test('preemption: the new Master adds and announces its VIP before its first advert; the old one keeps it HANDOVER_OVERLAP_MS after hearing it', () => {
  const delayMs = 2;
  const l = new VirtualLan({ delayMs });
  addNode(l, 'a', 150, 1);
  addNode(l, 'b', 100, 2);
  l.runFor(5_000);
  l.kill('a');
  l.runFor(6_000);
  assert.deepEqual(l.holders(VIP), ['b']);
  const back = l.now();
  l.restart('a');
  l.runFor(10_000);
  assert.deepEqual(l.masters(), ['a/VI_1']);

  const up = l.transitions({ node: 'a', since: back }).find((e) => e.to === 'master')!;
  assert.equal(up.at - back, mdi(150));
  const add = first(l, 'a', addOf, back);
  const garp = first(l, 'a', announceOf, back);
  const advert = first(l, 'a', advertOf(150), back);
  assert.ok(add.at === up.at && garp.at === up.at && advert.at === up.at, 'all at the takeover instant');
  assert.ok(add.i < advert.i, 'VIP added before the first advert');
  assert.ok(garp.i < advert.i, 'gratuitous ARP before the first advert');

  const down = l.transitions({ node: 'b', since: back }).find((e) => e.from === 'master')!;
  assert.equal(down.at, advert.at + delayMs, "b steps down when a's advert arrives");
  assert.equal(first(l, 'b', removeOf, back).at, down.at + HANDOVER_OVERLAP_MS);
  assert.deepEqual(l.vipGaps(VIP, back), [], 'the VIP was never nowhere');
  assert.deepEqual(l.vipOverlaps(VIP, back), [{ from: up.at, to: down.at + HANDOVER_OVERLAP_MS }]);
  assert.deepEqual(l.holders(VIP), ['a']);
  l.dispose();
});
