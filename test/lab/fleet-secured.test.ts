// Real network, NATS and daemons: the fleet hub of infra/nats/hub-secured.conf, with passwords, in one namespace lab.
// Starts: three Debian nats-servers clustered as the hub (the secured sample, server_name, hosts and store dir
// replaced), one site leaf node (infra/nats/leaf-site.conf with its user in the remote URL), one `vipflow run` at
// the site, `vipflow fleet setup`, `vipflow fleet` and `vipflow worker` at the hub, each with its own user.
// Checks: a leaf with a wrong password is refused and mirrors nothing; the view's credentials cannot set up the
// mirrors (a clear error), the admin's can; the view reads the fleet but the server refuses it an event on the
// cluster's subjects (which the leaf connection would carry into the site's stream), a KV write, a stream
// deletion and a worker's durable consumer; the hub worker runs the site's takeover workflow with its own user.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { silentLogger } from '../../core/logger.js';
import { repoRoot } from '../../core/paths.js';
import type { FleetModel } from '../../infra/events/fleet.js';
import { createLab, isAlive, pollUntil, sweepStaleLabs, type Lab, type SpawnedProcess } from '../../lab/index.js';
import { startVipflow, vipflowCommand, type VipflowDaemon } from '../../lab/vipflow.js';
import { confFile } from './daemon-conf.js';
import { WORKFLOWS_FILE, readTrail } from '../workflows/worker-procs.js';

const logger = silentLogger();
const PREFIX = 'vfhz';
const SUBNET = 98;
const HUBS = ['h1', 'h2', 'h3'];
const SITE = 's1';
const CLUSTER = 'dc1';
const PASSWORDS = {
  VIPFLOW_LEAF_SITE1_PASSWORD: 'leaf-s3cret-1',
  VIPFLOW_FLEET_ADMIN_PASSWORD: 'admin-s3cret-2',
  VIPFLOW_FLEET_VIEW_PASSWORD: 'view-s3cret-3',
  VIPFLOW_HUB_WORKER_PASSWORD: 'worker-s3cret-4',
};
const USERS = {
  admin: ['fleet-admin', PASSWORDS.VIPFLOW_FLEET_ADMIN_PASSWORD],
  view: ['fleet-view', PASSWORDS.VIPFLOW_FLEET_VIEW_PASSWORD],
  worker: ['hub-worker-dc1', PASSWORDS.VIPFLOW_HUB_WORKER_PASSWORD],
} as const;
type Role = keyof typeof USERS;
/** The view user's refusals this test provokes: fleet setup, a forged event, a KV write, a deletion, a worker consumer. */
const DELIBERATE =
  /User "fleet-view", Subject "(\$JS\.API\.STREAM\.CREATE\.|vipflow\.dc1\.a1\.|\$KV\.|\$JS\.API\.STREAM\.DELETE\.|\$JS\.API\.CONSUMER\.(CREATE|DELETE)\.VIPFLOW_dc1\.vipflow-workers-)/;

