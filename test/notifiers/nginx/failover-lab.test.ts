// Real network: two `vipflow run` daemons (nodes a and b) with `--workflows`
// running the Nginx HA workflow (vipReadyStep, then nginxReloadStep) on MASTER,
// nginx in each router node, a client node (c) fetching the VIP with curl, and
// nats-server (node nats) where the daemons publish their events, read back with
// `vipflow events --json` as an operator would.
// Starts: a namespace lab, nats-server, two nginx, vipflow daemons (a twice).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../../core/logger.js';
import { createLab, pollUntil, sweepStaleLabs, type Lab, type SpawnedProcess } from '../../../lab/index.js';
import { startVipflow, type VipflowDaemon } from '../../../lab/vipflow.js';
import { repoRoot } from '../../../core/paths.js';
import type { VipflowEvent } from '../../../infra/events/schema.js';
import { listWorkers } from '../../../notifiers/nginx/host.js';
import { confFile } from '../../lab/daemon-conf.js';
import { CLUSTER, natsUrl, readEvents, startNats, stopNats } from '../../lab/events-lab.js';
import { nginxConf } from '../../../lab/local-nginx.js';

const logger = silentLogger();
const PREFIX = 'vfng';
const SUBNET = 170;
const VIP = `198.18.${SUBNET}.100`;
const WORKFLOWS = join(repoRoot, 'test', 'notifiers', 'nginx', 'fixtures', 'nginx-ha.workflows.ts');

