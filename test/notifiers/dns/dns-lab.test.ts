// Real network: two `vipflow run` daemons (nodes a and b) share a VIP on a namespace lab;
// node `dns` runs BIND 9 as the primary for vipflow.test (the daemons' namespaces cannot
// reach the root namespace's loopback). Each daemon runs the same workflows file: on
// MASTER, point www.vipflow.test at this node's address (the transition event's source
// address). Starts: a namespace lab, named in `dns`, two vipflow daemons.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../../core/logger.js';
import { createLab, pollUntil, sweepStaleLabs, type Lab } from '../../../lab/index.js';
import { startBind, type BindServer } from '../../../lab/bind.js';
import { startVipflow, type VipflowDaemon } from '../../../lab/vipflow.js';
import { confFile } from '../../lab/daemon-conf.js';

const logger = silentLogger();
const PREFIX = 'vfdns';
const SUBNET = 175;
const VIP = `198.18.${SUBNET}.100`;
const ZONE = 'vipflow.test';
const WWW = `www.${ZONE}`;

describe('DNS failover: the Master points www at itself through BIND', () => {
  let lab: Lab;
  let bind: BindServer;
  let workflows: string;
  const daemons: VipflowDaemon[] = [];

  const conf = (node: string, priority: number) => confFile(node, [{ name: 'VI_dns', vrid: 75, version: 3, priority, advertInt: 0.1, vips: [`${VIP}/24`] }]);
  const start = async (node: string, priority: number) => {
    // The workflows file comes through the environment (VIPFLOW_WORKFLOWS), as a unit file would set it.
    const d = await startVipflow(lab, node, node, conf(node, priority), { prefix: ['/usr/bin/env', `VIPFLOW_WORKFLOWS=${workflows}`] });
    daemons.push(d);
    return d;
  };
  const ranDns = (d: VipflowDaemon, mark = 0) =>
    d.waitForLog((l) => l.msg === 'workflow finished' && l.workflow === 'point-www' && d.lines.indexOf(l) >= mark, 10_000);
  const ip = (node: string) => lab.node(node).ipv4!;

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['a', 'b', 'dns'], subnet: SUBNET, ipv6: false, logger });
    bind = await startBind({ lab: { lab, node: 'dns' }, address: ip('dns'), port: 53, zone: ZONE, keyName: 'vipflow-key' });
    // Resolved next to this test: index.ts under tsx (the daemon runs with it from sources), index.js under dist/.
    const dnsModule = new URL('../../../notifiers/dns/index.js', import.meta.url).href;
    workflows = join(lab.dir, 'workflows.mjs');
    writeFileSync(
      workflows,
      `import { dnsUpdateStep } from ${JSON.stringify(dnsModule)};
export default [
  {
    name: 'point-www',
    on: { instance: 'VI_dns', to: 'MASTER' },
    steps: [
      dnsUpdateStep(
        { server: ${JSON.stringify(ip('dns'))}, zone: '${ZONE}', name: '${WWW}', addressFromEvent: true, ttl: 5, key: { name: 'vipflow-key', secretFile: ${JSON.stringify(bind.keyFile)} } },
        { retry: { attempts: 3, backoffMs: 200 } },
      ),
    ],
  },
];
`,
    );
  });
  after(async () => {
    for (const d of daemons) await d.kill();
    await bind?.stop();
    await lab?.destroy();
  });

  test('after the Master stops, BIND answers with the new Master within a bounded time', async () => {
    const a = await start('a', 150);
    assert.ok(await a.waitForState('master', 3000), 'a becomes Master');
    const first = await ranDns(a);
    assert.equal(first?.status, 'succeeded', `a's DNS workflow: ${JSON.stringify(a.lines.filter((l) => l.workflow === 'point-www'))}`);
    assert.deepEqual(await bind.dig(WWW, 'A'), [ip('a')]);

    const b = await start('b', 100);
    assert.ok(await b.waitForState('backup', 3000), 'b is Backup');
    assert.equal(
      b.lines.some((l) => l.workflow === 'point-www'),
      false,
      'a Backup does not touch DNS',
    );

    const mark = b.lines.length;
    const stoppedAt = performance.now();
    a.signal('SIGTERM');
    // Bound: takeover (~Skew_Time after a's priority-0 advert) + one update and its
    // verification; 10 s leaves room for two shared cores under five helpers' lab tests.
    const moved = await pollUntil(async () => ((await bind.dig(WWW, 'A').catch(() => [])).join() === ip('b') ? true : undefined), 10_000, 50);
    const tookMs = performance.now() - stoppedAt;
    assert.ok(moved, `www points at b within 10 s (it answers ${JSON.stringify(await bind.dig(WWW, 'A'))})`);
    const second = await ranDns(b, mark);
    assert.equal(second?.status, 'succeeded');
    const updated = b.lines.find((l) => l.msg === 'DNS name updated');
    const takeover = b.transitions.find((t) => t.to === 'master');
    console.log(
      `# SIGTERM of the Master -> BIND answers with the new Master: ${tookMs.toFixed(0)} ms (50 ms polls); ` +
        `of which takeover ${((takeover?.seenAt ?? NaN) - stoppedAt).toFixed(0)} ms, signed update ${String(updated?.updateMs)} ms, workflow ${String(second?.durationMs)} ms`,
    );
    assert.deepEqual(updated?.addresses, [ip('b')]);
    assert.equal(updated?.verified, true);
    assert.notEqual(await a.stop(8000), undefined, 'a exits');
    assert.deepEqual(await bind.dig(WWW, 'A'), [ip('b')], 'a stopping does not point the name elsewhere');
  });
});
