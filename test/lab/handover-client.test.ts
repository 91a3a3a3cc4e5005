// Real network: make-before-break as a client sees it. Two `vipflow run`
// daemons (nodes a and b) share an IPv4 VIP; nginx-free python HTTP servers
// on a and b name their node; node c asks the VIP every 5 ms over a fresh
// connection and records every answer. Planned handovers (SIGTERM of the
// Master, then preemption by the restarted higher priority) must cost the
// client no request, and the VIP must be on a node at every sample taken in
// handover order (the old holder read before the new one).
// Starts: a namespace lab, two vipflow daemons at a time, two HTTP servers, one probe.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../core/logger.js';
import { createLab, sleep, sweepStaleLabs, type Lab } from '../../lab/index.js';
import { startHttpProbe } from '../../lab/http-probe.js';
import { addressesOf, startVipflow, type VipflowDaemon } from '../../lab/vipflow.js';
import { confFile } from './daemon-conf.js';

const logger = silentLogger();
const PREFIX = 'vfhoc';
const SUBNET = 126;
const VIP = `198.18.${SUBNET}.100`;
const HANDOVERS = Number(process.env.HANDOVERS ?? 3);

describe('planned handovers as a client sees them', () => {
  let lab: Lab;
  const daemons: VipflowDaemon[] = [];
  let runs = 0;
  const start = async (node: string, priority: number) => {
    const d = await startVipflow(
      lab,
      node,
      `${node}${runs++}`,
      confFile(node, [{ name: 'VI_web', vrid: 30, version: 3, priority, advertInt: 0.1, vips: [`${VIP}/24`] }]),
    );
    daemons.push(d);
    return d;
  };

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['a', 'b', 'c'], subnet: SUBNET, logger });
    for (const node of ['a', 'b']) {
      const root = join(lab.dir, `www-${node}`);
      mkdirSync(root);
      writeFileSync(join(root, 'who.txt'), `${node}\n`);
      lab.spawn(node, '/usr/bin/python3', ['-m', 'http.server', '--bind', '0.0.0.0', '--directory', root, '8080'], ['ignore', 'ignore', 'ignore']);
    }
  });
  after(async () => {
    for (const d of daemons) await d.kill();
    await lab?.destroy();
  });

  test(`${HANDOVERS} SIGTERM handovers and ${HANDOVERS} preemptions: no failed request, the VIP always held`, async () => {
    const b = await start('b', 100);
    let a = await start('a', 150);
    assert.ok(await a.waitForState('master', 3000), 'a becomes Master');
    await sleep(300);
    const probe = startHttpProbe(lab, 'c', `http://${VIP}:8080/who.txt`, { intervalMs: 5, durationMs: HANDOVERS * 2500 + 1000, timeoutMs: 500 });
    const probeStart = performance.now();
    const marks: string[] = [];
    const mark = (what: string) => marks.push(`${what}@${Math.round(performance.now() - probeStart)}`);
    const gaps: string[] = [];
    let from = 'a';
    let to = 'b';
    let sampling = true;
    let samples = 0;
    const sampler = (async () => {
      for (let i = 0; sampling && i < 5000; i++) {
        // Old holder first: with make-before-break the new one holds the VIP by then.
        const [older, newer] = [from, to];
        const first = await addressesOf(lab, older);
        const second = await addressesOf(lab, newer);
        samples++;
        if (!first.has(VIP) && !second.has(VIP)) gaps.push(`${older}->${newer} sample ${i} at ${Math.round(performance.now())}`);
        await sleep(5);
      }
    })();
    await sleep(500);
    for (let i = 0; i < HANDOVERS; i++) {
      from = 'a';
      to = 'b';
      const markB = b.transitions.length;
      mark('SIGTERM');
      a.signal('SIGTERM');
      assert.ok(await b.waitForState('master', 3000, markB), 'b takes over');
      mark('b-master');
      assert.equal(await a.exited, 0);
      await sleep(400);
      from = 'b';
      to = 'a';
      a = await start('a', 150);
      mark('a-started');
      assert.ok(await a.waitForState('master', 3000), 'a preempts');
      mark('a-master');
      await sleep(400);
    }
    sampling = false;
    await sampler;
    const answers = await probe.finished();
    const failed = answers.filter((s) => !s.ok);
    console.log(
      `# ${answers.length} requests, ${failed.length} failed: ${JSON.stringify(failed.slice(0, 10))}; ${samples} samples, gaps: ${JSON.stringify(gaps)}; ${marks.join(' ')}`,
    );
    assert.ok(answers.length > 500, `enough requests (${answers.length})`);
    // The one loss a VIP move cannot avoid (keepalived's neither): a connection
    // open at the moment the client follows the gratuitous ARP continues to the
    // new holder, which resets it. A timeout would mean a packet reached a node
    // that no longer held the VIP: the gap this test exists for.
    const notResets = failed.filter((s) => s.answer !== 'ECONNRESET');
    assert.deepEqual(notResets, [], 'no request was lost to a node without the VIP');
    assert.ok(failed.length <= 2 * HANDOVERS, `at most the request in flight at each switch was reset (${failed.length})`);
    assert.deepEqual(gaps, [], 'the VIP was held at every sample');
  });
});
