// The secured event path against real nats-servers (Debian 2.9.10, loopback, ports
// picked in 20000-29999, temp stores), started and stopped here:
// - infra/nats/secured.conf as shipped: a daemon (nkey), a worker (user/password) and a
//   view (user/password) each work with exactly their permissions, and the server
//   refuses what lies outside them;
// - a transition that names node-a, published with node-b's valid credentials, signed
//   with node-b's key or not signed: the worker refuses it and runs nothing;
// - refused credentials: the daemon's bus shows them in its status and logs them (the
//   secret in neither), `vipflow events` exits 1 saying so;
// - TLS with a client certificate (a throwaway CA from openssl), a token server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { connect, nkeys, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { createLogger, silentLogger } from '../../../core/logger.js';
import { repoRoot } from '../../../core/paths.js';
import { NatsBus } from '../../../infra/events/nats-bus.js';
import { natsConnectionOptions, type NatsSecurity } from '../../../infra/events/nats-connect.js';
import { eventSigner } from '../../../infra/events/event-signature.js';
import { PipelinedPublisher } from '../../../infra/events/js-publisher.js';
import { portOpen, startNatsServer, type NatsServer } from '../../../infra/events/local-nats.js';
import { createEventSource } from '../../../infra/events/source.js';
import { subjectFor } from '../../../infra/events/subjects.js';
import type { VipflowEvent } from '../../../infra/events/schema.js';
import { EventPublisher } from '../../../daemon/event-publisher.js';
import { defineWorkflow } from '../../../workflows/define.js';
import { WorkflowWorker } from '../../../workflows/worker.js';
import { samplePayloads, testSource, transition as transitionEvent } from './fixtures.js';
import { until } from './nats-server.js';

const CLUSTER = 'dc1';
const dir = mkdtempSync(join(tmpdir(), 'vipflow-secured-'));
const servers: NatsServer[] = [];
const closers: (() => Promise<unknown>)[] = [];
after(async () => {
  await Promise.all(closers.map((c) => c().catch(() => undefined)));
  for (const s of servers) await s.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const secret = (name: string, text: string, mode = 0o600) => {
  const f = join(dir, name);
  writeFileSync(f, text);
  chmodSync(f, mode);
  return f;
};
/** A free loopback port in 20000-29999 (bounded tries). */
async function port(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = 20000 + Math.floor(Math.random() * 10000);
    if (!(await portOpen(p))) return p;
  }
  throw new Error('no free port in 20000-29999');
}
async function server(configFile: string, env: Record<string, string> = {}): Promise<NatsServer> {
  const s = await startNatsServer({ configFile, env, port: await port() });
  servers.push(s);
  return s;
}
/** A logger whose JSON lines are kept, to assert on what was logged (and what was not). */
function capture() {
  const lines: string[] = [];
  const log = createLogger({
    level: 'debug',
    destination: new Writable({
      write(chunk: Buffer, _e, cb) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        cb();
      },
    }),
  });
  return { log, lines, text: () => lines.join('\n') };
}
async function client(url: string, security: NatsSecurity): Promise<NatsConnection> {
  const o = natsConnectionOptions({ servers: url, name: 'test', ...security });
  assert.ok(o.ok, o.ok ? '' : o.message);
  const nc = await connect({ ...o.options, reconnect: false });
  closers.push(() => nc.close());
  return nc;
}
const seedOf = (kp: nkeys.KeyPair) => new TextDecoder().decode(kp.getSeed());