describe('Nginx HA workflow across a failover', () => {
  let lab: Lab;
  let nats: SpawnedProcess | null = null;
  const nginx = new Map<string, { pid: number; dir: string }>();
  const daemons: VipflowDaemon[] = [];

  const nginxDir = (node: string) => join(lab.dir, `nginx-${node}`);
  const writeNginx = (node: string, version: string, broken = false) =>
    writeFileSync(join(nginxDir(node), 'nginx.conf'), nginxConf(nginxDir(node), '80', `${node} ${version}`, { broken }));
  const workers = (node: string) => listWorkers(nginx.get(node)!.pid).map((w) => w.pid);

  const startNginxIn = async (node: string) => {
    const dir = nginxDir(node);
    mkdirSync(join(dir, 'tmp'), { recursive: true });
    // Workers drop to an unprivileged user: they must be able to walk into the lab dir.
    chmodSync(lab.dir, 0o711);
    chmodSync(dir, 0o755);
    writeNginx(node, 'v1');
    const p = lab.spawn(node, 'nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir]);
    const up = await pollUntil(
      async () => ((await lab.exec(node, 'bash', ['-c', 'exec 3<>/dev/tcp/127.0.0.1/80'], 2000)).code === 0 ? true : undefined),
      5000,
      50,
    );
    assert.ok(up, `nginx listens in ${node}`);
    nginx.set(node, { pid: p.pid, dir });
  };

  const startDaemon = async (node: string, name: string, priority: number) => {
    const env = [
      `VIPFLOW_NATS_URL=${natsUrl(lab)}`,
      `VIPFLOW_CLUSTER=${CLUSTER}`,
      `VIPFLOW_NODE_ID=${node}`,
      `VIPFLOW_CONTROL_SOCKET=${join(lab.dir, `vipflow-${name}-state`, 'control.sock')}`,
      `VFNG_NGINX_DIR=${nginxDir(node)}`,
    ];
    const conf = confFile(node, [{ name: 'VI_ng', vrid: 70, version: 3, priority, advertInt: 0.1, vips: [`${VIP}/24`] }]);
    const d = await startVipflow(lab, node, name, conf, { prefix: ['/usr/bin/env', ...env], args: ['--workflows', WORKFLOWS] });
    daemons.push(d);
    return d;
  };

  /** What the client gets from the VIP, polled until `want` (or the last answer after timeoutMs). */
  const fetchVip = async (want: string, timeoutMs: number): Promise<string> => {
    let last = '';
    await pollUntil(
      async () => {
        const r = await lab.exec('c', 'curl', ['-s', '-m', '1', `http://${VIP}/version`], 3000);
        last = r.code === 0 ? r.stdout.trim() : `curl exit ${r.code}`;
        return last === want ? true : undefined;
      },
      timeoutMs,
      100,
    );
    return last;
  };

  /** Workflow events of `node` on the stream, polled until `done` accepts them. */
  const workflowEvents = async (node: string, done: (es: VipflowEvent[]) => boolean, timeoutMs: number): Promise<VipflowEvent[]> => {
    let events: VipflowEvent[] = [];
    await pollUntil(
      async () => {
        events = (await readEvents(lab, 'nats', ['workflow.step', 'workflow.finished'])).filter((e) => e.node === node);
        return done(events) ? true : undefined;
      },
      timeoutMs,
      250,
    );
    return events;
  };
  const steps = (es: VipflowEvent[]) =>
    es.flatMap((e) => (e.type === 'workflow.step' && e.data.status !== 'started' ? [`${e.data.step}:${e.data.status}`] : []));
  const finished = (es: VipflowEvent[]) => es.flatMap((e) => (e.type === 'workflow.finished' ? [e.data.status] : []));

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['a', 'b', 'c', 'nats'], subnet: SUBNET, ipv6: false, logger });
    nats = await startNats(lab);
    await startNginxIn('a');
    await startNginxIn('b');
  });
  after(async () => {
    for (const d of daemons) await d.kill();
    if (nats) await stopNats(nats);
    await lab?.destroy();
  });

  const durations = (es: VipflowEvent[]) =>
    es.flatMap((e) => (e.type === 'workflow.step' && e.data.status !== 'started' ? [`${e.data.step} ${e.data.durationMs ?? '?'} ms`] : [])).join(', ');

  test("the new Master's nginx is reloaded and serves the VIP", async (t) => {
    const a = await startDaemon('a', 'a', 150);
    assert.ok(await a.waitForState('master', 5000), 'a becomes Master');
    const b = await startDaemon('b', 'b', 100);
    assert.ok(await b.waitForState('backup', 5000), 'b is Backup');
    const aRun = await workflowEvents('a', (es) => finished(es).length > 0, 20_000);
    assert.deepEqual(steps(aRun), ['vip-ready:succeeded', 'nginx-reload:succeeded'], "a's workflow on its first Mastership");
    assert.equal(await fetchVip('a v1', 5000), 'a v1');

    // b's nginx gets a new config; only a reload makes it live.
    writeNginx('b', 'v2');
    const bOld = workers('b');
    const mark = b.transitions.length;
    assert.notEqual(await a.stop(8000), undefined, 'a stops (SIGTERM: hands the VIP over)');
    assert.ok(await b.waitForState('master', 5000, mark), 'b takes over');
    const bRun = await workflowEvents('b', (es) => finished(es).length > 0, 20_000);
    assert.deepEqual(steps(bRun), ['vip-ready:succeeded', 'nginx-reload:succeeded']);
    assert.deepEqual(finished(bRun), ['succeeded']);
    const bNow = workers('b');
    assert.ok(bNow.length > 0 && bNow.every((p) => !bOld.includes(p)), `b's nginx has a new worker generation (${bOld} -> ${bNow})`);
    assert.equal(await fetchVip('b v2', 5000), 'b v2', 'the client is served through the VIP by b with the reloaded config');
    const line = b.lines.find((l) => l.msg === 'nginx reloaded: new workers serve');
    assert.ok(line, "b's daemon logged the reload");
    t.diagnostic(
      `b's run: ${durations(bRun)}; reload ${JSON.stringify({ oldWorkers: line.oldWorkers, newWorkers: line.newWorkers, testMs: line.testMs, verifyMs: line.verifyMs })}`,
    );
  });

  test('a broken nginx config on the next Master: the step fails, the old config keeps serving, a failed workflow.step is published', async (t) => {
    writeNginx('a', 'v3', true);
    const aOld = workers('a');
    // The stream already holds a's first run: this run's events come after them.
    const seen = (await workflowEvents('a', () => true, 1000)).length;
    const a2 = await startDaemon('a', 'a2', 200);
    assert.ok(await a2.waitForState('master', 5000), 'a (priority 200) preempts b');
    const run = (await workflowEvents('a', (all) => finished(all.slice(seen)).length > 0, 20_000)).slice(seen);
    const failed = run.find((e) => e.type === 'workflow.step' && e.data.status === 'failed');
    assert.ok(failed && failed.type === 'workflow.step', `a failed workflow.step event on the stream: ${JSON.stringify(steps(run))}`);
    assert.equal(failed.data.step, 'nginx-reload');
    assert.match(failed.data.error ?? '', /nginx -t refused the configuration/);
    assert.match(failed.data.error ?? '', /unknown directive "not_a_directive" in .*nginx-a\/nginx\.conf:\d+/, "nginx's own file:line");
    assert.deepEqual(steps(run), ['vip-ready:succeeded', 'nginx-reload:failed']);
    assert.deepEqual(finished(run), ['failed']);
    t.diagnostic(`a's run: ${durations(run)}; error: ${failed.data.error}`);
    assert.deepEqual(workers('a'), aOld, "a's nginx kept its workers");
    assert.equal(await fetchVip('a v1', 5000), 'a v1', 'the old config serves through the VIP on the new Master');
  });
});
