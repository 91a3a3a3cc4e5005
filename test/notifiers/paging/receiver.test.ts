// PagerDuty-format and webhook deliveries checked on a local HTTP receiver (127.0.0.1,
// ephemeral port): every PagerDuty body against the Events v2 schema, retries on 429,
// no retry on 400, webhook headers and body, dry runs, network errors and timeouts.
// Starts: node:http servers in this process.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  alertmanagerFireStep,
  alertmanagerResolveStep,
  healthAlertStep,
  pagerDutyAcknowledgeStep,
  pagerDutyEventSchema,
  pagerDutyResolveStep,
  pagerDutyTarget,
  pagerDutyTriggerStep,
  webhookStep,
  type PagerDutyEvent,
} from '../../../notifiers/paging/index.js';
import { ROUTING_KEY, runSteps, startReceiver, transitionEvent, type Receiver } from './helpers.js';

const fast = { retry: { attempts: 3, backoffMs: 10 } };

describe('paging notifiers against a local receiver', () => {
  let rx: Receiver;
  let dir: string;
  before(async () => {
    rx = await startReceiver();
    dir = mkdtempSync(join(tmpdir(), 'vfpg-rx-'));
    process.env.VFPG_ROUTING_KEY = ROUTING_KEY;
  });
  after(async () => {
    await rx.close();
    rmSync(dir, { recursive: true, force: true });
    delete process.env.VFPG_ROUTING_KEY;
  });
  beforeEach(() => {
    rx.received.length = 0;
    rx.abandoned = 0;
    rx.answers = [{ status: 202, body: '{"status":"success","message":"Event processed","dedup_key":"x"}' }];
  });
  const pd = () => ({
    routingKeyEnv: 'VFPG_ROUTING_KEY',
    endpoint: `${rx.url}/v2/enqueue`,
    alertName: 'MasterUnhealthy',
    customDetails: { runbook: 'https://wiki.example/vip' },
  });
  const bodies = () => rx.received.map((r) => JSON.parse(r.body) as PagerDutyEvent);

  test('trigger, acknowledge and resolve: valid Events v2 bodies sharing one dedup key across nodes and events', async () => {
    const onB = transitionEvent('node-b', 'master');
    const t = await runSteps([pagerDutyTriggerStep(pd()), pagerDutyAcknowledgeStep(pd())], onB);
    assert.equal(t.result.status, 'succeeded');
    // The resolve comes from another event on another node (the old Master back, say).
    const r = await runSteps([pagerDutyResolveStep(pd())], transitionEvent('node-a', 'master'));
    assert.equal(r.result.status, 'succeeded');
    assert.equal(rx.received.length, 3);
    for (const req of rx.received) {
      assert.equal(req.method, 'POST');
      assert.equal(req.url, '/v2/enqueue');
      assert.equal(req.headers['content-type'], 'application/json');
      const v = pagerDutyEventSchema.safeParse(JSON.parse(req.body));
      assert.ok(v.success, `${req.body}: ${JSON.stringify(v.error?.issues)}`);
    }
    const [trigger, ack, resolve] = bodies();
    assert.deepEqual([trigger!.event_action, ack!.event_action, resolve!.event_action], ['trigger', 'acknowledge', 'resolve']);
    assert.equal(trigger!.routing_key, ROUTING_KEY, 'routing key from the environment');
    assert.equal(trigger!.dedup_key, 'vipflow/dc1/VI_1/MasterUnhealthy');
    assert.equal(ack!.dedup_key, trigger!.dedup_key);
    assert.equal(resolve!.dedup_key, trigger!.dedup_key);
    assert.ok(trigger!.event_action === 'trigger');
    const p = trigger!.payload;
    assert.equal(p.summary, 'MasterUnhealthy: VI_1 on node-b (cluster dc1): backup -> master (master-down-timer)');
    assert.equal(p.source, 'node-b');
    assert.equal(p.component, 'VI_1');
    assert.equal(p.group, 'dc1');
    assert.equal(p.severity, 'critical');
    assert.equal(p.custom_details?.idempotencyKey, `${onB.id}/page/pagerduty-trigger`);
    assert.equal(p.custom_details?.runbook, 'https://wiki.example/vip');
    assert.equal(p.custom_details?.to, 'master');
  });

  test('429 then 202: the step is retried by its policy and succeeds', async () => {
    rx.answers = [
      { status: 429, body: '{"status":"throttle event","message":"Requests for this service are arriving too quickly."}' },
      { status: 202, body: '{"status":"success"}' },
    ];
    const { result } = await runSteps([pagerDutyTriggerStep(pd(), fast)], transitionEvent('node-b', 'master'));
    assert.equal(result.status, 'succeeded');
    assert.deepEqual(
      result.steps.map((s) => s.outcome),
      ['retried', 'succeeded'],
    );
    assert.match(result.steps[0]!.error ?? '', /PagerDuty is throttling events \(429\): Requests for this service are arriving too quickly/);
    assert.equal(rx.received.length, 2);
    assert.equal(rx.received[0]!.body, rx.received[1]!.body, 'the retry sends the same event');
  });

  test("400: fails with PagerDuty's message and the bad event is never sent again", async () => {
    rx.answers = [
      {
        status: 400,
        body: '{"status":"invalid event","message":"Event object is invalid","errors":["Length of \'routing_key\' is incorrect (should be 32 characters)"]}',
      },
    ];
    const { result } = await runSteps([pagerDutyTriggerStep(pd(), fast)], transitionEvent('node-b', 'master'));
    assert.equal(result.status, 'failed');
    assert.equal(rx.received.length, 1, 'one request only, despite 3 attempts allowed');
    const last = result.steps.at(-1)!;
    assert.equal(last.outcome, 'failed');
    assert.match(last.error ?? '', /PagerDuty rejected the event as invalid: Event object is invalid: Length of 'routing_key' is incorrect/);
  });

  test('network failure and timeout: refused is retried then fails; a hung receiver is abandoned at the step timeout', async () => {
    const gone = await startReceiver();
    const url = gone.url;
    await gone.close();
    const refused = await runSteps([pagerDutyTriggerStep({ ...pd(), endpoint: `${url}/v2/enqueue` }, fast)], transitionEvent('node-b', 'master'));
    assert.equal(refused.result.status, 'failed');
    assert.deepEqual(
      refused.result.steps.map((s) => s.outcome),
      ['retried', 'retried', 'failed'],
    );
    assert.match(refused.result.steps[2]!.error ?? '', /^PagerDuty: http:\/\/127\.0\.0\.1:\d+\/v2\/enqueue unreachable: .*ECONNREFUSED/);

    rx.answers = [{ status: 0 }];
    const t0 = performance.now();
    const hung = await runSteps([pagerDutyTriggerStep(pd(), { timeoutMs: 300, retry: { attempts: 1, backoffMs: 0 } })], transitionEvent('node-b', 'master'));
    assert.equal(hung.result.steps[0]!.outcome, 'timed_out');
    // Generous: the bound is 300 ms; a loaded 2-core machine may add scheduling delay.
    assert.ok(performance.now() - t0 < 3000);
    for (let i = 0; i < 100 && rx.abandoned === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(rx.abandoned, 1, 'the aborted request closed its connection');
  });

  test('webhook: the event body, Idempotency-Key, secret headers from a file and the environment', async () => {
    writeFileSync(join(dir, 'token'), 'tok-123\n');
    process.env.VFPG_HOOK_URL = `${rx.url}/hooks/vip?token=abc`;
    try {
      rx.answers = [{ status: 500, body: 'busy' }, { status: 204 }];
      const ev = transitionEvent('node-b', 'master');
      const step = webhookStep({ urlEnv: 'VFPG_HOOK_URL', headers: { Authorization: { file: join(dir, 'token'), prefix: 'Bearer ' }, 'X-Team': 'net' } }, fast);
      const { result, intents } = await runSteps([step], ev);
      assert.equal(result.status, 'succeeded');
      assert.equal(rx.received.length, 2, 'a 500 is retried');
      for (const req of rx.received) {
        assert.equal(req.url, '/hooks/vip?token=abc');
        assert.equal(req.headers['idempotency-key'], `${ev.id}/page/webhook`);
        assert.equal(req.headers.authorization, 'Bearer tok-123');
        assert.equal(req.headers['x-team'], 'net');
        assert.deepEqual(JSON.parse(req.body), {
          event: ev,
          workflow: 'page',
          step: 'webhook',
          runId: `${ev.id}/page`,
          idempotencyKey: `${ev.id}/page/webhook`,
        });
      }
      const shown = JSON.stringify(intents);
      assert.ok(!shown.includes('token=abc') && !shown.includes('tok-123'), `no secret in intentions: ${shown}`);

      rx.received.length = 0;
      rx.answers = [{ status: 404, body: '{"error":"no such hook"}' }];
      const custom = webhookStep({ url: `${rx.url}/other`, method: 'PUT', body: (ctx) => ({ text: `${ctx.event.node} is Master` }) }, fast);
      const failed = await runSteps([custom], ev);
      assert.equal(failed.result.status, 'failed');
      assert.equal(rx.received.length, 1, 'a 404 is not retried');
      assert.equal(rx.received[0]!.method, 'PUT');
      assert.deepEqual(JSON.parse(rx.received[0]!.body), { text: 'node-b is Master' });
      assert.equal(failed.result.steps.length, 1, 'no retry is spent on a permanent refusal');
      assert.equal(failed.result.steps[0]!.error, 'webhook answered 404: {"error":"no such hook"} (not retried: trying again cannot help)');
    } finally {
      delete process.env.VFPG_HOOK_URL;
    }
  });

  test('Alertmanager auth: bearer token from a file, basic auth password from the environment', async () => {
    writeFileSync(join(dir, 'am-token'), 'am-tok\n');
    process.env.VFPG_AM_PASSWORD = 'pw';
    try {
      rx.answers = [{ status: 200 }];
      const ev = transitionEvent('node-b', 'master');
      await runSteps([alertmanagerFireStep({ url: `${rx.url}/am`, bearerTokenFile: join(dir, 'am-token') })], ev);
      await runSteps([alertmanagerResolveStep({ url: rx.url, basicAuth: { username: 'vipflow', passwordEnv: 'VFPG_AM_PASSWORD' } })], ev);
      assert.deepEqual(
        rx.received.map((r) => [r.url, r.headers.authorization]),
        [
          ['/am/api/v2/alerts', 'Bearer am-tok'],
          ['/api/v2/alerts', `Basic ${Buffer.from('vipflow:pw').toString('base64')}`],
        ],
      );
      const [fire, resolve] = rx.received.map((r) => JSON.parse(r.body) as { labels: Record<string, string>; startsAt?: string; endsAt?: string }[]);
      assert.deepEqual(resolve![0]!.labels, fire![0]!.labels, 'the resolve names the same alert');
      assert.equal(fire![0]!.endsAt, undefined, 'no end: Alertmanager applies its resolve_timeout');
      assert.ok(Date.parse(resolve![0]!.endsAt ?? '') <= Date.now(), 'the resolve ends it now');
    } finally {
      delete process.env.VFPG_AM_PASSWORD;
    }
  });

  test('dry run: intentions with URL, action and dedup key; nothing sent; no secret shown', async () => {
    const steps = [
      pagerDutyTriggerStep(pd()),
      webhookStep({ url: `${rx.url}/hook`, headers: { authorization: { env: 'VFPG_ROUTING_KEY', prefix: 'Bearer ' } } }),
      alertmanagerFireStep({ url: rx.url, bearerTokenEnv: 'VFPG_ROUTING_KEY' }),
    ];
    const { result, intents } = await runSteps(steps, transitionEvent('node-b', 'master'), true);
    assert.equal(result.status, 'succeeded');
    assert.equal(rx.received.length, 0);
    assert.deepEqual(
      intents.map((i) => i.action),
      ['PagerDuty trigger', 'webhook POST', 'Alertmanager fire'],
    );
    assert.equal(intents[0]!.detail?.dedupKey, 'vipflow/dc1/VI_1/MasterUnhealthy');
    assert.equal(intents[0]!.detail?.endpoint, `${rx.url}/v2/enqueue`);
    assert.equal(intents[0]!.detail?.routingKey, 'env VFPG_ROUTING_KEY');
    assert.equal(intents[2]!.detail?.url, `${rx.url}/api/v2/alerts`);
    assert.ok(!JSON.stringify(intents).includes(ROUTING_KEY));
  });

  test('health alert: a failing health URL triggers, and the page resolves once the check passes', async () => {
    const health = await startReceiver();
    try {
      health.answers = [{ status: 503 }, { status: 503 }, { status: 503 }, { status: 200 }];
      const step = healthAlertStep({ url: `${health.url}/healthz`, intervalMs: 20, failuresToFire: 2, watchMs: 5000 }, pagerDutyTarget(pd()));
      const { result } = await runSteps([step], transitionEvent('node-b', 'master'));
      assert.equal(result.status, 'succeeded');
      assert.equal(health.received.length, 4, 'two failures fire, one more failure while watching, then healthy');
      assert.deepEqual(
        bodies().map((b) => b.event_action),
        ['trigger', 'resolve'],
      );
      const trigger = bodies()[0]!;
      assert.ok(
        trigger.event_action === 'trigger' && trigger.payload.summary.endsWith(`- health check ${health.url}/healthz failed: status 503`),
        JSON.stringify(trigger),
      );
      assert.equal(bodies()[1]!.dedup_key, trigger.dedup_key);

      // Healthy at once: a resolve only (clears what an earlier period may have left).
      rx.received.length = 0;
      health.received.length = 0;
      health.answers = [{ status: 200 }];
      const again = await runSteps([step], transitionEvent('node-b', 'master'));
      assert.equal(again.result.status, 'succeeded');
      assert.deepEqual(
        bodies().map((b) => b.event_action),
        ['resolve'],
      );
    } finally {
      await health.close();
    }
  });
});
