// Real network: two vipflow daemons (nodes a and b) whose VRRP LAN is cut for
// protocol 112 only (nftables in each node) while both still reach NATS (the
// lab's `nats` node runs Debian's nats-server): split-brain detection over the
// KV view, with the `page` and the `fence` policy.
// Starts: a namespace lab, nats-server, vipflow daemons (twice: once per policy).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../core/logger.js';
import { addDropRule, clearDropRules, createLab, holders, pollUntil, sleep, sweepStaleLabs, type Lab, type SpawnedProcess } from '../../lab/index.js';
import type { VipflowDaemon } from '../../lab/vipflow.js';
import { ADVERT_MS, readEvents, startEventDaemon, startNats, stopNats } from './events-lab.js';

const logger = silentLogger();
const PREFIX = 'vfevs';
const SUBNET = 151;
const VIP_ADDR = `198.18.${SUBNET}.100`;
const VIP = `${VIP_ADDR}/24`;
const NODES = ['a', 'b'] as const;
const GRACE_MS = 3 * ADVERT_MS;
// b (priority 100) takes over Master_Down_Interval after a's last advert: 3 × 100 ms + Skew_Time.
const MASTER_DOWN_MS = 3 * ADVERT_MS + ((256 - 100) * ADVERT_MS) / 256;

