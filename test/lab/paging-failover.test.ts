// Real network: two `vipflow run` daemons (nodes a and b) with a workflows file that
// pages through Alertmanager when the new Master's health URL fails; Alertmanager runs in
// a third lab node (c), because a daemon in its namespace cannot reach the root
// namespace's loopback. Health: nginx on 127.0.0.1:8080 of the node, started on a only.
// Starts: a namespace lab, prometheus-alertmanager, nginx, two vipflow daemons.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../core/logger.js';
import { createLab, pollUntil, sweepStaleLabs, type Lab } from '../../lab/index.js';
import { startAlertmanager, type AlertmanagerProcess, type GettableAlert } from '../../lab/alertmanager.js';
import { startNginx, type NginxProcess } from '../../lab/nginx.js';
import { startVipflow, type VipflowDaemon } from '../../lab/vipflow.js';
import { confFile } from './daemon-conf.js';

const logger = silentLogger();
const PREFIX = 'vfpg';
const SUBNET = 180;
const VIP = `198.18.${SUBNET}.100`;
const AM_HOST = `198.18.${SUBNET}.3`;
const ALERT = 'VipflowMasterUnhealthy';
// Sources run the .ts modules through tsx; dist runs the compiled .js.
const EXT = fileURLToPath(import.meta.url).endsWith('.ts') ? '.ts' : '.js';
const moduleUrl = (path: string) => new URL(`../../${path}${EXT}`, import.meta.url).href;

/** The user's workflows file: page when unhealthy as Master, clear when no longer Master. */
const WORKFLOWS = `import { defineWorkflow } from ${JSON.stringify(moduleUrl('workflows/index'))};
import { alertmanagerTarget, alertmanagerResolveStep, healthAlertStep } from ${JSON.stringify(moduleUrl('notifiers/paging/index'))};

// The endpoint comes from the environment, as it would in production.
const am = { url: process.env.VFPG_ALERTMANAGER_URL, alertName: ${JSON.stringify(ALERT)}, labels: { service: 'web' } };
export default [
  defineWorkflow({
    name: 'page-if-unhealthy',
    on: { to: 'MASTER' },
    steps: [healthAlertStep({ url: 'http://127.0.0.1:8080/', intervalMs: 200, failuresToFire: 2, watchMs: 60_000 }, alertmanagerTarget(am))],
  }),
  defineWorkflow({ name: 'clear-when-not-master', on: { to: ['BACKUP', 'FAULT', 'STOP'] }, steps: [alertmanagerResolveStep(am)] }),
];
`;

