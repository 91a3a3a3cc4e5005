// Before a takeover timer acts, the daemon reads every VRRP socket's queue
// (WireHub.drainAll), not only those receive moderation holds: a process
// that was not running for a while runs a due timer before it polls for I/O,
// and adverts of a live Master can be waiting in a watched socket. Starts: a
// namespace lab (n1, n2) and the wire addon's sockets.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../core/logger.js';
import { createLab, sweepStaleLabs, type Lab } from '../../lab/index.js';
import { encodeVrrp, parseAddress } from '../../wire/codec/index.js';
import { WireHub, type HubPacket } from '../../wire/hub/vrid-hub.js';
import { openVrrpSocket, type VrrpSocket } from '../../wire/socket/index.js';
import { socketOpener } from './socket-opener.js';

const logger = silentLogger();
const PREFIX = 'vfdrain';
const SUBNET = 232;

describe('drain before a takeover', () => {
  let lab: Lab;
  let hub: WireHub | null = null;
  const sockets: VrrpSocket[] = [];
  const open = socketOpener(() => lab, sockets);

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['n1', 'n2'], subnet: SUBNET, ipv6: false, logger });
  });

  after(async () => {
    hub?.close();
    for (const s of sockets) s.close();
    await lab?.destroy();
  });

  test('drainAll reads an advert waiting in a socket that is watched, not held, without a turn of the event loop', () => {
    hub = new WireHub(logger, (o) => openVrrpSocket({ ...o, netns: lab.node('n2').ns }));
    const heard: number[] = [];
    const joined = hub.join({ interface: 'eth0', family: 4, mode: 'multicast', source: lab.node('n2').ipv4! }, 51, (p: HubPacket) =>
      heard.push(p.advert.priority),
    );
    assert.ok(joined.ok);
    const from = lab.node('n1').ipv4!;
    const tx = open('n1', 4, { sourceAddress: from });
    const advert = encodeVrrp(
      { version: 3, vrid: 51, priority: 200, maxAdvertIntervalCs: 1, addresses: [parseAddress('198.18.232.100')!] },
      { source: parseAddress(from)!, destination: parseAddress('224.0.0.18')! },
    );
    assert.ok(tx.send(advert).ok);
    // Never yielding: the socket's poll callback cannot run, only a drain reads it.
    const until = performance.now() + 500;
    while (heard.length === 0 && performance.now() < until) hub.drainAll();
    assert.deepEqual(heard, [200], 'the advert was read by the drain');
    assert.equal(hub.stats.moderation.held, 0, 'the socket was not held');
  });
});
