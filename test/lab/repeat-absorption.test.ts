// Repeat absorption on real sockets: once armed from inside the packet
// handler, the addon counts exact repeats of a datagram (for its VRID)
// instead of handing them over, and hands over anything else, ending the
// absorption. Then a Backup on the real hub and daemon clock hears a Master
// at 0.1 s adverts: it stays Backup on absorbed repeats, counts them all, and
// takes over Master_Down_Interval after the last one. Starts: a namespace
// lab (n1, n2, n3) and the wire addon's sockets.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../core/logger.js';
import { createLab, sleep, sweepStaleLabs, type Lab } from '../../lab/index.js';
import { encodeVrrp, parseAddress } from '../../wire/codec/index.js';
import { WireHub } from '../../wire/hub/vrid-hub.js';
import { addressText, openVrrpSocket, ReceiveModerator, takenRepeats, type ReceivedPacket, type VrrpSocket } from '../../wire/socket/index.js';
import { InstanceRunner } from '../../infra/vrrp/instance-runner.js';
import { planInstance } from '../../infra/vrrp/plan.js';
import { masterDownIntervalMs } from '../../actors/vrrp/index.js';
import { watchedClock } from '../../daemon/watched-clock.js';
import { host, instanceFrom } from '../infra/vrrp/fixtures.js';
import { socketOpener } from './socket-opener.js';

const logger = silentLogger();
const PREFIX = 'vfrabs';
const SUBNET = 236;
const VRID = 51;

