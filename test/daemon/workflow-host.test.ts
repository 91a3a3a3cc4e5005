/**
 * The daemon's workflow host (daemon/workflow-host.ts) with a workflows file, on the
 * event publisher's in-process bus and a stand-in instance runner: a transition made
 * while the file is still loading triggers its workflow, and a STOP workflow finishes
 * during the stop.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventPublisher, type DaemonEventSettings } from '../../daemon/event-publisher.js';
import { WorkflowHost, type ConfiguredWorkflows } from '../../daemon/workflow-host.js';
import type { InstanceRunner } from '../../infra/vrrp/instance-runner.js';
import { transitionRecord } from './fixtures.js';
import { emptyDropCounters } from '../../actors/vrrp/receive.js';
import type { VipflowEvent } from '../../infra/events/schema.js';
import { log, waitFor } from '../workflows/helpers.js';

const record = transitionRecord;

/** The publisher and the workflow host on its bus, started and stopped in the daemon's order (daemon.ts startEvents / stopEvents). */
function eventSide(settings: DaemonEventSettings, dir: string, runner: InstanceRunner) {
  const ev = new EventPublisher(settings, dir, log, () => [{ name: 'VI_1', runner }]);
  const side = { replayDone: 0 };
  // As the daemon does: the bus forgets its history once the host says no replay is coming.
  const onReplayDone = () => {
    side.replayDone++;
    ev.bus.forgetHistory?.();
  };
  const host = new WorkflowHost({ bus: ev.bus, source: ev.source, log: ev.log, workflowsFile: settings.workflowsFile, onReplayDone });
  return {
    get replayDone() {
      return side.replayDone;
    },
    bus: ev.bus,
    transition: ev.transition.bind(ev),
    start(configFile: string, configured?: ConfiguredWorkflows) {
      ev.start(configFile, ['VI_1']);
      host.start(configFile, {}, configured);
    },
    async stop(reason: string, uptimeMs: number) {
      ev.seal();
      await host.stop(settings.stopFlushMs ?? 2000);
      await ev.stop(reason, uptimeMs);
    },
  };
}

