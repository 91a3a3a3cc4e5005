// Real nginx on loopback (127.0.0.1, a free port, its own temp dir; started and
// stopped by this test by PID): the reload step run through runWorkflow as a
// workflow would run it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineWorkflow, type Intent } from '../../../workflows/define.js';
import { runWorkflow, type RunResult } from '../../../workflows/run.js';
import { zxShell } from '../../../workflows/shell.js';
import { listWorkers } from '../../../notifiers/nginx/host.js';
import { nginxReloadStep, type NginxOptions } from '../../../notifiers/nginx/index.js';
import { collector, log, setup, transitionTo } from '../../workflows/helpers.js';
import { startLocalNginx, type LocalNginx } from '../../../lab/local-nginx.js';

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

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
  const options = (): NginxOptions => ({
    config: nginx.conf,
    prefix: nginx.dir,
    pidFile: nginx.pidFile,
    healthUrl: nginx.url('/version'),
    verifyTimeoutMs: 8000,
  });
  const runStep = async (
    o: NginxOptions,
    dryRun = false,
  ): Promise<{ result: RunResult; events: ReturnType<typeof collector>['events']; intents: Intent[] }> => {
    const w = defineWorkflow({ name: 'lb', on: { to: 'MASTER' }, steps: [nginxReloadStep(o)] });
    const { events, emit } = collector();
    const intents: Intent[] = [];
    const result = await runWorkflow(w, transitionTo(src, 'VI_1', 'master'), {
      runId: 'r',
      log,
      emit,
      shell: zxShell,
      dryRun,
      onIntent: (i) => intents.push(i),
    });
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
    nginx.writeConfig('v3', { broken: true });
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

  test('a config nginx -t accepts but the master cannot apply: the step fails at the bound, the old workers keep serving', async () => {
    // A port held by this process: `nginx -t` does not bind, the reload's bind() fails.
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as AddressInfo).port;
    try {
      nginx.writeConfig('v3b', { alsoListen: `127.0.0.1:${port}` });
      const old = workers();
      const t0 = performance.now();
      const { result } = await runStep({ ...options(), verifyTimeoutMs: 800 });
      assert.equal(result.status, 'failed');
      assert.match(
        result.steps[0]?.error ?? '',
        new RegExp(
          `nginx master ${nginx.pid} started no new worker generation within 800 ms after SIGHUP \\(workers still serving: ${old[0]}\\); the new configuration is not live`,
        ),
      );
      assert.ok(performance.now() - t0 < 5000, 'bounded by verifyTimeoutMs, not the step timeout');
      // nginx retries bind() for a few seconds; the port stays taken until it gives up.
      const gaveUp = await waitFor(() => readFileSync(join(nginx.dir, 'error.log'), 'utf8').includes('still could not bind()'), 8000);
      assert.ok(gaveUp, 'nginx gave up the reload');
      assert.deepEqual(workers(), old);
      assert.equal((await get(nginx.url('/version'))).body, 'v2\n');
    } finally {
      await new Promise((r) => taken.close(r));
    }
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
    const { result } = await runStep({ ...options(), expectBody: 'v-never', verifyTimeoutMs: 2000 });
    assert.equal(result.status, 'failed');
    assert.match(
      result.steps[0]?.error ?? '',
      /new nginx workers .* run but .*\/version did not answer as expected within 2000 ms \(last: status 200, body "v5\\n"\)/,
    );
  });

  test('a missing pid file fails before any signal', async () => {
    const { result } = await runStep({ ...options(), pidFile: `${nginx.dir}/nope.pid` });
    assert.equal(result.status, 'failed');
    assert.match(result.steps[0]?.error ?? '', /cannot read pid file .*nope\.pid \(ENOENT\).*nothing reloaded/);
  });
});
