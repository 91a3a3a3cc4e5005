// The runner, machine and announcer together on the VirtualLan, in simulated
// time (issue 19): a spoofed priority-0 advert from the Master's address makes
// the Backup take over briefly, and the Master re-announces the VIP right after
// the Backup's announcement and again garp_lower_prio_delay later; a flood of
// lower-priority adverts gets a bounded number of answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeVrrp, parseAddress } from '../../../wire/codec/index.js';
import { VirtualLan, type HostEvent } from '../../../sim/index.js';

const VIP = '198.18.0.100';
const A = '198.18.0.1';
const B = '198.18.0.2';

function pair(): VirtualLan {
  const l = new VirtualLan();
  for (const [name, priority, address] of [
    ['b', 250, B],
    ['a', 254, A],
  ] as const) {
    const config = [
      'vrrp_instance VI_1 {',
      '  interface eth0',
      '  virtual_router_id 51',
      '  version 3',
      `  priority ${priority}`,
      '  advert_int 1',
      '  garp_master_delay 1',
      '  garp_lower_prio_delay 2',
      `  virtual_ipaddress {\n    ${VIP}/24\n  }`,
      '}',
    ].join('\n');
    l.addNode(name, { interfaces: [{ name: 'eth0', addresses: [`${address}/24`] }], config });
  }
  l.runUntil(() => l.stateOf('a') === 'master' && l.stateOf('b') === 'backup', 10_000);
  l.runFor(3000); // past a's garp_master_delay burst
  return l;
}

function advert(source: string, priority: number): { source: string; payload: Buffer } {
  const payload = encodeVrrp(
    { version: 3, vrid: 51, priority, maxAdvertIntervalCs: 100, addresses: [parseAddress(VIP)!] },
    { source: parseAddress(source)!, destination: parseAddress('224.0.0.18')! },
  );
  return { source, payload };
}

const announces = (l: VirtualLan, node: string, since: number) =>
  l.events.filter((e): e is Extract<HostEvent, { kind: 'announce' }> => e.node === node && e.kind === 'announce' && e.at >= since);

test("a spoofed priority-0 takeover: a's burst follows b's at once, and again garp_lower_prio_delay later", () => {
  const l = pair();
  // Just after a's advert, so b's Skew_Time (~23 ms) ends before a's next one.
  const lastAdvert = l.events.findLast((e) => e.node === 'a' && e.kind === 'advert')!.at;
  l.runFor(lastAdvert + 5 - l.now());
  const t0 = l.now();
  l.inject('lan0', advert(A, 0));
  l.runFor(3000);
  const bTook = l.transitions({ node: 'b' }).filter((t) => t.at >= t0);
  assert.deepEqual(
    bTook.map((t) => `${t.from}->${t.to}`),
    ['backup->master', 'master->backup'],
    'b took over and handed back',
  );
  assert.equal(l.stateOf('a'), 'master');
  const bBurst = announces(l, 'b', t0);
  const aBursts = announces(l, 'a', t0);
  assert.equal(bBurst.length, 5, "b's garp_master_repeat");
  const aAt = [...new Set(aBursts.map((e) => e.at))];
  assert.equal(aAt.length, 2, `a announced at ${aAt.join(', ')}`);
  assert.ok(aAt[0]! >= bBurst[0]!.at && aAt[0]! - bBurst[0]!.at <= 5, "a's answer right after b's announcement");
  assert.equal(aAt[1]! - aAt[0]!, 2000, 'the second burst, garp_lower_prio_delay later');
  assert.equal(aBursts.length, 10, 'garp_lower_prio_repeat (5) frames each');
  const counters = l.runnerOf('a').status().counters;
  assert.equal(counters.priorityZeroReceived, 0, 'a dropped the spoof as its own packet');
});

test('a flood of 20,000 lower-priority adverts a second from one sender: one answer per advert interval', () => {
  const l = pair();
  const t0 = l.now();
  const sentBefore = l.events.filter((e) => e.node === 'a' && e.kind === 'advert').length;
  // Priorities 1-99 in turn: no packet repeats within the flood gate's 10 ms
  // (wire/hub/flood-gate.ts sheds identical copies first), so every advert
  // reaches the machine and the answer limit alone bounds the sends.
  for (let ms = 0; ms < 3000; ms++) {
    for (let i = 0; i < 20; i++) l.inject('lan0', advert('198.18.0.77', 1 + ((ms * 20 + i) % 99)));
    l.runFor(1);
  }
  const sent = l.events.filter((e) => e.node === 'a' && e.kind === 'advert').length - sentBefore;
  assert.ok(sent <= 3 + 3 + 1, `a sent ${sent} adverts in 3 s`);
  const s = l.runnerOf('a').status().counters;
  assert.ok(s.lowerPriorityRepliesSuppressed! >= 60_000 - 4, `${s.lowerPriorityRepliesSuppressed} answers withheld`);
  assert.equal(l.stateOf('a'), 'master');
  assert.equal(l.stateOf('b'), 'backup');
  const bursts = new Set(announces(l, 'a', t0).map((e) => e.at));
  assert.ok(bursts.size <= 4, `a's bursts at ${[...bursts].join(', ')}`);
});
