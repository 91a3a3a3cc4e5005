// Receive moderation on real sockets and against real keepalived. Starts: a
// namespace lab (nodes n1, n2), the wire addon's sockets, keepalived in n1 and
// a vipflow daemon in n2.
//
// 1. The socket: a held socket is not read until released or drained; a
//    burst of adverts on a socket allowed to hold is read in a few batches.
// 2. A vipflow Backup of 30 instances behind a keepalived Master at 1 s
//    adverts: its sockets are held (the point: fewer wake-ups), no instance
//    takes over while keepalived lives, and when keepalived dies each takes
//    over at Master_Down_Interval, as without holds.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../core/logger.js';
import { createLab, pollUntil, sleep, startKeepalived, sweepStaleLabs, type KeepalivedProcess, type Lab } from '../../lab/index.js';
import { startVipflow, type VipflowDaemon } from '../../lab/vipflow.js';
import { ReceiveModerator, type ReceivedPacket, type VrrpSocket } from '../../wire/socket/index.js';
import { confFile, type InstanceConf } from './daemon-conf.js';
import { socketOpener } from './socket-opener.js';

const logger = silentLogger();
const PREFIX = 'vfrmod';
const SUBNET = 229;

describe('receive moderation', () => {
  let lab: Lab;
  const sockets: VrrpSocket[] = [];
  const keepaliveds: KeepalivedProcess[] = [];
  const vipflows: VipflowDaemon[] = [];
  const open = socketOpener(() => lab, sockets);

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['n1', 'n2'], subnet: SUBNET, ipv6: false, logger });
  });

  after(async () => {
    for (const s of sockets) s.close();
    for (const v of vipflows) await v.stop(5000);
    for (const k of keepaliveds) await k.stop();
    await lab?.destroy();
  });

  /** A receiving socket in n2 whose handler records each datagram's first byte and when JavaScript got it. */
  function receiver(moderator: ReceiveModerator) {
    const rx = open('n2', 4, { moderator });
    const got: { seq: number; at: number; ageUs: number }[] = [];
    rx.onPacket((p: ReceivedPacket) => got.push({ seq: p.payload[0]!, at: performance.now(), ageUs: p.ageUs }));
    return { rx, got };
  }
  const datagram = (seq: number) => Buffer.from([seq, 0, 0, 0, 0, 0, 0, 0]);

  test('a held socket is read only when drained or released; with a hold of 0 every datagram is read at once', async () => {
    // A moderator whose grid timer never fires: the hold lasts until the test ends it.
    const moderator = new ReceiveModerator({ now: () => performance.now(), setTimeout: () => 0, clearTimeout: () => undefined, refresh: () => undefined });
    const tx = open('n1', 4);
    const { rx, got } = receiver(moderator);
    rx.setModeration!(50);
    const send = (seq: number) => assert.ok(tx.send(datagram(seq)).ok);
    // The first datagram is read at once; the second, 2 ms behind it, is read too and begins the hold.
    send(1);
    await sleep(2);
    send(2);
    assert.ok(await pollUntil(() => (got.length === 2 ? true : undefined), 2000, 2), `read ${got.length} of 2`);
    assert.equal(moderator.stats.held, 1, 'the dense pair held the socket');
    for (const seq of [3, 4, 5]) send(seq);
    await sleep(150);
    assert.equal(got.length, 2, 'held: nothing more read');
    // A drain reads what waits, synchronously.
    assert.equal(rx.drain!(), 3);
    assert.deepEqual(
      got.map((g) => g.seq),
      [1, 2, 3, 4, 5],
    );
    // Read late, but the kernel's stamp still says when they came (the machine counts its timers from that).
    assert.ok(got[2]!.ageUs >= 100_000, `age of a datagram held 150 ms: ${got[2]!.ageUs} µs`);
    send(6);
    send(7);
    await sleep(100);
    assert.equal(got.length, 5, 'still held after the drain');
    // No more hold allowed (an instance became Master): released at once.
    rx.setModeration!(0);
    assert.ok(await pollUntil(() => (got.length === 7 ? true : undefined), 2000, 2), `read ${got.length} of 7 after the release`);
    const holds = moderator.stats.holds;
    for (let seq = 8; seq < 13; seq++) {
      send(seq);
      await sleep(3);
    }
    assert.ok(await pollUntil(() => (got.length === 12 ? true : undefined), 2000, 2), `read ${got.length} of 12`);
    assert.equal(moderator.stats.holds, holds, 'no hold without moderation');
    assert.deepEqual(
      got.map((g) => g.seq),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    );
  });

  test('a burst on a socket allowed to hold is read in a few batches on the grid, none lost', async () => {
    const moderator = new ReceiveModerator();
    const tx = open('n1', 4);
    const { rx, got } = receiver(moderator);
    rx.setModeration!(50);
    // 20 datagrams 3 ms apart: read one by one, that is 20 wake-ups.
    for (let seq = 1; seq <= 20; seq++) {
      assert.ok(tx.send(datagram(seq)).ok);
      await sleep(3);
    }
    assert.ok(await pollUntil(() => (got.length === 20 ? true : undefined), 2000, 5), `read ${got.length} of 20`);
    assert.deepEqual(
      got.map((g) => g.seq),
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    // Batches: datagrams read within 1 ms of the one before share one wake-up.
    let batches = 1;
    for (let i = 1; i < got.length; i++) if (got[i]!.at - got[i - 1]!.at > 1) batches++;
    // At most: the first two at once, then one batch per 50 ms grid point over the ~60+ ms burst, plus a straggler each.
    assert.ok(batches <= 8, `${batches} batches for 20 datagrams: ${got.map((g) => (g.at - got[0]!.at).toFixed(1)).join(' ')}`);
    assert.ok(moderator.stats.holds >= 1);
    await sleep(120);
    assert.equal(moderator.stats.held, 0, 'the burst over, the socket is watched again');
  });

  test('a vipflow Backup of 30 instances behind keepalived holds its socket, never takes over early, and takes over at Master_Down_Interval when keepalived dies', async (t) => {
    const COUNT = 30;
    const vip = (vrid: number) => `198.18.${SUBNET}.${100 + vrid}/24`;
    const instances = (priority: number): InstanceConf[] =>
      Array.from({ length: COUNT }, (_, i) => ({ vrid: i + 1, version: 3, priority, advertInt: 1, vips: [vip(i + 1)] }));
    const k = await startKeepalived(lab, 'n1', 'kmod', confFile('kmod', instances(200)));
    keepaliveds.push(k);
    const kHolds = async () => {
      const r = await lab.exec('n1', 'ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth0'], 5000);
      return r.stdout.split('\n').filter((l) => / 198\.18\.229\.1[0-9][0-9]\//.test(l)).length;
    };
    assert.ok(await pollUntil(async () => ((await kHolds()) === COUNT ? true : undefined), 20_000, 200), 'keepalived became Master of every instance');
    const v = await startVipflow(lab, 'n2', 'vmod', confFile('vmod', instances(100)));
    vipflows.push(v);
    // Steady state: 8 s of keepalived's adverts, 30 a second.
    await sleep(8000);
    const status = await v.status();
    assert.ok(
      status.instances.every((i) => i.state === 'backup'),
      `states: ${status.instances.map((i) => i.state).join(',')}`,
    );
    assert.equal(v.transitions.filter((t) => t.to === 'master').length, 0, 'no instance took over while keepalived advertised');
    assert.ok(status.wire.moderation.holds > 0, `holds ${JSON.stringify(status.wire.moderation)}`);
    const received = status.instances.reduce((n, i) => n + (i.counters.advertsReceived ?? 0), 0);
    assert.ok(received >= COUNT * 7, `adverts received ${received}`);

    // The crash: no priority 0. Each VRID's gap, last keepalived advert to vipflow's first, on the wire.
    // -tt: epoch seconds; no -v: one line per advert.
    const tcpdump = lab.spawn('n2', 'tcpdump', ['-i', 'eth0', '-n', '-tt', '-l', '-U', 'ip', 'proto', '112']);
    let text = '';
    tcpdump.child.stdout?.on('data', (c: Buffer) => (text += c.toString()));
    const stopCapture = () => {
      try {
        process.kill(tcpdump.pid, 'SIGTERM');
      } catch {
        // gone already
      }
    };
    const bound = setTimeout(stopCapture, 20_000);
    assert.ok(await pollUntil(() => (/vrid/.test(text) ? true : undefined), 5000, 20), 'tcpdump sees the adverts');
    await sleep(1500);
    const vrrpPidFile = k.confPath.replace(/\.conf$/, '-vrrp.pid');
    for (const pid of [Number((await lab.exec('n1', 'cat', [vrrpPidFile], 2000)).stdout.trim()), k.pid]) {
      if (Number.isInteger(pid) && pid > 1)
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
    }
    const tookOver = await pollUntil(
      async () => {
        const s = await v.status();
        return s.instances.filter((i) => i.state === 'master').length === COUNT ? true : undefined;
      },
      10_000,
      100,
    );
    await sleep(1500);
    stopCapture();
    await tcpdump.exited;
    clearTimeout(bound);
    const lines = text.split('\n');
    assert.ok(tookOver, 'every vipflow instance became Master');
    const mdi = 3 * 1000 + ((256 - 100) * 1000) / 256;
    const n1 = lab.node('n1').ipv4!;
    const n2 = lab.node('n2').ipv4!;
    const seconds = (l: string) => Number(l.split(' ')[0]);
    const gaps: number[] = [];
    for (let vrid = 1; vrid <= COUNT; vrid++) {
      const mine = lines.filter((l) => new RegExp(`vrid ${vrid},`).test(l));
      const last = mine.filter((l) => l.includes(`${n1} > 224.0.0.18`)).at(-1);
      const first = mine.find((l) => l.includes(`${n2} > 224.0.0.18`));
      assert.ok(last && first, `VRID ${vrid}: adverts of both in the capture`);
      gaps.push((seconds(first) - seconds(last)) * 1000);
    }
    // Never before Master_Down_Interval (a held advert missed would make it early), and not late for the holds.
    const [lo, hi] = [Math.min(...gaps), Math.max(...gaps)];
    t.diagnostic(
      `takeover ${lo.toFixed(1)}-${hi.toFixed(1)} ms after the last advert (MDI ${mdi.toFixed(1)} ms); holds ${status.wire.moderation.holds}, adverts ${received}`,
    );
    assert.ok(lo >= mdi - 5, `earliest takeover ${lo.toFixed(1)} ms after the last advert, MDI ${mdi.toFixed(1)} ms`);
    assert.ok(hi <= mdi + 150, `latest takeover ${hi.toFixed(1)} ms after the last advert, MDI ${mdi.toFixed(1)} ms`);
  });
});