describe('infra/nats/secured.conf: each role with exactly its permissions', () => {
  const nodeA = nkeys.createUser();
  const nodeB = nkeys.createUser();
  const seedA = secret('node-a.nk', seedOf(nodeA));
  const seedB = secret('node-b.nk', seedOf(nodeB));
  const workerPw = secret('worker.pw', 'worker-pw-4af1\n');
  const viewPw = secret('view.pw', 'view-pw-99c2\n');
  const trustedNodes = { 'node-a': nodeA.getPublicKey(), 'node-b': nodeB.getPublicKey() };
  const daemonA: NatsSecurity = { nkeySeedFile: seedA };
  const daemonB: NatsSecurity = { nkeySeedFile: seedB };
  const workerAuth: NatsSecurity = { user: 'worker', passwordFile: workerPw };
  const viewAuth: NatsSecurity = { user: 'view', passwordFile: viewPw };
  let nats: NatsServer;
  let busA: NatsBus;
  let worker: WorkflowWorker;
  const workerLog = capture();
  const ran: string[] = [];
  const srcA = testSource('node-a', CLUSTER);

  before(async () => {
    // The shipped file as it is, but for its store_dir line (the test's store is a temp dir, given with -sd).
    const shipped = readFileSync(join(repoRoot, 'infra/nats/secured.conf'), 'utf8');
    const conf = shipped.replace(/^jetstream \{ store_dir: [^}]*\}$/m, '');
    assert.equal(conf.length < shipped.length, true, 'the jetstream line is where the test expects it');
    writeFileSync(join(dir, 'secured.conf'), conf);
    nats = await server(join(dir, 'secured.conf'), {
      VIPFLOW_NODE_A_NKEY: nodeA.getPublicKey(),
      VIPFLOW_NODE_B_NKEY: nodeB.getPublicKey(),
      VIPFLOW_WORKER_PASSWORD: 'worker-pw-4af1',
      VIPFLOW_VIEW_PASSWORD: 'view-pw-99c2',
    });
    const stateDir = mkdtempSync(join(dir, 'outbox-'));
    busA = new NatsBus({ servers: nats.url, cluster: CLUSTER, log: silentLogger(), stateDir, node: 'node-a', security: daemonA, signingKeyFile: seedA });
    closers.push(() => busA.close());
    assert.ok(await busA.connected(10_000), 'daemon node-a connects with its nkey');
    busA.publish(srcA.make('daemon.start', samplePayloads['daemon.start']));
    assert.ok(await busA.flush(10_000), 'daemon node-a creates the stream and publishes');
    worker = WorkflowWorker.start({
      servers: nats.url,
      security: workerAuth,
      cluster: CLUSTER,
      name: 'w1',
      log: workerLog.log,
      trustedNodes,
      workflows: [defineWorkflow({ name: 'dns', on: { to: 'MASTER' }, steps: [{ name: 'point', run: (ctx) => void ran.push(ctx.event.id) }] })],
    });
    closers.push(() => worker.stop(1000));
    await worker.ready;
  });

  test('daemon, worker and view work with their permissions: a signed transition runs its workflow, the view reads events and state', async () => {
    const e = transitionEvent(srcA, 'VI_1', 'master');
    busA.publish(e);
    await until(() => ran.includes(e.id), 10_000, 'the workflow of a signed transition');
    const view = new NatsBus({ servers: nats.url, cluster: CLUSTER, log: silentLogger(), manageStream: false, security: viewAuth });
    closers.push(() => view.close());
    const seen: string[] = [];
    const sub = await view.subscribe({}, (ev) => void seen.push(ev.id), { start: { from: 'all' } });
    await sub.caughtUp;
    await sub.close();
    assert.ok(seen.includes(e.id), 'the view reads the stream');
    const states = await view.currentStates();
    assert.deepEqual(
      states.map((s) => `${s.instance}/${s.node}/${s.state}`),
      ['VI_1/node-a/master'],
      'the view reads the state bucket',
    );
    const watched: string[] = [];
    const stop = busA.watchStates(
      (s) => void watched.push(s.node),
      () => undefined,
    );
    await until(() => watched.includes('node-a'), 5000, 'the daemon watches the state bucket');
    stop();
    assert.equal(busA.connectionStatus().lastError, undefined, 'no permission error on the daemon');
    assert.equal(busA.connectionStatus().signer, nodeA.getPublicKey());
    assert.doesNotMatch(workerLog.text(), /Permissions Violation/i, 'no permission error on the worker');
  });

  test('other credentials cannot publish a transition or change the state: the server refuses', async () => {
    const e = transitionEvent(srcA, 'VI_2', 'master');
    for (const [who, auth] of [
      ['worker', workerAuth],
      ['view', viewAuth],
    ] as const) {
      const nc = await client(nats.url, auth);
      await assert.rejects(
        jetstream(nc).publish(subjectFor(e), JSON.stringify(e), { msgID: `${who}-${e.id}`, timeout: 2000 }),
        /Permissions Violation for Publish to "vipflow\.dc1\.VI_2\.instance\.transition"/,
        `${who} cannot publish a transition`,
      );
      const kv = await new Kvm(nc).open(`vipflow-state-${CLUSTER}`);
      await assert.rejects(
        kv.put('VI_1.node-a', '{"state":"backup"}'),
        /Permissions Violation for Publish to "\$KV\.vipflow-state-dc1\.VI_1\.node-a"/,
        `${who}: no state write`,
      );
    }
    const ncB = await client(nats.url, daemonB);
    const kvB = await new Kvm(ncB).open(`vipflow-state-${CLUSTER}`);
    await assert.rejects(kvB.put('VI_1.node-a', '{"state":"backup"}'), /Permissions Violation/, "node-b cannot write node-a's state");
    await kvB.put('VI_1.node-b', JSON.stringify({ ...(await kvB.get('VI_1.node-a'))?.json<object>(), node: 'node-b' }));
    const ncView = await client(nats.url, viewAuth);
    // A pull request on the workers' durable consumer is a publish the view may not make.
    await assert.rejects(
      ncView.request(`$JS.API.CONSUMER.MSG.NEXT.VIPFLOW_${CLUSTER}.vipflow-workers-transition`, JSON.stringify({ batch: 1, expires: 500_000_000 }), {
        timeout: 2000,
      }),
      /Permissions Violation for Publish to "\$JS\.API\.CONSUMER\.MSG\.NEXT\.VIPFLOW_dc1\.vipflow-workers-transition"/,
      "the view cannot pull the workers' messages",
    );
    assert.equal(ran.includes(e.id), false);
  });

  test("a transition naming node-a published with node-b's credentials, signed by node-b or not signed: refused, nothing runs", async () => {
    const ncB = await client(nats.url, daemonB);
    const refusedBefore = worker.stats.refused;
    const signedByB = transitionEvent(srcA, 'VI_3', 'master');
    const unsigned = transitionEvent(srcA, 'VI_4', 'master');
    const asB = new PipelinedPublisher(ncB, eventSigner(nodeB));
    const r = await asB.publishAll([{ subject: subjectFor(signedByB), data: JSON.stringify(signedByB), msgId: signedByB.id }], 2000);
    assert.equal(r.acked, 1, 'the server lets node-b publish on the cluster subjects (it cannot know the node)');
    await jetstream(ncB).publish(subjectFor(unsigned), JSON.stringify(unsigned), { msgID: unsigned.id });
    await asB.close();
    const genuine = transitionEvent(srcA, 'VI_5', 'master');
    busA.publish(genuine);
    await until(() => worker.stats.refused === refusedBefore + 2 && ran.includes(genuine.id), 10_000, 'two refusals and the genuine run');
    assert.equal(ran.includes(signedByB.id), false, 'no workflow for the event signed by node-b');
    assert.equal(ran.includes(unsigned.id), false, 'no workflow for the unsigned event');
    const warns = workerLog.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg?.toString().startsWith('event refused'));
    assert.deepEqual(
      warns.map((w) => [w.level, w.eventId, w.node, w.reason]),
      [
        [40, signedByB.id, 'node-a', 'wrong-key'],
        [40, unsigned.id, 'node-a', 'unsigned'],
      ],
    );
  });

  test('refused credentials: the daemon keeps running with the failure in its status and one error line, the secret in neither', async () => {
    const wrongPw = secret('wrong.pw', 'not-the-password-7d1e\n');
    const cap = capture();
    const settings = {
      natsServers: nats.url,
      cluster: CLUSTER,
      node: 'node-c',
      natsSecurity: { user: 'worker', passwordFile: wrongPw },
      stopFlushMs: 200,
    };
    const bus = await EventPublisher.openBus(settings, mkdtempSync(join(dir, 'state-')), cap.log);
    const pub = new EventPublisher(settings, mkdtempSync(join(dir, 'state-')), cap.log, () => [], bus);
    closers.push(() => pub.stop('test', 0));
    pub.start('/etc/keepalived.conf', []);
    await until(() => pub.status().nats?.state === 'refused', 5000, 'status shows the refusal');
    await new Promise((r) => setTimeout(r, 600)); // several retries: still one line
    const status = pub.status();
    assert.equal(status.nats?.lastError?.kind, 'auth');
    assert.match(status.nats?.lastError?.message ?? '', /refused the credentials.*Authorization Violation/i);
    assert.equal(status.nats?.auth, `user worker (password from ${wrongPw})`);
    assert.equal(status.published, 1, 'events are still produced (queued)');
    const errors = cap.lines.filter((l) => /refused the credentials/.test(l));
    const msgs = errors.map((l) => JSON.parse(l) as { level: number; msg: string });
    assert.ok(
      msgs.some((m) => m.msg.startsWith('NATS refused the credentials')),
      "the bus's line",
    );
    assert.equal(new Set(msgs.map((m) => m.msg)).size, msgs.length, 'each failure logged once, not once per retry');
    for (const m of msgs) assert.equal(m.level, 50);
    assert.doesNotMatch(cap.text() + JSON.stringify(status), /not-the-password-7d1e/);
  });

  test('`vipflow events` with refused credentials or a world-readable secret exits 1 and says which', async () => {
    const wrongPw = secret('wrong2.pw', 'wrong-again-51aa\n');
    const events = (args: string[]) =>
      new Promise<{ code: number; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [join(repoRoot, 'dist/cli/main.js'), 'events', '--nats', nats.url, '--cluster', CLUSTER, ...args],
          { timeout: 15_000 },
          (err, _o, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stderr }),
        );
      });
    const refused = await events(['--nats-user', 'view', '--nats-password-file', wrongPw]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /vipflow events: NATS refused the credentials .*Authorization Violation.* at nats:\/\/127\.0\.0\.1:/i);
    assert.doesNotMatch(refused.stderr, /wrong-again-51aa/);
    const open = secret('open.pw', 'view-pw-99c2\n', 0o644);
    const loose = await events(['--nats-user', 'view', '--nats-password-file', open]);
    assert.equal(loose.code, 1);
    assert.match(loose.stderr, new RegExp(`password file ${open} is readable by every user: chmod o-rwx`));
    const good = await events(['--nats-user', 'view', '--nats-password-file', viewPw, '--json']);
    assert.equal(good.code, 0, good.stderr);
  });
});

