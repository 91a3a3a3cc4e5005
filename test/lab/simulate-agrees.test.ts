// Real network: the simulator and the daemon agree. One scenario (a Master's
// link goes down and comes back, then the Master is stopped with SIGTERM) is
// run by `vipflow simulate`'s engine, then played on a namespace lab with two
// real `vipflow run` daemons and the same keepalived.conf; each node must make
// the same transitions (from, to, reason) in the same order. A second scenario
// reloads a config that restarts the Master's instance.
// Starts: a namespace lab (prefix vfy7), two vipflow daemons.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../core/logger.js';
import { createLab, sweepStaleLabs, type Lab } from '../../lab/index.js';
import { startVipflow, type VipflowDaemon } from '../../lab/vipflow.js';
import { loadScenario } from '../../cli/simulate.js';
import { runScenario } from '../../sim/scenario/index.js';
import { confFile, type InstanceConf } from './daemon-conf.js';

const logger = silentLogger();
const PREFIX = 'vfy7';
const SUBNET = 177;
const VIP = `198.18.${SUBNET}.100`;
// v3 at 100 ms: Master_Down_Interval about 0.36 s, so each step settles well within a second.
const instance = (priority: number, state: 'MASTER' | 'BACKUP'): InstanceConf => ({
  name: 'VI_1',
  vrid: 77,
  version: 3,
  priority,
  advertInt: 0.1,
  state,
  vips: [`${VIP}/24`],
});
const CONF = { a: confFile('a', [instance(150, 'MASTER')]), b: confFile('b', [instance(100, 'BACKUP')]) };

let lab: Lab;
const tmp = mkdtempSync(join(tmpdir(), 'vipflow-agree-'));
const daemons: VipflowDaemon[] = [];

before(async () => {
  await sweepStaleLabs(PREFIX, logger);
  lab = await createLab({ prefix: PREFIX, nodes: ['a', 'b'], subnet: SUBNET, ipv6: false, logger });
});
after(async () => {
  for (const d of daemons) await d.kill();
  await lab?.destroy();
  rmSync(tmp, { recursive: true, force: true });
});

const seq = (list: readonly { from: string; to: string; reason: string }[]) => list.map((t) => `${t.from} -> ${t.to} (${t.reason})`);

/** Runs a scenario of nodes a and b (a.conf, b.conf in tmp) with `faults` for `until`; each node's transitions, minus the simulator's own restart lines. */
async function simulated(name: string, until: string, faults: string[]): Promise<{ a: string[]; b: string[] }> {
  const file = join(tmp, name);
  writeFileSync(
    file,
    [
      `until: ${until}`,
      'nodes:',
      '  a: { config: a.conf, interfaces: { eth0: { address: 198.18.177.1/24 } } }',
      '  b: { config: b.conf, interfaces: { eth0: { address: 198.18.177.2/24 } } }',
      'faults:',
      ...faults.map((f) => `  - ${f}`),
      '',
    ].join('\n'),
  );
  const loaded = await loadScenario(file);
  assert.ok(loaded.ok, loaded.ok ? '' : loaded.errors.join('\n'));
  const sim = await runScenario(loaded.prepared);
  // 'restarted' is the simulator's word for a new runner; the daemon's new instance starts with its own line.
  const of = (node: string) => seq(sim.transitions.filter((t) => t.node === node && t.reason !== 'restarted'));
  return { a: of('a'), b: of('b') };
}

