// The Alertmanager notifier against a real prometheus-alertmanager on 127.0.0.1 (free
// port, clustering off), started and stopped by PID in the hooks: a fired alert is listed
// active with vipflow's labels; a resolve (same labels, endsAt now) removes it.
// Starts: prometheus-alertmanager.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pollUntil } from '../../../lab/run.js';
import { freeLoopbackPort, startAlertmanager, type AlertmanagerProcess, type GettableAlert } from '../../../lab/alertmanager.js';
import { alertmanagerFireStep, alertmanagerResolveStep, type AlertmanagerOptions } from '../../../notifiers/paging/index.js';
import { runSteps, transitionEvent } from './helpers.js';

describe('Alertmanager v2 notifier on a real Alertmanager', () => {
  let am: AlertmanagerProcess;
  before(async () => {
    am = await startAlertmanager();
  });
  after(async () => {
    await am?.stop();
  });
  const options = (): AlertmanagerOptions => ({
    url: am.url,
    alertName: 'VipflowMasterUnhealthy',
    labels: { team: 'net' },
    annotations: { runbook: 'https://wiki.example/vip' },
    generatorURL: 'http://vipflow.example/',
  });
  const mine = (alerts: GettableAlert[], node: string) => alerts.filter((a) => a.labels.alertname === 'VipflowMasterUnhealthy' && a.labels.node === node);
  /** Bounded poll of the API until `check` holds; the listed alerts at that point, or undefined. */
  const waitAlerts = (check: (a: GettableAlert[]) => boolean) =>
    pollUntil(
      async () => {
        const a = await am.alerts();
        return check(a) ? a : undefined;
      },
      5000,
      50,
    );

  test('fire: the alert is active with identity labels and annotations; resolve: it is gone', async () => {
    const fired = await runSteps([alertmanagerFireStep(options())], transitionEvent('node-b', 'master'));
    assert.equal(fired.result.status, 'succeeded', JSON.stringify(fired.result.steps));
    const listed = await waitAlerts((a) => mine(a, 'node-b').length === 1);
    assert.ok(listed, 'the alert is listed');
    const alert = mine(listed, 'node-b')[0]!;
    assert.deepEqual(alert.labels, {
      alertname: 'VipflowMasterUnhealthy',
      cluster: 'dc1',
      node: 'node-b',
      instance: 'VI_1',
      severity: 'critical',
      team: 'net',
    });
    assert.equal(alert.status.state, 'active');
    assert.equal(alert.annotations.summary, 'VipflowMasterUnhealthy: VI_1 on node-b (cluster dc1): backup -> master (master-down-timer)');
    assert.equal(alert.annotations.runbook, 'https://wiki.example/vip');

    // Another node's alert is another alert (node is part of the identity).
    await runSteps([alertmanagerFireStep(options())], transitionEvent('node-a', 'master'));
    assert.ok(await waitAlerts((a) => mine(a, 'node-a').length === 1 && mine(a, 'node-b').length === 1));

    // The resolve comes from a later event of node-b (it became Backup): same labels, endsAt now.
    const resolved = await runSteps([alertmanagerResolveStep(options())], transitionEvent('node-b', 'backup'));
    assert.equal(resolved.result.status, 'succeeded');
    const after = await waitAlerts((a) => mine(a, 'node-b').length === 0);
    assert.ok(after, "node-b's alert is no longer listed");
    assert.equal(mine(after, 'node-a').length, 1, "node-a's alert is untouched");
    await runSteps([alertmanagerResolveStep(options())], transitionEvent('node-a', 'backup'));
    assert.ok(await waitAlerts((a) => mine(a, 'node-a').length === 0));
  });

  test('expireAfterMs: a fired alert that is not posted again ends by itself', async () => {
    await runSteps([alertmanagerFireStep({ ...options(), expireAfterMs: 1500 })], transitionEvent('node-c', 'master'));
    assert.ok(await waitAlerts((a) => mine(a, 'node-c').length === 1), 'listed');
    // Ends 1.5 s after the post; the bound leaves room for a loaded machine.
    assert.ok(await waitAlerts((a) => mine(a, 'node-c').length === 0), 'gone without a resolve');
  });

  test('an unreachable Alertmanager fails the step after its retries, naming the URL', async () => {
    const port = await freeLoopbackPort();
    const { result } = await runSteps(
      [alertmanagerFireStep({ url: `http://127.0.0.1:${port}` }, { retry: { attempts: 2, backoffMs: 10 } })],
      transitionEvent('node-b', 'master'),
    );
    assert.equal(result.status, 'failed');
    assert.match(result.steps.at(-1)!.error ?? '', /^Alertmanager: http:\/\/127\.0\.0\.1:\d+\/api\/v2\/alerts unreachable: .*ECONNREFUSED/);
  });
});