describe('TLS with client certificates, and a token', () => {
  const pki = join(dir, 'pki');
  const ossl = (...args: string[]) => execFileSync('openssl', args, { cwd: pki, stdio: 'pipe' });
  let tlsServer: NatsServer;

  before(async () => {
    execFileSync('mkdir', ['-p', pki]);
    ossl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-subj',
      '/CN=vipflow test CA',
    );
    for (const [name, ext] of [
      ['server', 'subjectAltName=DNS:nats.test\nextendedKeyUsage=serverAuth'],
      ['client', 'extendedKeyUsage=clientAuth'],
    ] as const) {
      writeFileSync(join(pki, `${name}.ext`), ext + '\n');
      ossl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
      ossl(
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.pem`,
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
      );
      chmodSync(join(pki, `${name}.key`), 0o600);
    }
    const conf = join(dir, 'tls.conf');
    writeFileSync(conf, `tls {\n  cert_file: "${pki}/server.pem"\n  key_file: "${pki}/server.key"\n  ca_file: "${pki}/ca.pem"\n  verify: true\n}\n`);
    tlsServer = await server(conf);
  });

  const tls = (extra: object = {}) => ({ caFile: join(pki, 'ca.pem'), serverName: 'nats.test', ...extra });
  const clientCert = () => ({ certFile: join(pki, 'client.pem'), keyFile: join(pki, 'client.key') });

  test('a client certificate: the daemon bus publishes and a reader reads back, end to end', async () => {
    const bus = new NatsBus({
      servers: tlsServer.url,
      cluster: 'tls',
      log: silentLogger(),
      stateDir: mkdtempSync(join(dir, 'outbox-')),
      node: 'n1',
      security: { tls: tls(clientCert()) },
    });
    closers.push(() => bus.close());
    assert.ok(await bus.connected(10_000), bus.lastConnectError?.message);
    const src = createEventSource({ cluster: 'tls', node: 'n1', seq: bus.seq });
    const e = src.make('daemon.start', samplePayloads['daemon.start']) as VipflowEvent;
    bus.publish(e);
    assert.ok(await bus.flush(10_000));
    const reader = new NatsBus({ servers: tlsServer.url, cluster: 'tls', log: silentLogger(), manageStream: false, security: { tls: tls(clientCert()) } });
    closers.push(() => reader.close());
    const seen: string[] = [];
    const sub = await reader.subscribe({}, (ev) => void seen.push(ev.id), { start: { from: 'all' } });
    await sub.caughtUp;
    await sub.close();
    assert.deepEqual(seen, [e.id]);
  });

  test('without a client certificate, or without the expected server name: refused', async () => {
    for (const [what, security] of [
      ['no client certificate', { tls: tls() }],
      ['server name not in the certificate', { tls: { ...tls(clientCert()), serverName: undefined } }],
    ] as const) {
      const bus = new NatsBus({ servers: tlsServer.url, cluster: 'tls', log: silentLogger(), manageStream: false, security: security as NatsSecurity });
      closers.push(() => bus.close());
      await until(() => bus.lastConnectError !== undefined, 5000, `${what}: a reason`);
      // The server ends the handshake; nats.js reports a missing client certificate as a timeout, so the kind may read 'unreachable'.
      assert.equal(await bus.connected(0), false, what);
      assert.notEqual(bus.connectionStatus().state, 'connected');
    }
  });

  test('a token from a file, a user without the token refused', async () => {
    const conf = join(dir, 'token.conf');
    writeFileSync(conf, 'authorization { token: $VIPFLOW_TEST_TOKEN }\n');
    const s = await server(conf, { VIPFLOW_TEST_TOKEN: 'tok-3b9f0c' });
    const nc = await client(s.url, { tokenFile: secret('nats.token', 'tok-3b9f0c\n') });
    assert.equal(nc.isClosed(), false);
    const bus = new NatsBus({
      servers: s.url,
      cluster: 'tok',
      log: silentLogger(),
      manageStream: false,
      security: { tokenFile: secret('bad.token', 'nope\n') },
    });
    closers.push(() => bus.close());
    await until(() => bus.lastConnectError !== undefined, 5000, 'a refusal');
    assert.equal(bus.lastConnectError?.kind, 'auth');
  });
});
