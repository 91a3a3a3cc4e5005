// Real network: vipflow's raw VRRP sockets send from lab namespace n1;
// sockets in n2 and keepalived (Debian 2.2.7) in n2 receive. Starts: a
// namespace lab, keepalived, the wire addon's sockets.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../core/logger.js';
import { createLab, startKeepalived, sweepStaleLabs, type KeepalivedProcess, type Lab } from '../../lab/index.js';
import { decodeVrrp, encodeVrrp, formatAddress, parseAddress } from '../../wire/codec/index.js';
import type { VrrpSocket } from '../../wire/socket/index.js';
import { keepalivedConfig } from './keepalived-config.js';
import { collect } from './packet-collector.js';
import { socketOpener } from './socket-opener.js';

const logger = silentLogger();
const PREFIX = 'vfsktx';
const addr = (text: string) => parseAddress(text)!;

describe('raw VRRP socket sends', () => {
  let lab: Lab;
  const sockets: VrrpSocket[] = [];
  const daemons: KeepalivedProcess[] = [];

  const open = socketOpener(() => lab, sockets);

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['n1', 'n2'], subnet: 22, logger });
  });
  after(async () => {
    for (const s of sockets) s.close();
    for (const k of daemons) await k.stop();
    await lab?.destroy();
  });

  test('TTL / hop limit 255 on the wire, and a TTL of 64 arrives as 64 (the value is read, not assumed)', async () => {
    for (const family of [4, 6] as const) {
      const rx = collect(open('n2', family));
      const tx255 = open('n1', family);
      const tx64 = open('n1', family, { hopsForTesting: 64 });
      assert.ok(tx255.send(Buffer.from('ttl-255')).ok);
      assert.ok(tx64.send(Buffer.from('ttl-64')).ok);
      const a = await rx.waitFor((p) => p.payload.toString() === 'ttl-255', 2000);
      const b = await rx.waitFor((p) => p.payload.toString() === 'ttl-64', 2000);
      assert.equal(a.ttl, 255, `IPv${family} default`);
      assert.equal(b.ttl, 64, `IPv${family} test-only hop count`);
      assert.equal(formatAddress(a.destination!), family === 4 ? '224.0.0.18' : 'ff02::12');
    }
  });

  test('the source address is the one chosen, for IPv4 and IPv6', async () => {
    const n1 = lab.node('n1');
    const extra4 = '198.18.22.50';
    assert.equal((await lab.exec('n1', 'ip', ['addr', 'add', `${extra4}/24`, 'dev', 'eth0'])).code, 0);
    const rx4 = collect(open('n2', 4));
    const rx6 = collect(open('n2', 6));
    assert.ok(open('n1', 4, { sourceAddress: extra4 }).send(Buffer.from('src4')).ok);
    assert.ok(open('n1', 4).send(Buffer.from('src4-default')).ok);
    assert.ok(open('n1', 6, { sourceAddress: n1.ipv6! }).send(Buffer.from('src6')).ok);
    assert.ok(open('n1', 6).send(Buffer.from('src6-default')).ok);
    assert.equal(formatAddress((await rx4.waitFor((p) => p.payload.toString() === 'src4', 2000)).source), extra4);
    assert.equal(formatAddress((await rx4.waitFor((p) => p.payload.toString() === 'src4-default', 2000)).source), n1.ipv4);
    assert.equal(formatAddress((await rx6.waitFor((p) => p.payload.toString() === 'src6', 2000)).source), n1.ipv6);
    // RFC 5798 section 5.1.2.1: without a choice the kernel picks the link-local for ff02::12.
    assert.equal(formatAddress((await rx6.waitFor((p) => p.payload.toString() === 'src6-default', 2000)).source), n1.linkLocal);
    const bad = open('n1', 4, { sourceAddress: 'not-an-address' }).send(Buffer.from('x'));
    assert.deepEqual(bad.ok ? 'ok' : bad.code, 'EINVAL', 'errors are values');
  });

  test('unicast: sent to a peer address, received with that destination', async () => {
    const n2 = lab.node('n2');
    for (const [family, to] of [
      [4, n2.ipv4!],
      [6, n2.ipv6!],
      [6, n2.linkLocal!],
    ] as const) {
      const rx = collect(open('n2', family, { mode: 'unicast' }));
      const tx = open('n1', family, { mode: 'unicast' });
      const missing = tx.send(Buffer.from('u'));
      assert.equal(missing.ok ? 'ok' : missing.code, 'EDESTADDRREQ', 'unicast needs a destination');
      assert.ok(tx.send(Buffer.from(`uni-${to}`), to).ok);
      const p = await rx.waitFor((x) => x.payload.toString() === `uni-${to}`, 2000);
      assert.equal(formatAddress(p.destination!), to);
      assert.equal(p.ttl, 255);
    }
  });

  test('IPv6 kernel checksum: the kernel fills offset 6 on send and drops bad checksums on receive', async () => {
    const n1 = lab.node('n1');
    const group = 'ff02::12';
    const context = { source: addr(n1.linkLocal!), destination: addr(group) };
    const advert = encodeVrrp({ version: 3, vrid: 9, priority: 100, maxAdvertIntervalCs: 100, addresses: [addr('fd00:198:18:16::100')] }, context);
    const zeroed = Buffer.from(advert);
    zeroed.writeUInt16BE(0, 6);
    const plain = collect(open('n2', 6));
    const checking = collect(open('n2', 6, { kernelChecksum: true }));
    assert.ok(open('n1', 6, { kernelChecksum: true }).send(zeroed).ok);
    const got = await plain.waitFor((p) => p.payload[1] === 9, 2000);
    assert.deepEqual(got.payload, advert, 'the kernel wrote the same checksum the codec computes');
    assert.ok(decodeVrrp(got.payload, context).ok);
    await checking.waitFor((p) => p.payload[1] === 9, 2000);

    // A zero checksum sent as is: the plain socket sees it, the checking one must not.
    const raw = zeroed.subarray();
    raw[1] = 10;
    assert.ok(open('n1', 6).send(raw).ok);
    await plain.waitFor((p) => p.payload[1] === 10, 2000);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(checking.packets.filter((p) => p.payload[1] === 10).length, 0);
  });

  test('keepalived accepts our adverts: a higher-priority vipflow master keeps it in BACKUP, silence makes it MASTER', async () => {
    const n1 = lab.node('n1');
    const k = await startKeepalived(
      lab,
      'n2',
      'backup',
      keepalivedConfig('n2', [
        { name: 'K2', vrid: 61, version: 2, priority: 100, advertInt: 1, vips: ['198.18.22.161/24'] },
        { name: 'K3', vrid: 62, version: 3, priority: 100, advertInt: 0.1, vips: ['198.18.22.162/24'] },
        { name: 'K6', vrid: 63, version: 3, priority: 100, advertInt: 0.1, vips: ['fd00:198:18:16::163/64'] },
      ]),
    );
    daemons.push(k);
    const tx4 = open('n1', 4);
    const tx6 = open('n1', 6);
    const ctx4 = { source: addr(n1.ipv4!), destination: addr('224.0.0.18') };
    const ctx6 = { source: addr(n1.linkLocal!), destination: addr('ff02::12') };
    const v2 = encodeVrrp(
      { version: 2, vrid: 61, priority: 200, advertIntervalSec: 1, authType: 'none', authData: new Uint8Array(8), addresses: [addr('198.18.22.161')] },
      ctx4,
    );
    const v3 = encodeVrrp({ version: 3, vrid: 62, priority: 200, maxAdvertIntervalCs: 10, addresses: [addr('198.18.22.162')] }, ctx4);
    const v6 = encodeVrrp({ version: 3, vrid: 63, priority: 200, maxAdvertIntervalCs: 10, addresses: [addr('fd00:198:18:16::163')] }, ctx6);

    // Advertise every 100 ms for 4 s: longer than keepalived's master-down
    // interval for VRRPv2 at 1 s (3 s + skew) and far longer for the others.
    for (let i = 0; i < 40; i++) {
      assert.ok(tx4.send(v2).ok && tx4.send(v3).ok && tx6.send(v6).ok);
      await new Promise((r) => setTimeout(r, 100));
    }
    const log = k.log();
    for (const name of ['K2', 'K3', 'K6']) assert.match(log, new RegExp(`\\(${name}\\) Entering BACKUP STATE`), 'running');
    assert.doesNotMatch(log, /Entering MASTER STATE/, 'keepalived saw a better master');
    assert.doesNotMatch(log, /checksum|Invalid|invalid/);
    // Silence: all three instances take over, proving they were held back by our adverts.
    for (const name of ['K2', 'K3', 'K6']) {
      assert.ok(await k.waitForLog(new RegExp(`\\(${name}\\) Entering MASTER STATE`), 8000), `${name} becomes MASTER`);
    }
  });
});