test('the daemon runs a workflows file off its own transitions, and lets STOP workflows finish at stop', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vipflow-wf-daemon-'));
  const out = join(dir, 'trail.txt');
  const file = join(dir, 'workflows.mjs');
  writeFileSync(
    file,
    `import { appendFileSync } from 'node:fs';
const note = (ctx) => appendFileSync(${JSON.stringify(out)}, ctx.event.data.instance + ':' + ctx.event.data.to + '\\n');
export default [
  { name: 'on-master', on: { to: 'MASTER' }, steps: [{ name: 'note', run: note }] },
  { name: 'on-stop', on: { to: 'STOP' }, steps: [{ name: 'wait', run: () => new Promise((r) => setTimeout(r, 50)) }, { name: 'note', run: note }] },
];
`,
  );
  const runner = { drops: emptyDropCounters(), plan: { interface: 'eth0' } } as unknown as InstanceRunner;
  const ev = eventSide({ cluster: 'c1', node: 'n1', workflowsFile: file, stopFlushMs: 2000 }, dir, runner);
  try {
    const finished: VipflowEvent[] = [];
    await ev.bus.subscribe({ types: ['workflow.finished'] }, (e) => void finished.push(e), { start: { from: 'all' } });
    ev.start('/etc/keepalived/keepalived.conf');
    // Published before the workflows file has loaded: the runner's subscription starts at the daemon start.
    ev.transition(record({}), '198.18.0.2', () => []);
    assert.equal(ev.replayDone, 0, 'the history is kept while the workflows load');
    await waitFor(() => existsSync(out) && readFileSync(out, 'utf8').includes('VI_1:master'));
    assert.equal(ev.replayDone, 1, 'and forgotten once their subscription has replayed it');
    // Nothing is kept for replay any more: a subscriber from the start sees only what comes next.
    const late: string[] = [];
    await ev.bus.subscribe({}, (e) => void late.push(e.type), { start: { from: 'all' } });
    ev.transition(record({ from: 'master', to: 'stopped', reason: 'shutdown' }), '198.18.0.2', () => []);
    await ev.stop('SIGTERM', 1000);
    assert.equal(readFileSync(out, 'utf8'), 'VI_1:master\nVI_1:stopped\n');
    assert.equal(late[0], 'instance.transition', `the late subscriber starts at the next event: ${late.join(', ')}`);
    assert.deepEqual(
      finished.map((e) => [(e.data as { workflow: string }).workflow, (e.data as { status: string }).status]),
      [
        ['on-master', 'succeeded'],
        ['on-stop', 'succeeded'],
      ],
    );
  } finally {
    await ev.stop('test', 0).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a workflows file that does not load leaves the daemon running without workflows', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vipflow-wf-daemon-'));
  const runner = { drops: emptyDropCounters(), plan: { interface: 'eth0' } } as unknown as InstanceRunner;
  const ev = eventSide({ cluster: 'c1', node: 'n1', workflowsFile: join(dir, 'missing.mjs') }, dir, runner);
  try {
    const seen: VipflowEvent[] = [];
    await ev.bus.subscribe({}, (e) => void seen.push(e), { start: { from: 'all' } });
    ev.start('/x.conf');
    ev.transition(record({}), '198.18.0.2', () => []);
    await ev.stop('SIGTERM', 10);
    await waitFor(() => seen.some((e) => e.type === 'daemon.stop'));
    assert.deepEqual(
      seen.map((e) => e.type),
      ['daemon.start', 'instance.transition', 'daemon.stop'],
    );
    assert.equal(ev.replayDone, 1, 'a file that did not load replays nothing either');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('workflows declared in the config run beside the config workflowsFile; a broken one is logged and the rest run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vipflow-wf-daemon-'));
  const out = join(dir, 'trail.txt');
  const file = join(dir, 'workflows.mjs');
  writeFileSync(
    file,
    `import { appendFileSync } from 'node:fs';\nexport default [{ name: 'from-file', on: { to: 'MASTER' }, steps: [{ name: 'note', run: () => appendFileSync(${JSON.stringify(out)}, 'file\\n') }] }];\n`,
  );
  const runner = { drops: emptyDropCounters(), plan: { interface: 'eth0' } } as unknown as InstanceRunner;
  const ev = eventSide({ cluster: 'c1', node: 'n1', stopFlushMs: 2000 }, dir, runner);
  try {
    const finished: VipflowEvent[] = [];
    await ev.bus.subscribe({ types: ['workflow.finished'] }, (e) => void finished.push(e), { start: { from: 'all' } });
    ev.start(join(dir, 'vipflow.config.ts'), {
      // Relative to the config file's folder, as in a vipflow.config.ts.
      workflowsFile: 'workflows.mjs',
      workflows: [
        { name: 'touch', on: { to: 'MASTER' }, steps: [{ uses: 'shell.script', with: { script: '/bin/sh', args: ['-c', `echo config >> ${out}`] } }] },
        { name: 'broken', on: { to: 'MASTER' }, steps: [{ uses: 'no.such', with: {} }] },
      ],
    });
    ev.transition(record({}), '198.18.0.2', () => []);
    await waitFor(() => finished.length === 2, 10_000);
    assert.deepEqual(readFileSync(out, 'utf8').split('\n').filter(Boolean).sort(), ['config', 'file']);
    assert.deepEqual(finished.map((e) => (e.data as { workflow: string }).workflow).sort(), ['from-file', 'touch']);
  } finally {
    await ev.stop('test', 0).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("workflowRunner 'workers': the daemon leaves the config's workflows to the workers", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vipflow-wf-daemon-'));
  const out = join(dir, 'trail.txt');
  const runner = { drops: emptyDropCounters(), plan: { interface: 'eth0' } } as unknown as InstanceRunner;
  const ev = eventSide({ cluster: 'c1', node: 'n1' }, dir, runner);
  try {
    const started: VipflowEvent[] = [];
    await ev.bus.subscribe({ types: ['workflow.started'] }, (e) => void started.push(e), { start: { from: 'all' } });
    ev.start(join(dir, 'vipflow.config.ts'), {
      workflowRunner: 'workers',
      workflows: [{ name: 'touch', on: { to: 'MASTER' }, steps: [{ uses: 'shell.script', with: { script: '/bin/sh', args: ['-c', `echo ran >> ${out}`] } }] }],
    });
    assert.equal(ev.replayDone, 1, 'no runner here: the history is forgotten at start');
    ev.transition(record({}), '198.18.0.2', () => []);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(existsSync(out), false, 'nothing ran in the daemon');
    assert.deepEqual(started, []);
  } finally {
    await ev.stop('test', 0).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
});
