// Pure parts of the paging notifiers: PagerDuty Events v2 payloads against the documented
// schema, dedup keys, response mapping; Alertmanager alerts; option validation; secrets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  alertLabels,
  alertmanagerTarget,
  alertsUrl,
  buildPagerDutyEvent,
  defaultDedupKey,
  healthAlertStep,
  pagerDutyEventSchema,
  pagerDutyTriggerStep,
  readAlertmanagerResponse,
  readPagerDutyResponse,
  readWebhookResponse,
  resolveSecret,
  webhookStep,
} from '../../../notifiers/paging/index.js';
import { subjectOf } from '../../../notifiers/paging/subject.js';
import { ROUTING_KEY, transitionEvent } from './helpers.js';

const fields = {
  summary: 'VipflowAlert: VI_1 down',
  source: 'node-b',
  severity: 'critical' as const,
  timestamp: '2026-11-26T10:00:00.123Z',
  customDetails: { vrid: 51 },
};

test('PagerDuty: trigger, acknowledge and resolve bodies pass the Events v2 schema; bad ones do not', () => {
  for (const action of ['trigger', 'acknowledge', 'resolve'] as const) {
    const body = buildPagerDutyEvent(action, ROUTING_KEY, 'vipflow/dc1/VI_1/X', fields);
    const r = pagerDutyEventSchema.safeParse(body);
    assert.ok(r.success, `${action}: ${JSON.stringify(r.error?.issues)}`);
    assert.equal(body.event_action, action);
  }
  const trigger = buildPagerDutyEvent('trigger', ROUTING_KEY, 'k', fields);
  assert.deepEqual(trigger, {
    routing_key: ROUTING_KEY,
    event_action: 'trigger',
    dedup_key: 'k',
    payload: { summary: fields.summary, source: 'node-b', severity: 'critical', timestamp: fields.timestamp, custom_details: { vrid: 51 } },
  });
  const bad: unknown[] = [
    { ...trigger, routing_key: 'short' },
    { ...trigger, payload: { ...trigger.payload, severity: 'fatal' } },
    { ...trigger, payload: { source: 'x', severity: 'info' } },
    { routing_key: ROUTING_KEY, event_action: 'resolve' },
    { routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: 'x'.repeat(256) },
    { ...trigger, extra: 1 },
  ];
  for (const b of bad) assert.equal(pagerDutyEventSchema.safeParse(b).success, false, JSON.stringify(b));
  // A summary over PagerDuty's 1024 characters is cut, not refused.
  const long = buildPagerDutyEvent('trigger', ROUTING_KEY, 'k', { ...fields, summary: 'y'.repeat(2000) });
  assert.ok(pagerDutyEventSchema.safeParse(long).success);
});

test('PagerDuty: the default dedup key names cluster, instance and problem, not the node or the event', () => {
  const onB = defaultDedupKey(subjectOf(transitionEvent('node-b', 'master')), 'MasterUnhealthy');
  const laterOnA = defaultDedupKey(subjectOf(transitionEvent('node-a', 'backup')), 'MasterUnhealthy');
  assert.equal(onB, 'vipflow/dc1/VI_1/MasterUnhealthy');
  assert.equal(laterOnA, onB, 'a resolve from another node and event matches the trigger');
  assert.notEqual(defaultDedupKey(subjectOf(transitionEvent('node-b', 'master', 'VI_2')), 'MasterUnhealthy'), onB);
  const long = defaultDedupKey({ cluster: 'c', node: 'n', instance: 'i'.repeat(300) }, 'A');
  assert.equal(long.length, 255);
  assert.equal(long, defaultDedupKey({ cluster: 'c', node: 'n', instance: 'i'.repeat(300) }, 'A'), 'stable');
  assert.notEqual(long, defaultDedupKey({ cluster: 'c', node: 'n', instance: 'i'.repeat(300) }, 'B'), 'the hash tells long keys apart');
});

test('PagerDuty responses: 202 accepted, 400 permanent with its message, 429 and 5xx retryable', () => {
  assert.deepEqual(readPagerDutyResponse(202, '{"status":"success","message":"Event processed","dedup_key":"k1"}'), {
    ok: true,
    detail: { status: 202, dedupKey: 'k1' },
  });
  const bad = readPagerDutyResponse(400, '{"status":"invalid event","message":"Event object is invalid","errors":["\'payload.severity\' is invalid"]}');
  assert.equal(bad.ok, false);
  assert.ok(!bad.ok && !bad.retryable);
  assert.ok(!bad.ok && bad.message.includes("Event object is invalid: 'payload.severity' is invalid"), !bad.ok ? bad.message : '');
  const throttled = readPagerDutyResponse(429, '');
  assert.ok(!throttled.ok && throttled.retryable && throttled.message.includes('429'));
  const down = readPagerDutyResponse(502, '<html><body>Bad gateway</body></html>');
  assert.ok(!down.ok && down.retryable && down.message.includes('Bad gateway'));
  const auth = readPagerDutyResponse(403, '');
  assert.ok(!auth.ok && !auth.retryable);
});

