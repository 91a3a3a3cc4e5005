// Real network: a `vipflow run` daemon (node v) is Master of a multicast and
// a unicast instance; node x sends it crafted VRRP packets through the wire
// addon's raw sockets (TTL 64, bad checksum, other VRID, truncated, unknown
// unicast peer, wrong address list, wrong version, unicast to a multicast
// instance). Each must be dropped, counted in `vipflow status --json`, and
// leave the daemon's state alone. Starts: a namespace lab, one vipflow daemon.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DaemonStatus } from '../../daemon/daemon.js';
import type { InstanceStatus } from '../../infra/vrrp/instance-runner.js';
import { silentLogger } from '../../core/logger.js';
import { createLab, pollUntil, sleep, sweepStaleLabs, type Lab } from '../../lab/index.js';
import { encodeVrrp, parseAddress, type VrrpAdvert } from '../../wire/codec/index.js';
import { openVrrpSocket, type VrrpSocket, type VrrpSocketOptions } from '../../wire/socket/index.js';
import { confFile } from './daemon-conf.js';
import { startVipflow, type VipflowDaemon } from '../../lab/vipflow.js';

const logger = silentLogger();
const PREFIX = 'vfdtb';
const SUBNET = 123;
const net = (host: number) => `198.18.${SUBNET}.${host}`;
const a = (text: string) => parseAddress(text)!;
const GROUP = a('224.0.0.18');
const MVIPS = [net(140), net(141)];
const UVIP = net(150);
const STRANGER = net(77); // an extra address on x that is not a unicast peer
const SENT = 3;