describe('paging on failover: Alertmanager alert when the new Master is unhealthy', () => {
  let lab: Lab;
  let am: AlertmanagerProcess;
  let workflows: string;
  const daemons: VipflowDaemon[] = [];
  let runs = 0;

  const start = async (node: string, priority: number) => {
    const d = await startVipflow(
      lab,
      node,
      `${node}${runs++}`,
      confFile(node, [{ name: 'VI_pg', vrid: 80, version: 3, priority, advertInt: 0.1, vips: [`${VIP}/24`] }]),
      { prefix: ['env', `VIPFLOW_WORKFLOWS=${workflows}`, `VIPFLOW_NODE_ID=${node}`, 'VIPFLOW_CLUSTER=vfpg', `VFPG_ALERTMANAGER_URL=http://${AM_HOST}:9093`] },
    );
    daemons.push(d);
    return d;
  };
  const alertsOf = (alerts: GettableAlert[], node: string) => alerts.filter((a) => a.labels.alertname === ALERT && a.labels.node === node);
  /** Polls Alertmanager's API (from node c) until `check` holds; bounded. */
  const waitAlerts = (check: (a: GettableAlert[]) => boolean, timeoutMs = 15_000) =>
    pollUntil(
      async () => {
        const a = await am.alerts();
        return check(a) ? a : undefined;
      },
      timeoutMs,
      100,
    );
  const workflowDone = (d: VipflowDaemon, workflow: string, mark: number) =>
    d.waitForLog((l) => l.msg === 'workflow finished' && l.workflow === workflow && d.lines.indexOf(l) >= mark, 15_000);
  const logs = (d: VipflowDaemon) =>
    d.lines
      .filter((l) => typeof l.workflow === 'string')
      .map((l) => `${l.workflow}/${String(l.step ?? '')}: ${l.msg} ${String(l.error ?? l.status ?? '')}`)
      .join('\n');

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['a', 'b', 'c'], subnet: SUBNET, ipv6: false, logger });
    am = await startAlertmanager({ lab, node: 'c', host: AM_HOST, port: 9093 });
    workflows = join(lab.dir, 'paging.workflows.mjs');
    writeFileSync(workflows, WORKFLOWS);
    await startNginx(lab, 'a', 8080);
  });
  after(async () => {
    for (const d of daemons) await d.kill();
    await am?.stop();
    await lab?.destroy();
  });

  test("healthy Master: no alert; failover to an unhealthy b: alert with b's labels; b Backup again: cleared; b Master again, then healthy: cleared", async () => {
    const a = await start('a', 150);
    assert.ok(await a.waitForState('master', 3000), 'a becomes Master');
    const b = await start('b', 100);
    assert.ok(await b.waitForState('backup', 3000), 'b is Backup');
    assert.ok(await workflowDone(a, 'page-if-unhealthy', 0), `a ran its MASTER workflow:\n${logs(a)}`);
    assert.equal(alertsOf(await am.alerts(), 'a').length, 0, 'a serves: no alert');

    // Failover: a stops, b takes over without a server on its health URL.
    let mark = b.transitions.length;
    a.signal('SIGTERM');
    const took = await b.waitForState('master', 3000, mark);
    assert.ok(took, 'b takes over');
    const listed = await waitAlerts((x) => alertsOf(x, 'b').length === 1);
    assert.ok(listed, `the alert for b appears in Alertmanager:\n${logs(b)}`);
    console.log(`# b Master -> alert listed in Alertmanager: ${(performance.now() - took.seenAt).toFixed(0)} ms (2 failed checks 200 ms apart, then one POST)`);
    const alert = alertsOf(listed, 'b')[0]!;
    assert.deepEqual(alert.labels, { alertname: ALERT, cluster: 'vfpg', node: 'b', instance: 'VI_pg', severity: 'critical', service: 'web' });
    assert.equal(alert.status.state, 'active');
    assert.match(alert.annotations.description ?? '', /^health check http:\/\/127\.0\.0\.1:8080\/ failed: ECONNREFUSED$/);
    assert.notEqual(await a.stop(8000), undefined, 'a exits');

    // a comes back and preempts: b's watch is superseded and its BACKUP workflow clears the alert.
    mark = b.transitions.length;
    const lineMark = b.lines.length;
    const a2 = await start('a', 150);
    assert.ok(await a2.waitForState('master', 3000), 'a preempts');
    assert.ok(await b.waitForState('backup', 3000, mark), 'b steps down');
    assert.ok(await workflowDone(b, 'clear-when-not-master', lineMark), `b ran its BACKUP workflow:\n${logs(b)}`);
    assert.ok(await waitAlerts((x) => alertsOf(x, 'b').length === 0), "b's alert is resolved");

    // Failover again: the alert comes back; then nginx starts on b and the watch resolves it.
    mark = b.transitions.length;
    a2.signal('SIGTERM');
    assert.ok(await b.waitForState('master', 3000, mark), 'b takes over again');
    assert.ok(await waitAlerts((x) => alertsOf(x, 'b').length === 1), 'the alert is back');
    const nginx: NginxProcess = await startNginx(lab, 'b', 8080);
    assert.ok(nginx.pid > 0);
    const cleared = performance.now();
    assert.ok(await waitAlerts((x) => alertsOf(x, 'b').length === 0), `b healthy: the alert is resolved:\n${logs(b)}`);
    console.log(`# nginx up on b -> alert gone from Alertmanager: ${(performance.now() - cleared).toFixed(0)} ms (checks every 200 ms)`);
    assert.ok(
      b.lines.some((l) => l.msg === 'healthy again: resolving the alert'),
      'the watch saw b healthy',
    );
  });
});