test('Alertmanager: identity labels, API path with a route prefix, 400 carries its reason', () => {
  const s = subjectOf(transitionEvent('node-b', 'master'));
  assert.deepEqual(alertLabels(s, 'A', 'critical', { team: 'net' }), {
    team: 'net',
    alertname: 'A',
    cluster: 'dc1',
    node: 'node-b',
    instance: 'VI_1',
    severity: 'critical',
  });
  assert.equal(alertsUrl('http://am:9093'), 'http://am:9093/api/v2/alerts');
  assert.equal(alertsUrl('http://am:9093/am/'), 'http://am:9093/am/api/v2/alerts');
  assert.deepEqual(readAlertmanagerResponse(200, ''), { ok: true, detail: { status: 200 } });
  const r = readAlertmanagerResponse(400, '"at least one label pair required"');
  assert.ok(!r.ok && !r.retryable && r.message === 'Alertmanager rejected the alert: at least one label pair required');
  assert.ok(!readAlertmanagerResponse(503, '').ok);
  const w = readWebhookResponse(404, 'no such hook '.repeat(40));
  assert.ok(!w.ok && !w.retryable && w.message.startsWith('webhook answered 404: no such hook') && w.message.length < 260);
});

test('options: bad or ambiguous options throw an Error naming the field', () => {
  assert.throws(() => pagerDutyTriggerStep({}), /pagerduty options: routingKey: required/);
  assert.throws(() => pagerDutyTriggerStep({ routingKey: 'x', routingKeyEnv: 'PD' }), /routingKeyEnv: give only one of routingKey, routingKeyEnv/);
  assert.throws(() => pagerDutyTriggerStep({ routingKeyEnv: 'not a name' }), /routingKeyEnv: must be an environment variable name/);
  assert.throws(() => pagerDutyTriggerStep({ routingKeyEnv: 'PD', severity: 'fatal' as 'info' }), /severity/);
  assert.throws(() => pagerDutyTriggerStep({ routingKeyEnv: 'PD', endpoint: 'ftp://x' }), /endpoint/);
  assert.throws(() => alertmanagerTarget({ url: 'http://am:9093', labels: { cluster: 'x' } }), /labels\.cluster: 'cluster' is set by vipflow/);
  assert.throws(
    () => alertmanagerTarget({ url: 'http://am:9093', bearerTokenEnv: 'T', basicAuth: { username: 'u', passwordEnv: 'P' } }),
    /basicAuth: give either/,
  );
  assert.throws(() => alertmanagerTarget({ url: 'http://am:9093', basicAuth: { username: 'u' } }), /basicAuth\.password: required/);
  assert.throws(() => webhookStep({ url: 'http://x', headers: { 'bad header': 'v' } }), /headers/);
  assert.throws(() => webhookStep({ url: 'http://x', headers: { authorization: { env: 'A', file: '/f' } } }), /exactly one of value, env, file/);
  assert.throws(() => webhookStep({ urlEnv: 'HOOK', body: 'text' as never }), /body: must be a function/);
  assert.throws(() => healthAlertStep({ url: 'http://127.0.0.1/', failuresToFire: 0 }, alertmanagerTarget({ url: 'http://am:9093' })), /failuresToFire/);
  // Valid options make steps with the paging defaults.
  const s = pagerDutyTriggerStep({ routingKeyEnv: 'PD_ROUTING_KEY' }, { name: 'page-oncall' });
  assert.equal(s.name, 'page-oncall');
  assert.deepEqual(s.retry, { attempts: 3, backoffMs: 1000, factor: 2 });
});

test('secrets: literal, environment or file; errors name the option and never the value', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vfpg-secret-'));
  try {
    writeFileSync(join(dir, 'key'), '  s3cret-from-file\n');
    assert.deepEqual(await resolveSecret({ value: 'lit' }, 'routingKey'), { ok: true, value: 'lit' });
    assert.deepEqual(await resolveSecret({ file: join(dir, 'key') }, 'routingKey'), { ok: true, value: 's3cret-from-file' });
    process.env.VFPG_TEST_SECRET = 'from-env';
    assert.deepEqual(await resolveSecret({ env: 'VFPG_TEST_SECRET' }, 'routingKey'), { ok: true, value: 'from-env' });
    delete process.env.VFPG_TEST_SECRET;
    assert.deepEqual(await resolveSecret({ env: 'VFPG_TEST_SECRET' }, 'routingKey'), {
      ok: false,
      error: 'option routingKeyEnv: environment variable VFPG_TEST_SECRET is not set or empty',
    });
    const missing = await resolveSecret({ file: join(dir, 'nope') }, 'bearerToken');
    assert.ok(!missing.ok && missing.error.startsWith('option bearerTokenFile: cannot read') && missing.error.includes('ENOENT'));
    writeFileSync(join(dir, 'empty'), '\n');
    assert.deepEqual(await resolveSecret({ file: join(dir, 'empty') }, 'url'), { ok: false, error: `option urlFile: ${join(dir, 'empty')} is empty` });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