describe('repeat absorption', () => {
  let lab: Lab;
  const sockets: VrrpSocket[] = [];
  const open = socketOpener(() => lab, sockets);
  let hub: WireHub | null = null;
  let runner: InstanceRunner | null = null;

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['n1', 'n2', 'n3'], subnet: SUBNET, ipv6: true, logger });
  });

  after(async () => {
    await runner?.stop();
    hub?.close();
    for (const s of sockets) s.close();
    await lab?.destroy();
  });

  for (const family of [4, 6] as const) {
    test(`IPv${family}: exact repeats are counted, anything else for the VRID is handed over and ends it`, async () => {
      const rx = open('n2', family);
      const absorber = rx.repeats;
      assert.ok(absorber, 'the addon socket absorbs repeats');
      const got: { bytes: string; from: string; ttl: number }[] = [];
      let armOnNext = false;
      rx.onPacket((p: ReceivedPacket) => {
        got.push({ bytes: p.payload.toString('hex'), from: addressText(p.source), ttl: p.ttl });
        if (armOnNext) {
          armOnNext = false;
          assert.equal(absorber.arm(p.payload[1]!), true, 'armed from inside the handler');
        }
      });
      assert.equal(absorber.arm(VRID), false, 'not outside a handler');
      const addressOf = (node: string) => (family === 4 ? lab.node(node).ipv4! : lab.node(node).ipv6!);
      const tx1 = open('n1', family, { sourceAddress: addressOf('n1') });
      const tx3 = open('n3', family, { sourceAddress: addressOf('n3') });
      const low = open('n1', family, { sourceAddress: addressOf('n1'), hopsForTesting: 64 });
      const a = Buffer.from([0x31, VRID, 200, 1, 0, 100, 0, 0]);
      const b = Buffer.from([0x31, VRID, 150, 1, 0, 100, 0, 0]);
      const other = Buffer.from([0x31, VRID + 1, 200, 1, 0, 100, 0, 0]);
      const settle = async (n: number) => {
        const until = performance.now() + 2000;
        while (got.length < n && performance.now() < until) await sleep(5);
        await sleep(30);
      };
      const taken = takenRepeats();
      taken.arrivedAgoMs = -1;

      armOnNext = true;
      assert.ok(tx1.send(a).ok);
      await settle(1);
      assert.equal(got.length, 1, 'the first is handed over');
      for (let i = 0; i < 5; i++) {
        assert.ok(tx1.send(a).ok);
        await sleep(3);
      }
      assert.ok(tx1.send(other).ok, 'another VRID');
      await settle(2);
      assert.equal(got.length, 2, 'only the other VRID was handed over');
      assert.equal(got[1]!.bytes, other.toString('hex'));
      assert.equal(absorber.pending(VRID), 5);
      assert.equal(absorber.take(VRID, taken), 5);
      assert.ok(taken.arrivedAgoMs >= 30 && taken.arrivedAgoMs < 1000, `latest arrived ${taken.arrivedAgoMs} ms ago`);
      assert.ok(taken.readAgoMs <= taken.arrivedAgoMs && taken.readAgoMs >= 0, `read ${taken.readAgoMs} ms ago`);
      // The five arrivals, oldest first, about 3 ms apart as sent.
      assert.equal(taken.recentCount, 5);
      const recent = Array.from(taken.recentAgoMs.subarray(0, 5));
      for (let k = 1; k < 5; k++) assert.ok(recent[k - 1]! > recent[k]!, `in order: ${recent.join(' ')}`);
      assert.equal(recent[4], taken.arrivedAgoMs);
      assert.equal(absorber.pending(VRID), 0);

      // Each of these differs in one thing; each is handed over and ends the absorption, so the next `a` is too.
      const variants: [string, () => void, string][] = [
        ['another sender', () => assert.ok(tx3.send(a).ok), addressOf('n3')],
        ['other bytes', () => assert.ok(tx1.send(b).ok), addressOf('n1')],
        ['another TTL', () => assert.ok(low.send(a).ok), addressOf('n1')],
      ];
      for (const [what, send, from] of variants) {
        absorber.disarm(VRID);
        armOnNext = true;
        const had: number = got.length;
        assert.ok(tx1.send(a).ok);
        await settle(had + 1);
        assert.equal(got.length, had + 1, `${what}: the arming advert`);
        send();
        assert.ok(tx1.send(a).ok);
        await settle(had + 3);
        assert.equal(got.length, had + 3, `${what}: handed over, and so was the repeat after it`);
        assert.equal(got[had + 1]!.from, from, what);
        assert.equal(got[had + 2]!.bytes, a.toString('hex'), `${what}: the repeat after it`);
        assert.equal(absorber.pending(VRID), 0, what);
      }
      if (family === 4) assert.equal(got.at(-2)!.ttl, 64);

      // More repeats than the slot keeps arrivals of: the count is whole, the arrivals are the latest 8, in order.
      absorber.disarm(VRID);
      armOnNext = true;
      const before: number = got.length;
      assert.ok(tx1.send(a).ok);
      await settle(before + 1);
      for (let i = 0; i < 11; i++) {
        assert.ok(tx1.send(a).ok);
        await sleep(2);
      }
      await sleep(30);
      assert.equal(got.length, before + 1, 'all 11 absorbed');
      assert.equal(absorber.take(VRID, taken), 11);
      assert.equal(taken.recentCount, 8);
      const latest = Array.from(taken.recentAgoMs);
      for (let k = 1; k < 8; k++) assert.ok(latest[k - 1]! > latest[k]!, `in order: ${latest.join(' ')}`);
      assert.equal(latest[7], taken.arrivedAgoMs);

      // A disarm hands everything over again.
      absorber.disarm(VRID);
      armOnNext = true;
      const n = got.length;
      assert.ok(tx1.send(a).ok);
      await settle(n + 1);
      absorber.disarm(VRID);
      assert.ok(tx1.send(a).ok);
      await settle(n + 2);
      assert.equal(got.length, n + 2);
      assert.ok((rx.stats.absorbed ?? 0) >= 5);
    });
  }

  test('the arrival of a repeat read late (a held socket) is its kernel stamp, not the read', async () => {
    const moderator = new ReceiveModerator({ now: () => performance.now(), setTimeout: () => 0, clearTimeout: () => undefined, refresh: () => undefined });
    const rx = open('n2', 4, { moderator });
    const got: number[] = [];
    rx.onPacket((p) => {
      got.push(p.payload[2]!);
      if (got.length === 1) assert.ok(rx.repeats!.arm(VRID));
    });
    const tx = open('n1', 4, { sourceAddress: lab.node('n1').ipv4! });
    const a = Buffer.from([0x31, VRID, 200, 1, 0, 100, 0, 0]);
    assert.ok(tx.send(a).ok);
    const until = performance.now() + 2000;
    while (got.length === 0 && performance.now() < until) await sleep(5);
    rx.setModeration!(50);
    // Two close together hold the socket (the moderator's timer never fires): the repeats wait in the queue.
    assert.ok(tx.send(a).ok);
    assert.ok(tx.send(a).ok);
    await sleep(20);
    assert.ok(tx.send(a).ok);
    const sentAt = performance.now();
    await sleep(120);
    rx.drain!();
    const taken = takenRepeats();
    const count = rx.repeats!.take(VRID, taken);
    assert.ok(count >= 1, `absorbed ${count}`);
    const arrivedAt = performance.now() - taken.arrivedAgoMs;
    assert.ok(Math.abs(arrivedAt - sentAt) < 5, `arrival ${(arrivedAt - sentAt).toFixed(3)} ms from the send`);
    assert.ok(taken.readAgoMs < 10, `read ${taken.readAgoMs} ms ago`);
    assert.deepEqual(got, [200], 'only the first was handed over');
  });

  test('a Backup at 0.1 s adverts stays Backup on absorbed repeats and takes over Master_Down_Interval after the last', async () => {
    const n2 = lab.node('n2').ipv4!;
    const vip = `198.18.${SUBNET}.100`;
    hub = new WireHub(logger, (o) => openVrrpSocket({ ...o, netns: lab.node('n2').ns }));
    const clock = watchedClock(logger, { late: 0, worstLateMs: 0 }, { beforeFire: () => hub!.drainAll() });
    const planned = planInstance(
      instanceFrom(`  state BACKUP\n  version 3\n  priority 100\n  advert_int 0.1\n  virtual_ipaddress {\n    ${vip}/32\n  }`),
      host({ name: 'eth0', up: true, addresses: [{ address: n2, family: 4, prefix: 24 }] }),
    );
    assert.ok(planned.ok);
    const announceIo = {
      interfaceOf: () => ({ mac: new Uint8Array(6), linkLocal: null }),
      sendBurst: (frames: readonly unknown[], rounds: number) => ({ sent: frames.length * rounds, failed: 0 }),
      setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
      clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout),
      now: () => performance.now(),
    };
    const jitter: number[] = [];
    const timing = { takeover: () => undefined, advertJitter: (ms: number) => void jitter.push(ms) };
    runner = new InstanceRunner(planned.plan, { hub, vipOps: { add: () => [], remove: () => [] }, announceIo, clock, log: logger, timing });
    const states: { to: string; at: number }[] = [];
    runner.onTransition((t) => states.push({ to: t.to, at: performance.now() }));
    const from = lab.node('n1').ipv4!;
    const tx = open('n1', 4, { sourceAddress: from });
    const advert = encodeVrrp(
      { version: 3, vrid: VRID, priority: 200, maxAdvertIntervalCs: 10, addresses: [parseAddress(vip)!] },
      { source: parseAddress(from)!, destination: parseAddress('224.0.0.18')! },
    );
    assert.ok(runner.start().ok);
    let sent = 0;
    let lastSentAt = 0;
    // 3 s of adverts every 100 ms, from this process's clock.
    for (let i = 0; i < 30; i++) {
      assert.ok(tx.send(advert).ok);
      lastSentAt = performance.now();
      sent++;
      await sleep(100 - ((performance.now() - lastSentAt) % 100));
    }
    assert.deepEqual(
      states.map((s) => s.to),
      ['backup'],
      'Backup throughout',
    );
    const status = runner.status();
    assert.equal(status.counters.advertsReceived, sent, 'every advert counted');
    assert.ok(hub.stats.absorbed >= sent - 5, `absorbed ${hub.stats.absorbed} of ${sent}`);
    // The advert-jitter histogram still gets one sample per interval, by each repeat's kernel stamp.
    assert.equal(jitter.length, sent - 1, 'a jitter sample per interval');
    assert.ok(
      jitter.every((j) => Math.abs(j) < 15),
      `jitter by arrival: ${jitter.map((j) => j.toFixed(2)).join(' ')}`,
    );
    const mdi = masterDownIntervalMs({ version: 3, priority: 100, masterAdvertIntervalCs: 10 });
    const until = performance.now() + 2000;
    while (runner.state !== 'master' && performance.now() < until) await sleep(5);
    const takeover = states.find((s) => s.to === 'master');
    assert.ok(takeover, 'took over');
    const after = takeover.at - lastSentAt;
    assert.ok(after >= mdi - 1 && after <= mdi + 5, `took over ${after.toFixed(2)} ms after the last advert (Master_Down_Interval ${mdi.toFixed(2)})`);
  });
});
