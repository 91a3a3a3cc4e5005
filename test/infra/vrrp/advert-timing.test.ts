// Takeover time and advert jitter: the pure bookkeeping, then through the
// production runner on a VirtualLan in simulated time (exact figures).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { masterDownIntervalMs, skewTimeMs } from '../../../actors/vrrp/index.js';
import { AdvertTiming } from '../../../infra/vrrp/advert-timing.js';
import { VirtualLan } from '../../../sim/index.js';

const A = new Uint8Array([198, 18, 0, 1]);
const B = new Uint8Array([198, 18, 0, 2]);
const C = new Uint8Array([198, 18, 0, 3]);

test('takeover: from the old Master last heard to the first advert as Master, only for a Backup that takes over', () => {
  const t = new AdvertTiming();
  t.transition('initialize', 'backup');
  assert.equal(t.heard(1000, A, 150, 1000), null, 'the first advert has no interval');
  assert.equal(t.heard(2003, Uint8Array.from(A), 150, 1000), 3, 'late by 3 ms (the same address in another array is the same Master)');
  assert.equal(t.heard(2990, A, 150, 1000), -13, 'early');
  assert.equal(t.heard(3990, B, 160, 1000), null, 'another Master: no interval');
  assert.equal(t.heard(4500, B, 0, 1000), null, 'priority 0 is a release, not a scheduled advert');
  assert.equal(t.heard(5000, B, 160, 1000), null, 'and the sequence starts again after it');
  t.transition('backup', 'master');
  assert.equal(t.sent(8650), 3650);
  assert.equal(t.sent(9650), null, 'only the first advert');
  assert.equal(t.heard(9700, C, 100, 1000), null, 'a Master measures no jitter');
  t.transition('master', 'backup');
  t.transition('backup', 'fault');
  t.transition('fault', 'backup');
  t.transition('backup', 'master');
  assert.equal(t.sent(20_000), 10_300, 'from the last advert heard, however old');

  const fresh = new AdvertTiming();
  fresh.transition('initialize', 'master');
  assert.equal(fresh.sent(10), null, 'starting as Master is no takeover');
  const never = new AdvertTiming();
  never.transition('initialize', 'backup');
  never.transition('backup', 'master');
  assert.equal(never.sent(3000), null, 'no Master was ever heard');
});

test('on a VirtualLan: a crash takes Master_Down_Interval, a graceful stop Skew_Time; a steady Master has no jitter', async () => {
  const node = (l: VirtualLan, name: string, priority: number, lastByte: number, samples: { takeover: number[]; jitter: number[] }) =>
    l.addNode(name, {
      interfaces: [{ name: 'eth0', addresses: [`198.18.0.${lastByte}/24`] }],
      config: `vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority ${priority}\n advert_int 1\n version 3\n virtual_ipaddress {\n 198.18.0.100/24\n }\n}`,
      timing: { takeover: (instance, ms) => samples.takeover.push(ms), advertJitter: (ms) => samples.jitter.push(ms) },
    });
  const a = { takeover: [] as number[], jitter: [] as number[] };
  const b = { takeover: [] as number[], jitter: [] as number[] };
  const l = new VirtualLan();
  node(l, 'a', 150, 1, a);
  node(l, 'b', 100, 2, b);
  l.runFor(10_400);
  assert.ok(b.jitter.length >= 5, `${b.jitter.length} intervals measured on the Backup`);
  assert.ok(
    b.jitter.every((j) => j === 0),
    `simulated time is exact: ${b.jitter.join(',')}`,
  );
  assert.deepEqual(a.jitter, [], 'the Master measures none');
  l.kill('a');
  l.runFor(5_000);
  assert.deepEqual(b.takeover, [masterDownIntervalMs({ version: 3, priority: 100, masterAdvertIntervalCs: 100 })]);
  assert.deepEqual(a.takeover, [], 'a started as Master (after its own Master_Down timer, hearing nobody)');

  l.dispose();

  // Graceful: the Master sends priority 0 and the Backup takes over Skew_Time after hearing it.
  const g = new VirtualLan();
  const ga = { takeover: [] as number[], jitter: [] as number[] };
  const gb = { takeover: [] as number[], jitter: [] as number[] };
  node(g, 'a', 150, 1, ga);
  node(g, 'b', 100, 2, gb);
  g.runFor(8_300);
  const stopped = g.stop('a');
  g.runFor(3_000);
  await stopped;
  assert.deepEqual(gb.takeover, [skewTimeMs({ version: 3, priority: 100, masterAdvertIntervalCs: 100 })]);
  g.dispose();
});