describe('split brain over NATS while the VRRP LAN is partitioned', () => {
  let lab: Lab;
  let nats: SpawnedProcess | null = null;
  const all: VipflowDaemon[] = [];

  const pair = async (run: string, policy: 'page' | 'fence') => {
    const a = await startEventDaemon(lab, 'a', `a${run}`, 150, VIP, { splitBrain: policy });
    const b = await startEventDaemon(lab, 'b', `b${run}`, 100, VIP, { splitBrain: policy });
    all.push(a, b);
    assert.ok(await a.waitForState('master', 3000), 'a (150) Master');
    assert.ok(await b.waitForState('backup', 3000), 'b (100) Backup');
    await sleep(500);
    return { a, b };
  };
  /** Drops VRRP (IP protocol 112) between a and b, both ways; everything else (NATS) still flows. */
  const partition = async () => {
    for (const [n, peer] of [
      ['a', 'b'],
      ['b', 'a'],
    ] as const) {
      const err = await addDropRule(lab, n, 'input', `ip saddr ${lab.node(peer).ipv4} ip protocol vrrp`);
      assert.equal(err, undefined, `nft in ${n}`);
    }
  };
  const heal = async () => {
    for (const n of NODES) assert.equal(await clearDropRules(lab, n), undefined);
  };
  const splitBrainLine = (d: VipflowDaemon) => d.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('split brain:'), 5000);
  const stopBoth = async (a: VipflowDaemon, b: VipflowDaemon) => {
    assert.equal(await a.stop(), 0);
    assert.equal(await b.stop(), 0);
  };

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['a', 'b', 'nats'], subnet: SUBNET, ipv6: false, logger });
    nats = await startNats(lab);
  });
  after(async () => {
    for (const d of all) await d.kill();
    if (nats) await stopNats(nats);
    await lab?.destroy();
  });

  test('page: both nodes report the split brain within the grace, naming both; VRRP resolves it once healed, no flapping', async (t) => {
    const { a, b } = await pair('p', 'page');
    const markB = b.transitions.length;
    const t0 = performance.now();
    await partition();
    const became = await b.waitForState('master', 3000, markB);
    assert.ok(became, 'cut off from a, b becomes Master too');
    const seen = (d: VipflowDaemon) => splitBrainLine(d).then((l) => ({ l, ms: performance.now() - t0 }));
    const [da, db] = await Promise.all([seen(a), seen(b)]);
    const la = da.l;
    const lb = db.l;
    assert.ok(la && lb, 'both daemons detect it');
    // Cut → b's Master_Down_Interval → KV write → grace: well within a second here.
    assert.ok(Math.max(da.ms, db.ms) < MASTER_DOWN_MS + GRACE_MS + 500, `detected ${da.ms.toFixed(0)} / ${db.ms.toFixed(0)} ms after the cut`);
    // The overlap each node measured before reporting: at least the grace, and not much more.
    for (const l of [la, lb]) {
      assert.deepEqual(l.masters, ['a', 'b']);
      assert.ok(
        typeof l.overlapMs === 'number' && l.overlapMs >= GRACE_MS && l.overlapMs < GRACE_MS + 400,
        `detected ${String(l.overlapMs)} ms into the overlap`,
      );
    }
    t.diagnostic(
      `split brain logged ${da.ms.toFixed(0)} (a) / ${db.ms.toFixed(0)} (b) ms after the cut, ${String(la.overlapMs)} / ${String(lb.overlapMs)} ms into the double-Master overlap (grace ${GRACE_MS} ms); b became Master ${(became.seenAt - t0).toFixed(0)} ms after the cut`,
    );
    const events = await pollUntil(
      async () => {
        const ev = (await readEvents(lab, 'nats', ['cluster.split_brain'])).filter((e) => e.type === 'cluster.split_brain');
        return ev.length >= 2 ? ev : undefined;
      },
      5000,
      200,
    );
    assert.ok(events, 'cluster.split_brain events on the stream');
    assert.deepEqual(events.map((e) => e.node).sort(), ['a', 'b'], 'one from each node');
    for (const e of events)
      if (e.type === 'cluster.split_brain')
        assert.deepEqual({ ...e.data, masters: [...e.data.masters].sort() }, { instance: 'VI_ev', vrid: 50, masters: ['a', 'b'] });
    assert.deepEqual(await holders(lab, NODES, VIP_ADDR), ['a', 'b'], 'page changes nothing: both hold the VIP');

    const mA = a.transitions.length;
    const mB = b.transitions.length;
    await heal();
    assert.ok(await b.waitForState('backup', 2000, mB), 'healed: b hears a (150) and yields');
    await sleep(2000);
    assert.equal(a.transitions.length, mA, 'a never moved');
    assert.deepEqual(
      b.transitions.slice(mB).map((x) => `${x.from}>${x.to}`),
      ['master>backup'],
      'b: one transition, then quiet',
    );
    assert.ok(await a.waitForLog((l) => l.msg === 'split brain cleared: one Master again', 2000), 'a logs the end');
    await stopBoth(a, b);
  });

  test('fence: the lower priority steps down and holds; exactly one Master; back to VRRP after healing without flapping', async (t) => {
    await clearDropRules(lab, 'a');
    const { a, b } = await pair('f', 'fence');
    const mA = a.transitions.length;
    const mB = b.transitions.length;
    const t0 = performance.now();
    await partition();
    assert.ok(await b.waitForState('master', 3000, mB), 'cut off, b becomes Master');
    const fenced = await b.waitForState('fault', 3000, mB);
    assert.ok(fenced, 'b yields (priority 100 < 150) and holds in Fault');
    t.diagnostic(`fence: b in Fault ${(fenced.seenAt - t0).toFixed(0)} ms after the cut (Master_Down ~${MASTER_DOWN_MS.toFixed(0)} ms + grace ${GRACE_MS} ms)`);
    const lb = await b.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('split brain:'), 1000);
    assert.deepEqual(lb?.masters, ['a', 'b']);
    assert.equal(lb?.yields, 'b');
    // Held for a while: exactly one Master, one VIP holder.
    await sleep(300);
    for (let i = 0; i < 10; i++) {
      assert.deepEqual(await holders(lab, NODES, VIP_ADDR), ['a'], 'only a holds the VIP');
      await sleep(100);
    }
    assert.deepEqual(
      b.transitions.slice(mB).map((x) => `${x.from}>${x.to}`),
      ['backup>master', 'master>fault'],
      'b holds (no flapping during the partition)',
    );
    assert.equal(a.transitions.length, mA, 'a stays Master throughout');
    assert.deepEqual((await b.status()).events?.splitBrain.fenced, ['VI_ev']);

    await heal();
    assert.ok(await b.waitForLog((l) => l.msg === 'split-brain fence released: back to normal VRRP', 2000), 'b hears a again and releases the fence');
    assert.ok(await b.waitForState('backup', 2000, mB + 2), 'b returns to Backup');
    await sleep(2000);
    assert.deepEqual(
      b.transitions.slice(mB).map((x) => `${x.from}>${x.to}`),
      ['backup>master', 'master>fault', 'fault>backup'],
      'after healing: one return to Backup, then quiet',
    );
    assert.equal(a.transitions.length, mA, 'a never moved');
    assert.deepEqual(await holders(lab, NODES, VIP_ADDR), ['a']);
    await stopBoth(a, b);
  });

  test("fence: a crashed Master's leftover KV entry is not a split brain; the Backup takes over and keeps the VIP", async () => {
    const { a, b } = await pair('c', 'fence');
    const mB = b.transitions.length;
    await a.kill();
    assert.ok(await b.waitForState('master', 3000, mB), 'b takes over from the crashed a');
    // a's entry still says Master with a fresh heartbeat for up to 15 s; wait well past the grace.
    await sleep(1500);
    assert.deepEqual(
      b.transitions.slice(mB).map((x) => `${x.from}>${x.to}`),
      ['backup>master'],
      'b stays Master (not fenced)',
    );
    assert.ok(!b.lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('split brain')), 'no split brain reported');
    // (SIGKILL leaves a's copy of the VIP on its interface: a crashed daemon removes nothing.)
    assert.ok((await holders(lab, NODES, VIP_ADDR)).includes('b'), 'b holds the VIP');
    assert.equal(await b.stop(), 0);
  });
});