test('link down, link up and SIGTERM: the same transitions in the same order per node, simulated and real', async () => {
  writeFileSync(join(tmp, 'a.conf'), CONF.a);
  writeFileSync(join(tmp, 'b.conf'), CONF.b);
  const expected = await simulated('agree.yaml', '8s', [
    '{ at: 2s, do: link-down, node: a }',
    '{ at: 4s, do: link-up, node: a }',
    '{ at: 6s, do: sigterm, node: a }',
  ]);
  // The simulation's own story, so a change in it shows here first.
  assert.deepEqual(expected.a, [
    'initialize -> backup (startup)',
    'backup -> master (master-down-timer)',
    'master -> fault (track-fault)',
    'fault -> backup (fault-cleared)',
    'backup -> master (master-down-timer)',
    'master -> stopped (shutdown)',
  ]);

  // The lab, fault for fault: each step waits for the state the simulation reached, bounded.
  const a = await startVipflow(lab, 'a', 'a', CONF.a);
  daemons.push(a);
  assert.ok(await a.waitForState('master', 3000), 'a becomes Master');
  const b = await startVipflow(lab, 'b', 'b', CONF.b);
  daemons.push(b);
  assert.ok(await b.waitForState('backup', 3000), 'b starts as Backup');

  let mark = { a: a.transitions.length, b: b.transitions.length };
  await lab.exec('a', 'ip', ['link', 'set', 'eth0', 'down']);
  assert.ok(await a.waitForState('fault', 3000, mark.a), 'a goes to Fault when its link is down');
  assert.ok(await b.waitForState('master', 3000, mark.b), 'b takes over');

  mark = { a: a.transitions.length, b: b.transitions.length };
  await lab.exec('a', 'ip', ['link', 'set', 'eth0', 'up']);
  assert.ok(await a.waitForState('master', 5000, mark.a), 'a takes Master back (preempt)');
  assert.ok(await b.waitForState('backup', 3000, mark.b), 'b steps back');

  mark = { a: a.transitions.length, b: b.transitions.length };
  a.signal('SIGTERM');
  assert.ok(await b.waitForState('master', 3000, mark.b), 'b takes over after the priority-0 advert');
  await a.exited;

  assert.deepEqual(seq(a.transitions), expected.a, 'node a: simulated and real');
  assert.deepEqual(seq(b.transitions), expected.b, 'node b: simulated and real');
});

test("a reload that restarts the Master's instance: priority 0 first, then the new instance; the same transitions, simulated and real", async () => {
  for (const d of daemons.splice(0)) await d.kill();
  // A timer change is not applied live (infra/vrrp/reload-plan.ts): the instance restarts on both sides.
  const changed = CONF.a.replace('advert_int 0.1', 'advert_int 0.2');
  assert.notEqual(changed, CONF.a);
  writeFileSync(join(tmp, 'a.conf'), CONF.a);
  writeFileSync(join(tmp, 'b.conf'), CONF.b);
  writeFileSync(join(tmp, 'a2.conf'), changed);
  const expected = await simulated('agree-reload.yaml', '5s', ['{ at: 2s, do: reload, node: a, config: a2.conf }']);
  assert.deepEqual(expected.a, [
    'initialize -> backup (startup)',
    'backup -> master (master-down-timer)',
    'master -> stopped (shutdown)',
    'initialize -> backup (startup)',
    'backup -> master (master-down-timer)',
  ]);
  assert.deepEqual(expected.b, ['initialize -> backup (startup)', 'backup -> master (priority-zero-skew)', 'master -> backup (higher-priority-advert)']);

  const a = await startVipflow(lab, 'a', 'ra', CONF.a);
  daemons.push(a);
  assert.ok(await a.waitForState('master', 3000), 'a becomes Master');
  const b = await startVipflow(lab, 'b', 'rb', CONF.b);
  daemons.push(b);
  assert.ok(await b.waitForState('backup', 3000), 'b starts as Backup');
  const mark = { a: a.transitions.length, b: b.transitions.length };
  a.writeConfig(changed);
  a.signal('SIGHUP');
  const tail = () =>
    a.lines
      .slice(-15)
      .map((l) => JSON.stringify(l).slice(0, 300))
      .join('\n');
  assert.ok(await b.waitForState('master', 3000, mark.b), `b takes over after the priority-0 advert: ${tail()}`);
  assert.ok(await a.waitForState('master', 5000, mark.a + 1), "a's new instance takes Master back (preempt)");
  assert.ok(await b.waitForState('backup', 3000, mark.b + 1), 'b steps back');

  assert.deepEqual(seq(a.transitions), expected.a, 'node a: simulated and real');
  assert.deepEqual(seq(b.transitions), expected.b, 'node b: simulated and real');
});