describe('a secured fleet hub: leaf, admin, view and worker users with the sample permissions', () => {
  let lab: Lab;
  const servers = new Map<string, { proc: SpawnedProcess; log: () => string }>();
  let daemon: VipflowDaemon | undefined;
  let worker: SpawnedProcess | undefined;
  let workerOut = '';
  const ip = (node: string) => lab.node(node).ipv4!;
  const hubUrls = () => HUBS.map((h) => `nats://${ip(h)}:4222`).join(',');
  const trail = () => join(lab.dir, 'trail');

  function hubConf(node: string, index: number): string {
    let text = readFileSync(join(repoRoot, 'infra', 'nats', 'hub-secured.conf'), 'utf8');
    for (const [i, h] of HUBS.entries()) text = text.replaceAll(`hub-${i + 1}.example.net`, ip(h));
    text = text.replace('server_name: hub-1', `server_name: hub-${index + 1}`).replaceAll('/var/lib/nats', join(lab.dir, `nats-${node}`));
    const path = join(lab.dir, `${node}.conf`);
    writeFileSync(path, text);
    return path;
  }

  function leafConf(password: string): string {
    let text = readFileSync(join(repoRoot, 'infra', 'nats', 'leaf-site.conf'), 'utf8');
    for (const [i, h] of HUBS.entries()) text = text.replaceAll(`nats-leaf://hub-${i + 1}.example.net`, `nats-leaf://site1:${password}@${ip(h)}`);
    text = text.replaceAll('/var/lib/nats', join(lab.dir, 'nats-l1')).replaceAll('site1-leaf', 's1-leaf').replace('domain: site1', `domain: ${SITE}`);
    const path = join(lab.dir, 'l1.conf');
    writeFileSync(path, text);
    return path;
  }

  async function startServer(node: string, conf: string): Promise<void> {
    const env = Object.entries(PASSWORDS).map(([k, v]) => `${k}=${v}`);
    const proc = lab.spawn(node, '/usr/bin/env', [...env, '/usr/sbin/nats-server', '-c', conf], ['ignore', 'ignore', 'pipe']);
    let log = '';
    proc.child.stderr?.setEncoding('utf8');
    proc.child.stderr?.on('data', (c: string) => void (log.length < 200_000 && (log += c)));
    servers.set(node, { proc, log: () => log });
    if (!(await pollUntil(() => (/Server is ready/.test(log) ? true : undefined), 10_000, 20))) throw new Error(`${node}: nats-server not ready: ${log}`);
  }

  async function stopServer(node: string): Promise<void> {
    const s = servers.get(node);
    if (!s) return;
    if (isAlive(s.proc.pid)) process.kill(s.proc.pid, 'SIGTERM');
    await Promise.race([s.proc.exited, new Promise((r) => setTimeout(r, 5000))]);
    servers.delete(node);
  }

  function passwordFile(role: Role): string {
    const path = join(lab.dir, `${role}.password`);
    writeFileSync(path, USERS[role][1], { mode: 0o600 });
    return path;
  }
  const as = (role: Role) => ['--nats-user', USERS[role][0], '--nats-password-file', passwordFile(role)];
  const vipflowAtHub = (args: string[], timeoutMs = 20_000) => lab.exec('h1', process.execPath, [...vipflowCommand(), ...args], timeoutMs);

  /** What the hub servers logged as permission violations (the diagnostics of a failed check). */
  const violations = () =>
    HUBS.flatMap((h) => (servers.get(h)?.log() ?? '').split('\n').filter((l) => /Violation/.test(l) && !/Leafnode/.test(l)))
      .slice(-20)
      .join('\n');
  let lastFleet = '';

  /** The fleet as the view user reads it once (`vipflow fleet --json`). */
  async function fleetModel(): Promise<FleetModel | undefined> {
    const r = await vipflowAtHub(['fleet', '--nats', hubUrls(), ...as('view'), '--json', '--log-level', 'warn']);
    lastFleet = `exit ${r.code}: ${r.stderr.slice(-1500)} ${r.stdout.slice(-1500)}`;
    return r.code === 0 ? (JSON.parse(r.stdout.trim().split('\n').pop()!) as FleetModel) : undefined;
  }
  const masterAtSite = (m: FleetModel | undefined) =>
    m?.sites
      .find((s) => s.site === SITE)
      ?.clusters.find((c) => c.cluster === CLUSTER)
      ?.routers.find((r) => r.instance === 'VI_z')?.master;

  /** Runs `body` with `nc` connected to the hub as `role`, in the hub's namespace; returns what it printed. */
  async function asUser(role: Role, body: string): Promise<string> {
    const transport = pathToFileURL(createRequire(join(repoRoot, 'package.json')).resolve('@nats-io/transport-node')).href;
    const script = `const { connect } = await import(${JSON.stringify(transport)});
const nc = await connect({ servers: ${JSON.stringify(hubUrls().split(','))}, user: ${JSON.stringify(USERS[role][0])}, pass: ${JSON.stringify(USERS[role][1])} });
const print = (s) => process.stdout.write(String(s) + '\\n');
const attempt = async (what, subject, data = '') => {
  try { await nc.request(subject, data, { timeout: 3000 }); print(what + ': answered'); }
  catch (e) { print(what + ': ' + String(e && e.message || e)); }
};
${body}
await nc.close();`;
    const r = await lab.exec('h1', process.execPath, ['--input-type=module', '-e', script], 20_000);
    assert.equal(r.code, 0, `nats script as ${role}: ${r.stderr}`);
    return r.stdout;
  }

  /** `vipflow worker` for the cluster at the hub, as the hub worker user; it follows events from its start. */
  function startWorker(): void {
    const env = [`VIPFLOW_TEST_TRAIL=${trail()}`, 'VIPFLOW_TEST_WORKER=hub-dc1'];
    const args = [
      ...vipflowCommand(),
      'worker',
      '--nats',
      hubUrls(),
      ...as('worker'),
      '--workflows',
      WORKFLOWS_FILE,
      '--cluster',
      CLUSTER,
      '--name',
      'hub-dc1',
    ];
    worker = lab.spawn('h1', '/usr/bin/env', [...env, process.execPath, ...args]);
    worker.child.stdout?.setEncoding('utf8');
    worker.child.stdout?.on('data', (c: string) => void (workerOut.length < 200_000 && (workerOut += c)));
    worker.child.stderr?.resume();
  }

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: [...HUBS, 'l1', 'a1'], subnet: SUBNET, ipv6: false, logger });
    await Promise.all(HUBS.map((h, i) => startServer(h, hubConf(h, i))));
  });

  after(async () => {
    if (worker && isAlive(worker.pid)) process.kill(worker.pid, 'SIGTERM');
    await daemon?.kill();
    await lab?.destroy();
  });

  test('a leaf node with a wrong password is refused by the hub', async () => {
    await startServer('l1', leafConf('not-the-password'));
    const refused = await pollUntil(() => (/Leafnode Error 'Authorization Violation'/.test(servers.get('l1')!.log()) ? true : undefined), 10_000, 50);
    assert.ok(refused, `the leaf is told "Authorization Violation": ${servers.get('l1')!.log().slice(-1500)}`);
    await stopServer('l1');
    await startServer('l1', leafConf(PASSWORDS.VIPFLOW_LEAF_SITE1_PASSWORD));
    const joined = await pollUntil(() => (/Leafnode connection created/i.test(servers.get('l1')!.log()) ? true : undefined), 10_000, 50);
    assert.ok(joined, `with the right password the leaf connects: ${servers.get('l1')!.log().slice(-1500)}`);
    await new Promise((r) => setTimeout(r, 1500));
    assert.doesNotMatch(servers.get('l1')!.log(), /Authorization Violation/, 'and stays connected');
  });

  test('only the admin user sets up the mirrors; the view user gets a clear refusal', async () => {
    const setup = ['fleet', 'setup', '--nats', hubUrls(), '--site', `${SITE}=${CLUSTER}`, '--replicas', '3'];
    const viewTry = await vipflowAtHub([...setup, ...as('view')]);
    assert.notEqual(viewTry.code, 0, 'the view user cannot create mirrors');
    assert.match(
      viewTry.stderr,
      /Permissions Violation for Publish to "\$JS\.API\.STREAM\.CREATE\.VIPFLOW_dc1".*FLEET_ADMIN/,
      `the refusal names the subject and the role: ${viewTry.stderr}`,
    );
    const made = await pollUntil(async () => ((await vipflowAtHub([...setup, ...as('admin')])).code === 0 ? true : undefined), 20_000, 300);
    assert.ok(made, 'vipflow fleet setup succeeds as the admin user once the hub has a JetStream leader');
    // Before the site's daemon starts, so its first takeover is new to the worker.
    startWorker();
    const consuming = await pollUntil(() => (workerOut.includes('worker consuming') ? true : undefined), 20_000, 50);
    assert.ok(consuming, `the hub worker consumes as its own user: ${workerOut.slice(-1500)} ${violations()}`);
  });

  test('the view user reads the fleet: the site Master is shown', async () => {
    daemon = await startVipflow(
      lab,
      'a1',
      'a1',
      confFile('a1', [{ name: 'VI_z', vrid: 61, version: 3, priority: 150, advertInt: 0.1, vips: [`198.18.${SUBNET}.161/24`] }]),
      { prefix: ['/usr/bin/env', 'VIPFLOW_NODE_ID=a1', `VIPFLOW_CLUSTER=${CLUSTER}`, `VIPFLOW_NATS_URL=nats://${ip('l1')}:4222`] },
    );
    assert.ok(await daemon.waitForState('master', 5000), 'a1 becomes Master at the site');
    const shown = await pollUntil(async () => ((await masterAtSite(await fleetModel())) === 'a1' ? true : undefined), 20_000, 300);
    assert.ok(shown, `vipflow fleet, as the view user, shows a1 Master at s1: ${violations()} ${lastFleet}`);
  });

  test('the server refuses the view user an event, a KV write, a stream deletion and a worker consumer', async () => {
    const before = await asUser(
      'admin',
      `const i = (await nc.request('$JS.API.STREAM.INFO.VIPFLOW_${CLUSTER}', '', { timeout: 5000 })).json(); print(i.state.last_seq);`,
    );
    const out = await asUser(
      'view',
      `await attempt('event', 'vipflow.${CLUSTER}.a1.instance.transition', '{"forged":true}');
await attempt('kv', '$KV.vipflow-state-${CLUSTER}.VI_z.a1', '{"forged":true}');
await attempt('delete', '$JS.API.STREAM.DELETE.VIPFLOW_${CLUSTER}');
await attempt('durable', '$JS.API.CONSUMER.CREATE.VIPFLOW_${CLUSTER}.vipflow-workers-transition.vipflow.${CLUSTER}.*.instance.transition', JSON.stringify({ stream_name: 'VIPFLOW_${CLUSTER}', config: { durable_name: 'vipflow-workers-transition', ack_policy: 'explicit' } }));
await attempt('undurable', '$JS.API.CONSUMER.DELETE.VIPFLOW_${CLUSTER}.vipflow-workers-transition');
await attempt('info', '$JS.API.STREAM.INFO.VIPFLOW_${CLUSTER}');`,
    );
    for (const what of ['event', 'kv', 'delete', 'durable', 'undurable'])
      assert.match(out, new RegExp(`^${what}: .*permission`, 'im'), `${what} refused: ${out}`);
    assert.match(out, /^info: answered$/m, `the view user may read stream info: ${out}`);
    assert.match(violations(), /fleet-view/, 'the hub logs the refusals with the user');
    const after = await asUser(
      'admin',
      `const i = (await nc.request('$JS.API.STREAM.INFO.VIPFLOW_${CLUSTER}', '', { timeout: 5000 })).json(); print(i.state.last_seq);`,
    );
    assert.ok(Number(after) >= Number(before), 'the mirror is still there');
    const site = await lab.exec(
      'a1',
      process.execPath,
      [...vipflowCommand(), 'events', '--nats', `nats://${ip('l1')}:4222`, '--cluster', CLUSTER, '--json', '--log-level', 'warn'],
      20_000,
    );
    assert.equal(site.code, 0, site.stderr);
    assert.doesNotMatch(site.stdout, /forged/, 'no forged message reached the site stream');
  });

  test('the hub worker runs the site takeover workflow with its own user', async () => {
    const ran = await pollUntil(() => (readTrail(trail()).some((l) => l.what === 'run' && l.key.startsWith('a1:')) ? true : undefined), 20_000, 100);
    assert.ok(ran, `the hub worker ran a1's takeover workflow: ${workerOut.slice(-2000)}`);
    // Stopped first, so what a worker does on its way out is checked too.
    process.kill(worker!.pid, 'SIGTERM');
    await Promise.race([worker!.exited, new Promise((r) => setTimeout(r, 8000))]);
    assert.doesNotMatch(workerOut, /Permissions Violation/i, 'the worker role lacks nothing');
    // Every refusal the hub logged is one of this test's deliberate attempts as the view user.
    const unexpected = violations()
      .split('\n')
      .filter((l) => l !== '' && !DELIBERATE.test(l));
    assert.deepEqual(unexpected, [], 'the admin, view and worker users needed nothing the sample does not allow');
  });
});
