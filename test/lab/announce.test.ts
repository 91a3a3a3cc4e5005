// Real network: gratuitous ARP and unsolicited NA frames sent by vipflow's
// AF_PACKET path in lab namespace n1; tcpdump and the kernel's neighbour
// table in n2 observe them. Starts: a namespace lab, tcpdump.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../core/logger.js';
import { createLab, pollUntil, readNeighbours, startCapture, sweepStaleLabs, type Lab } from '../../lab/index.js';
import { buildGratuitousArp, buildUnsolicitedNa } from '../../wire/announce/index.js';
import { parseAddress } from '../../wire/codec/index.js';
import { formatMac, interfaceInfo, sendEthernetFrame, sendEthernetFrames } from '../../wire/socket/index.js';

const logger = silentLogger();
const PREFIX = 'vfskan';
const STALE_MAC = '02:00:00:00:00:99';

describe('address announcements over AF_PACKET', () => {
  let lab: Lab;

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['n1', 'n2'], subnet: 23, logger });
  });
  after(async () => {
    await lab?.destroy();
  });

  /** Seeds n2 with a neighbour entry for `address` pointing at a stale MAC (Linux updates, but never creates, entries from unsolicited announcements). */
  const seed = async (address: string) => {
    const r = await lab.exec('n2', 'ip', ['neigh', 'replace', address, 'lladdr', STALE_MAC, 'dev', 'eth0', 'nud', 'stale']);
    assert.equal(r.code, 0, r.stderr);
  };
  const lladdrOf = async (address: string) => (await readNeighbours(lab, 'n2')).find((n) => n.dst === address)?.lladdr;

  test('interface info gives the index and MAC; an unknown interface is ENODEV', () => {
    const info = interfaceInfo('eth0', lab.node('n1').ns);
    assert.ok(info.ok);
    assert.equal(info.value.mac.length, 6);
    assert.ok(info.value.index > 1);
    const missing = interfaceInfo('nope0', lab.node('n1').ns);
    assert.equal(missing.ok ? 'ok' : missing.code, 'ENODEV');
  });

  test('gratuitous ARP is seen by tcpdump in the peer and moves its neighbour entry to our MAC', async () => {
    const n1 = lab.node('n1');
    const vip = '198.18.23.100';
    const info = interfaceInfo('eth0', n1.ns);
    assert.ok(info.ok);
    const mac = formatMac(info.value.mac);
    // Linux ignores ARP updates within `locktime` (1 s) of the last change; the seed is one.
    assert.equal((await lab.exec('n2', 'sysctl', ['-q', '-w', 'net.ipv4.neigh.eth0.locktime=0'])).code, 0);
    await seed(vip);
    assert.equal(await lladdrOf(vip), STALE_MAC);
    const cap = await startCapture(lab, 'n2', { filter: ['arp'], count: 1, timeoutMs: 3000 });
    const sent = sendEthernetFrame('eth0', buildGratuitousArp(info.value.mac, parseAddress(vip)!), n1.ns);
    assert.ok(sent.ok, JSON.stringify(sent));
    const lines = await cap.done;
    assert.equal(lines.length, 1, 'tcpdump saw the frame');
    assert.match(lines[0]!, new RegExp(`^\\S+ ${mac} > ff:ff:ff:ff:ff:ff, ethertype ARP`));
    const v = vip.replaceAll('.', '\\.');
    assert.match(lines[0]!, new RegExp(`Request who-has ${v} \\(ff:ff:ff:ff:ff:ff\\) tell ${v}, length 46`));
    assert.equal(await pollUntil(async () => ((await lladdrOf(vip)) === mac ? mac : undefined), 2000), mac);
  });

  test('unsolicited NA is seen by tcpdump in the peer and moves its neighbour entry to our MAC', async () => {
    const n1 = lab.node('n1');
    const vip = 'fd00:198:18:17::100';
    const info = interfaceInfo('eth0', n1.ns);
    assert.ok(info.ok);
    const mac = formatMac(info.value.mac);
    await seed(vip);
    assert.equal(await lladdrOf(vip), STALE_MAC);
    const cap = await startCapture(lab, 'n2', { filter: ['icmp6', 'and', 'ip6[40]', '==', '136'], count: 1, timeoutMs: 3000 });
    const frame = buildUnsolicitedNa({ mac: info.value.mac, target: parseAddress(vip)!, source: parseAddress(n1.linkLocal!)! });
    assert.ok(sendEthernetFrame('eth0', frame, n1.ns).ok);
    const text = (await cap.done).join('\n');
    assert.match(text, new RegExp(`${mac} > 33:33:00:00:00:01`));
    assert.match(text, /hlim 255/);
    assert.match(text, new RegExp(`neighbor advertisement, length 32, tgt is ${vip}, Flags \\[override\\]`));
    assert.match(text, new RegExp(`destination link-address option \\(2\\), length 8 \\(1\\): ${mac}`));
    assert.doesNotMatch(text, /bad icmp6 cksum/);
    // The kernel drops NAs with a bad checksum or hop limit, so this also checks both.
    assert.equal(await pollUntil(async () => ((await lladdrOf(vip)) === mac ? mac : undefined), 2000), mac);
  });

  test('sending a frame on an unknown interface or in an unknown namespace fails as a value', () => {
    const frame = Buffer.alloc(60);
    const r1 = sendEthernetFrame('nope0', frame, lab.node('n1').ns);
    assert.equal(r1.ok ? 'ok' : r1.code, 'ENODEV');
    const r2 = sendEthernetFrame('eth0', frame, `${PREFIX}-missing`);
    assert.equal(r2.ok ? 'ok' : r2.code, 'ENOENT');
  });

  /** The ARP targets tcpdump saw in n2, in order. */
  const arpTargets = (lines: string[]) => lines.map((l) => /who-has (\S+)/.exec(l)?.[1] ?? l);

  test('a burst goes out in rounds, frames in order, from one call', async () => {
    const n1 = lab.node('n1');
    const info = interfaceInfo('eth0', n1.ns);
    assert.ok(info.ok);
    const vips = ['198.18.23.101', '198.18.23.102'];
    const frames = vips.map((v) => buildGratuitousArp(info.value.mac, parseAddress(v)!));
    const cap = await startCapture(lab, 'n2', { filter: ['arp'], count: 6, timeoutMs: 3000 });
    const r = sendEthernetFrames(Int32Array.of(info.value.index, info.value.index), frames, 3, n1.ns);
    assert.deepEqual(r, { sent: 6, failed: 0 });
    assert.deepEqual(arpTargets(await cap.done), [...vips, ...vips, ...vips]);
  });

  test('a frame that cannot go is counted and named; the others of the burst still go', async () => {
    const n1 = lab.node('n1');
    const info = interfaceInfo('eth0', n1.ns);
    assert.ok(info.ok);
    const vips = ['198.18.23.103', '198.18.23.104', '198.18.23.105'];
    const frames = vips.map((v) => buildGratuitousArp(info.value.mac, parseAddress(v)!));
    const cap = await startCapture(lab, 'n2', { filter: ['arp'], count: 4, timeoutMs: 3000 });
    // No interface has index 999999: the middle frame fails in both rounds.
    const r = sendEthernetFrames(Int32Array.of(info.value.index, 999_999, info.value.index), frames, 2, n1.ns);
    assert.equal(r.sent, 4);
    assert.equal(r.failed, 2);
    assert.equal(r.at, 1);
    assert.ok(r.code === 'ENXIO' || r.code === 'ENODEV', String(r.code));
    assert.deepEqual(arpTargets(await cap.done), ['198.18.23.103', '198.18.23.105', '198.18.23.103', '198.18.23.105']);
  });

  test('a burst larger than one call takes goes out in the same order', async () => {
    const n1 = lab.node('n1');
    const info = interfaceInfo('eth0', n1.ns);
    assert.ok(info.ok);
    // 70 frames: over the addon's 64 per call, so a call per round and per 64 frames.
    const vips = Array.from({ length: 70 }, (_, i) => `198.18.23.${120 + i}`);
    const frames = vips.map((v) => buildGratuitousArp(info.value.mac, parseAddress(v)!));
    const cap = await startCapture(lab, 'n2', { filter: ['arp'], count: 140, timeoutMs: 5000 });
    const r = sendEthernetFrames(new Int32Array(70).fill(info.value.index), frames, 2, n1.ns);
    assert.deepEqual(r, { sent: 140, failed: 0 });
    assert.deepEqual(arpTargets(await cap.done), [...vips, ...vips]);
  });

  test('bad arguments throw rather than send part of a burst', () => {
    const n1 = lab.node('n1');
    const frame = Buffer.alloc(60);
    assert.throws(() => sendEthernetFrames(Int32Array.of(1, 1), [frame], 1, n1.ns), /as long as the array of frames/);
    assert.throws(() => sendEthernetFrames(Int32Array.of(1), [Buffer.alloc(4)], 1, n1.ns), /Ethernet header/);
  });
});
