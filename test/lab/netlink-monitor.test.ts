// Real kernel: the addon's rtnetlink subscription and dump, opened from this
// process inside a lab namespace (the `netns` option): link changes, an IPv6
// link-local address going from tentative to usable, and an overrun
// (ENOBUFS) when notifications pile up while the event loop is blocked.
// Starts: a namespace lab (prefix vfnlw, subnet 211), one node.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { silentLogger } from '../../core/logger.js';
import { createLab, pollUntil, sweepStaleLabs, type Lab } from '../../lab/index.js';
import { LinkTable } from '../../infra/host/link-state.js';
import { IFA_F_TENTATIVE, openNetlinkMonitor, readNetlinkState, type NetlinkEvent, type NetlinkMonitor } from '../../wire/socket/index.js';

const logger = silentLogger();
const PREFIX = 'vfnlw';

describe('rtnetlink monitor (addon)', () => {
  let lab: Lab;
  let ns: string;
  const monitors: NetlinkMonitor[] = [];

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['a'], subnet: 211, logger });
    ns = lab.node('a').ns;
  });
  after(async () => {
    for (const m of monitors) m.close();
    await lab?.destroy();
  });

  const open = (events: NetlinkEvent[]): NetlinkMonitor => {
    const r = openNetlinkMonitor({ netns: ns, logger }, (batch) => events.push(...batch));
    assert.ok(r.ok, `monitor: ${JSON.stringify(r)}`);
    monitors.push(r.value);
    return r.value;
  };
  const ip = async (...args: string[]) => assert.equal((await lab.exec('a', 'ip', args)).code, 0, `ip ${args.join(' ')}`);

  test("the dump lists the namespace's links and addresses, and none of this process's namespace", () => {
    const dump = readNetlinkState(ns);
    assert.ok(dump.ok);
    const names = dump.value.filter((m) => m.kind === 'link').map((m) => (m.kind === 'link' ? m.name : ''));
    assert.deepEqual(names.sort(), ['eth0', 'lo']);
    const table = new LinkTable();
    table.replaceAll(dump.value);
    assert.equal(table.isUp('eth0'), true);
    assert.match(table.usableLinkLocal('eth0') ?? '', /^fe80:/);
    assert.ok(dump.value.some((m) => m.kind === 'addr' && m.address === lab.node('a').ipv4));
    const missing = readNetlinkState('vfnlw-nosuch');
    assert.ok(!missing.ok);
    assert.equal(missing.code, 'ENOENT');
  });

  test('link down and up arrive as they happen; the new link-local address is tentative until DAD ends, then announced usable', async () => {
    const events: NetlinkEvent[] = [];
    open(events);
    const table = new LinkTable();
    const dump = readNetlinkState(ns);
    assert.ok(dump.ok);
    table.replaceAll(dump.value);
    assert.equal((await lab.exec('a', 'sysctl', ['-q', '-w', 'net.ipv6.conf.eth0.accept_dad=1'])).code, 0);
    // DAD waits RetransTimer after its one probe. 3 s instead of the default
    // 1 s, so that a stall of this process or of the host (CI once lost the
    // race at 1 s) cannot let DAD end before the dump below looks.
    const retransMs = 3000;
    assert.equal((await lab.exec('a', 'sysctl', ['-q', '-w', `net.ipv6.neigh.eth0.retrans_time_ms=${retransMs}`])).code, 0);
    const linkNews = () => table.apply(events.splice(0).filter((e) => e.kind === 'link' || e.kind === 'addr'));

    await ip('link', 'set', 'eth0', 'down');
    const down = await pollUntil(() => linkNews().find((c) => c.name === 'eth0'), 2000, 5);
    assert.deepEqual(down, { name: 'eth0', up: false });
    assert.equal(table.usableLinkLocal('eth0'), undefined, 'the kernel removed the link-local address');

    await ip('link', 'set', 'eth0', 'up');
    const upAt = performance.now();
    // The kernel announces an automatic link-local address only once DAD
    // ended; a dump taken meanwhile lists it with IFA_F_TENTATIVE. The address
    // itself may come a moment after `ip` returns: the kernel adds it when the
    // link's operational state turns up, which its link-watch work does later.
    const linkLocalIn = (dump: ReturnType<typeof readNetlinkState>) =>
      dump.ok ? dump.value.find((m) => m.kind === 'addr' && m.family === 6 && m.address.startsWith('fe80:')) : undefined;
    const withLinkLocal = () => {
      const dump = readNetlinkState(ns);
      return linkLocalIn(dump) ? dump : undefined;
    };
    const during = (await pollUntil(withLinkLocal, 1000, 5)) ?? readNetlinkState(ns);
    assert.ok(during.ok);
    const tentative = linkLocalIn(during);
    assert.ok(tentative && tentative.kind === 'addr' && (tentative.flags & IFA_F_TENTATIVE) !== 0, `tentative in the dump: ${JSON.stringify(tentative)}`);
    const duringTable = new LinkTable();
    duringTable.replaceAll(during.value);
    assert.equal(duringTable.usableLinkLocal('eth0'), undefined, 'a tentative address is not a usable source');

    const usable = await pollUntil(() => (linkNews(), table.usableLinkLocal('eth0')), retransMs + 5000, 10);
    const tookMs = performance.now() - upAt;
    assert.equal(usable, tentative.address, 'the same address, announced usable');
    assert.equal(table.isUp('eth0'), true);
    // DAD sends one probe and waits RetransTimer; the random start delay can only add to it.
    assert.ok(tookMs > retransMs, `usable ${tookMs.toFixed(0)} ms after link up: after DAD (RetransTimer ${retransMs} ms)`);
  });

  test('notifications that overflow the receive queue are reported as an overrun; the socket keeps working', async () => {
    const events: NetlinkEvent[] = [];
    // A tiny queue (the kernel rounds it up to its minimum, a few KB), and the
    // event loop blocked while 200 link changes (~1 KB each) are made.
    const r = openNetlinkMonitor({ netns: ns, logger, rcvbufForTesting: 1 }, (batch) => events.push(...batch));
    assert.ok(r.ok);
    monitors.push(r.value);
    const cmds = Array.from({ length: 100 }, () => 'link set eth0 down\nlink set eth0 up').join('\n') + '\n';
    const done = spawnSync('ip', ['-n', ns, '-batch', '-'], { input: cmds, timeout: 10_000 });
    assert.equal(done.status, 0, String(done.stderr));
    assert.ok(await pollUntil(() => (events.some((e) => e.kind === 'overrun') ? true : undefined), 2000, 5), 'overrun reported');
    events.length = 0;
    await ip('link', 'set', 'eth0', 'down');
    assert.ok(
      await pollUntil(() => (events.some((e) => e.kind === 'link' && e.name === 'eth0') ? true : undefined), 2000, 5),
      'later notifications still arrive',
    );
    await ip('link', 'set', 'eth0', 'up');
  });
});