describe('vipflow drops bad VRRP traffic and keeps its state', () => {
  let lab: Lab;
  let daemon: VipflowDaemon;
  const sockets: VrrpSocket[] = [];
  let v: string;
  let x: string;

  const open = (extra: Partial<VrrpSocketOptions> = {}): VrrpSocket => {
    const r = openVrrpSocket({ family: 4, interface: 'eth0', netns: lab.node('x').ns, mode: 'multicast', logger, ...extra });
    assert.ok(r.ok, JSON.stringify(r));
    sockets.push(r.value);
    return r.value;
  };
  const advert = (over: Partial<VrrpAdvert> = {}): VrrpAdvert =>
    ({ version: 3, vrid: 40, priority: 250, maxAdvertIntervalCs: 10, addresses: MVIPS.map(a), ...over }) as VrrpAdvert;
  const instance = (s: DaemonStatus, name: string): InstanceStatus => {
    const i = s.instances.find((n) => n.name === name);
    assert.ok(i, `instance ${name} in status`);
    return i;
  };
  /** Sends SENT copies, then waits until `counter` of the status grew by SENT; returns the new status. */
  const sendAndCount = async (sock: VrrpSocket, payload: Buffer, to: string | undefined, counter: (s: DaemonStatus) => number, label: string) => {
    const before = counter(await daemon.status());
    for (let i = 0; i < SENT; i++) {
      const r = sock.send(payload, to);
      assert.ok(r.ok, `${label}: send ${JSON.stringify(r)}`);
    }
    let last = before;
    const grown = await pollUntil(
      async () => {
        const s = await daemon.status();
        last = counter(s);
        return last >= before + SENT ? s : undefined;
      },
      3000,
      50,
    );
    assert.ok(grown, `${label}: counter went from ${before} to ${last}, expected +${SENT}`);
    return grown;
  };
  const assertUndisturbed = (s: DaemonStatus, label: string) => {
    for (const name of ['VI_m', 'VI_u']) {
      const i = instance(s, name);
      assert.equal(i.state, 'master', `${label}: ${name} still Master`);
      assert.equal(i.counters.advertsReceived ?? 0, 0, `${label}: nothing reached ${name}'s machine`);
    }
    assert.equal(daemon.transitions.filter((t) => t.from === 'master').length, 0, `${label}: no transition out of Master`);
  };

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['v', 'x'], subnet: SUBNET, ipv6: false, logger });
    v = lab.node('v').ipv4!;
    x = lab.node('x').ipv4!;
    assert.equal((await lab.exec('x', 'ip', ['addr', 'add', `${STRANGER}/24`, 'dev', 'eth0'])).code, 0);
    const conf = confFile('v', [
      { name: 'VI_m', vrid: 40, version: 3, priority: 200, advertInt: 0.1, vips: MVIPS.map((m) => `${m}/24`) },
      { name: 'VI_u', vrid: 41, version: 3, priority: 200, advertInt: 0.1, vips: [`${UVIP}/24`], unicastSource: v, unicastPeers: [x] },
    ]);
    daemon = await startVipflow(lab, 'v', 'v', conf);
    assert.ok(await pollUntil(() => (daemon.transitions.filter((t) => t.to === 'master').length === 2 ? true : undefined), 3000), 'both instances Master');
  });
  after(async () => {
    for (const s of sockets) s.close();
    await daemon?.kill();
    await lab?.destroy();
  });

  test('TTL 64 on a multicast advert: drops.bad-ttl', async () => {
    const sock = open({ hopsForTesting: 64 });
    const s = await sendAndCount(
      sock,
      encodeVrrp(advert(), { source: a(x), destination: GROUP }),
      undefined,
      (st) => instance(st, 'VI_m').drops['bad-ttl'],
      'TTL 64',
    );
    assertUndisturbed(s, 'TTL 64');
  });

  test('wrong checksum and truncated packets: wire.malformed', async () => {
    const sock = open();
    const good = encodeVrrp(advert(), { source: a(x), destination: GROUP });
    const badSum = Buffer.from(good);
    badSum.writeUInt16BE(badSum.readUInt16BE(6) ^ 0x5a5a, 6);
    let s = await sendAndCount(sock, badSum, undefined, (st) => st.wire.malformed, 'bad checksum');
    assertUndisturbed(s, 'bad checksum');
    s = await sendAndCount(sock, good.subarray(0, 6), undefined, (st) => st.wire.malformed, 'truncated header');
    s = await sendAndCount(sock, good.subarray(0, good.length - 2), undefined, (st) => st.wire.malformed, 'truncated address list');
    assertUndisturbed(s, 'truncated');
  });

  test('another VRID: wire.unknownVrid', async () => {
    const sock = open();
    const s = await sendAndCount(
      sock,
      encodeVrrp(advert({ vrid: 99 }), { source: a(x), destination: GROUP }),
      undefined,
      (st) => st.wire.unknownVrid,
      'VRID 99',
    );
    assertUndisturbed(s, 'VRID 99');
  });

  test('wrong address list and wrong version: drops.address-list-mismatch, drops.version-mismatch', async () => {
    const sock = open();
    let s = await sendAndCount(
      sock,
      encodeVrrp(advert({ addresses: [a(MVIPS[0]!)] }), { source: a(x), destination: GROUP }),
      undefined,
      (st) => instance(st, 'VI_m').drops['address-list-mismatch'],
      'address list',
    );
    assertUndisturbed(s, 'address list');
    const v2: VrrpAdvert = {
      version: 2,
      vrid: 40,
      priority: 250,
      advertIntervalSec: 1,
      authType: 'none',
      authData: new Uint8Array(8),
      addresses: MVIPS.map(a),
    };
    s = await sendAndCount(
      sock,
      encodeVrrp(v2, { source: a(x), destination: GROUP }),
      undefined,
      (st) => instance(st, 'VI_m').drops['version-mismatch'],
      'v2 advert',
    );
    assertUndisturbed(s, 'v2 advert');
  });

  test('unicast advert from an address that is not a unicast_peer: drops.unknown-peer', async () => {
    const sock = open({ mode: 'unicast', sourceAddress: STRANGER });
    const payload = encodeVrrp(advert({ vrid: 41, addresses: [a(UVIP)] }), { source: a(STRANGER), destination: a(v) });
    const s = await sendAndCount(sock, payload, v, (st) => instance(st, 'VI_u').drops['unknown-peer'], 'unknown peer');
    assertUndisturbed(s, 'unknown peer');
  });

  test('the same advert from the configured peer does reach the machine (the checks above are not vacuous)', async () => {
    const sock = open({ mode: 'unicast', sourceAddress: x });
    const mark = daemon.transitions.length;
    const unknownBefore = (await daemon.status()).wire.unknownVrid;
    const payload = encodeVrrp(advert({ vrid: 41, addresses: [a(UVIP)] }), { source: a(x), destination: a(v) });
    assert.ok(sock.send(payload, v).ok);
    const t = await daemon.waitForState('backup', 2000, mark);
    assert.ok(t && t.instance === 'VI_u', 'VI_u yields to the higher-priority peer');
    // With no further adverts it takes over again after Master_Down_Interval.
    assert.ok(await daemon.waitForState('master', 2000, mark + 1), 'VI_u Master again');
    const s = await daemon.status();
    assert.equal(instance(s, 'VI_u').counters.advertsReceived, 1);
    assert.equal(instance(s, 'VI_m').state, 'master');
    assert.equal(instance(s, 'VI_m').counters.advertsReceived ?? 0, 0);
    // The multicast socket also sees this unicast packet; it is VI_u's, not a VRID we do not run.
    assert.equal(s.wire.unknownVrid, unknownBefore, 'not counted as an unknown VRID');
  });

  test('a unicast advert for the multicast instance: drops.wrong-destination, as keepalived refuses it', async () => {
    const sock = open({ mode: 'unicast', sourceAddress: x });
    const before = await daemon.status();
    const mark = daemon.transitions.length;
    const payload = encodeVrrp(advert(), { source: a(x), destination: a(v) });
    const dropped = (st: DaemonStatus) => instance(st, 'VI_m').drops['wrong-destination'];
    for (let i = 0; i < SENT; i++) assert.ok(sock.send(payload, v).ok);
    await sleep(300);
    // Then polled: on a loaded machine (test files run two at a time) the daemon may read them later than 300 ms.
    const s =
      (await pollUntil(async () => {
        const st = await daemon.status();
        return dropped(st) - dropped(before) >= SENT ? st : undefined;
      }, 3000)) ?? (await daemon.status());
    const m = instance(s, 'VI_m');
    assert.equal(m.state, 'master', 'VI_m still Master');
    assert.equal(m.counters.advertsReceived ?? 0, 0, 'nothing reached the machine');
    assert.equal(daemon.transitions.slice(mark).length, 0, 'no transition');
    assert.equal(dropped(s) - dropped(before), SENT, 'counted as drops.wrong-destination of VI_m');
  });

  test('vipflow status (text) shows the drops and wire counters', async () => {
    const r = await daemon.cli(['status', '--state-dir', daemon.stateDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /wire: 2 sockets, \d+ received, [1-9]\d* malformed, [1-9]\d* other VRIDs/);
    assert.match(r.stdout, /VI_m .*MASTER .*drops .*bad-ttl=[1-9]/);
    assert.match(r.stdout, /VI_u .*MASTER .*drops .*unknown-peer=[1-9]/);
  });

  test('stopping: a bad advert is not taken for the new Master (the VIPs stay until the bound)', async () => {
    // Last test: it stops the daemon. x keeps sending adverts with a wrong
    // address list for VI_m's VRID; only a valid advert may end the
    // make-before-break wait, and none comes.
    const sock = open();
    const bogus = encodeVrrp(advert({ addresses: [a(MVIPS[0]!)], priority: 50 }), { source: a(x), destination: GROUP });
    const timer = setInterval(() => sock.send(bogus), 20);
    try {
      await sleep(100);
      daemon.signal('SIGTERM');
      assert.equal(await daemon.exited, 0);
    } finally {
      clearInterval(timer);
    }
    const released = daemon.lines.filter((l) => l.instance === 'VI_m' && /releasing VIPs/.test(l.msg)).map((l) => l.msg);
    assert.deepEqual(released, ['no new master within Master_Down_Interval: releasing VIPs']);
  });
});
