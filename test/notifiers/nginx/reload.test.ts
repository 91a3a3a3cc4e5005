// Real nginx on loopback (127.0.0.1, a free port, its own temp dir; started and
// stopped by this test by PID): the reload step run through runWorkflow as a
// workflow would run it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { defineWorkflow, type Intent } from '../../../workflows/define.js';
import { runWorkflow, type RunResult } from '../../../workflows/run.js';
import { zxShell } from '../../../workflows/shell.js';
import { listWorkers } from '../../../notifiers/nginx/host.js';
import { nginxReloadStep, type NginxOptions } from '../../../notifiers/nginx/index.js';
import { collector, log, setup, transitionTo } from '../../workflows/helpers.js';
import { startLocalNginx, type LocalNginx } from './local-nginx.js';

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.setTimeout(3000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

describe('nginx reload step against a real nginx', () => {
  let nginx: LocalNginx;
  const { src } = setup();
  const options = (): NginxOptions => ({ config: nginx.conf, prefix: nginx.dir, pidFile: nginx.pidFile, healthUrl: nginx.url('/version'), verifyTimeoutMs: 8000 });
  const runStep = async (o: NginxOptions, dryRun = false): Promise<{ result: RunResult; events: ReturnType<typeof collector>['events']; intents: Intent[] }> => {
    const w = defineWorkflow({ name: 'lb', on: { to: 'MASTER' }, steps: [nginxReloadStep(o)] });
    const { events, emit } = collector();
    const intents: Intent[] = [];
    const result = await runWorkflow(w, transitionTo(src, 'VI_1', 'master'), { runId: 'r', log, emit, shell: zxShell, dryRun, onIntent: (i) => intents.push(i) });
    return { result, events, intents };
  };
  const workers = () => listWorkers(nginx.pid).map((w) => w.pid);

  before(async () => {
    nginx = await startLocalNginx('v1');
  });
  after(async () => {
    await nginx?.stop();
  });

  test('a good config: new worker generation, health answers with the new config', async () => {
    const old = workers();
    assert.equal(old.length, 1, 'one worker before');
    assert.equal((await get(nginx.url('/version'))).body, 'v1\n');
    nginx.writeConfig('v2');
    const { result } = await runStep({ ...options(), expectBody: 'v2' });
    assert.equal(result.status, 'succeeded', JSON.stringify(result.steps));
    const now = workers();
    assert.ok(now.length >= 1 && now.every((p) => !old.includes(p)), `workers replaced: ${old} -> ${now}`);
    assert.equal((await get(nginx.url('/version'))).body, 'v2\n');
  });

  test("a broken config: the step fails with nginx's message, the old workers keep serving the old config", async () => {
    const old = workers();
    nginx.writeConfig('v3', true);
    const { result, events } = await runStep(options());
    assert.equal(result.status, 'failed');
    const err = result.steps.find((s) => s.outcome === 'failed')?.error ?? '';
    assert.match(err, /nginx -t refused the configuration/);
    assert.match(err, /unknown directive "not_a_directive" in .*nginx\.conf:\d+/, `nginx's file:line in the error: ${err}`);
    const failed = events.find((e) => e.type === 'workflow.step' && e.data.status === 'failed');
    assert.match(String(failed?.data.error), /not_a_directive/, 'the workflow.step event carries the message');
    assert.deepEqual(workers(), old, 'same workers');
    assert.equal((await get(nginx.url('/version'))).body, 'v2\n', 'the previous config still serves');
  });

  test('dry run: nothing tested or reloaded, the intention recorded', async () => {
    nginx.writeConfig('v4');
    const old = workers();
    const { result, intents } = await runStep(options(), true);
    assert.equal(result.status, 'succeeded');
    assert.equal(intents.length, 1);
    assert.equal(intents[0]!.step, 'nginx-reload');
    assert.match(intents[0]!.action, /reload/);
    assert.equal(intents[0]!.detail?.pidFile, nginx.pidFile);
    assert.match(String(intents[0]!.detail?.test), /-t -q/);
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(workers(), old, 'workers unchanged');
    assert.equal((await get(nginx.url('/version'))).body, 'v2\n');
  });

  test('a health URL that never answers as expected fails the step after the new workers started', async () => {
    nginx.writeConfig('v5');
    const { result } = await runStep({ ...options(), expectBody: 'v-never', verifyTimeoutMs: 600 });
    assert.equal(result.status, 'failed');
    assert.match(result.steps[0]?.error ?? '', /new nginx workers .* run but .*\/version did not answer as expected within 600 ms \(last: status 200, body "v5\\n"\)/);
  });

  test('a missing pid file fails before any signal', async () => {
    const { result } = await runStep({ ...options(), pidFile: `${nginx.dir}/nope.pid` });
    assert.equal(result.status, 'failed');
    assert.match(result.steps[0]?.error ?? '', /cannot read pid file .*nope\.pid \(ENOENT\).*nothing reloaded/);
  });
});
