// Real network: NATS decentralised (operator/JWT) auth with creds files, as `nsc`
// sets it up, but minted here (test/lab/nats-operator.ts):
// - a `vipflow run` daemon with a creds file publishes its transitions and writes its
//   KV state; `vipflow events --nats-creds` and a KV reader read them back with a
//   user that may not publish;
// - a daemon whose user JWT denies the cluster's event subjects still runs VRRP; the
//   server refuses its events and state writes, and the daemon logs the refusal;
// - `vipflow events` with the creds of a user of an unknown account, of a revoked
//   user, or with an expired user JWT exits 1 naming the refusal and the likely cause.
// Starts: a namespace lab (nodes a, b, nats), Debian's nats-server in operator mode
// (memory resolver, JetStream) in `nats`, two vipflow daemons.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../core/logger.js';
import { createLab, pollUntil, sweepStaleLabs, type Lab, type SpawnedProcess } from '../../lab/index.js';
import { vipflowCommand, waitForHolder, type LogLine, type VipflowDaemon } from '../../lab/vipflow.js';
import { CLUSTER, natsUrl, readEvents, readKv, startEventDaemon, startNats, stopNats, transitionsOf } from './events-lab.js';
import { mintOperator, type NatsOperator } from './nats-operator.js';

const logger = silentLogger();
const PREFIX = 'vfjw';
const SUBNET = 141;
const VIP = `198.18.${SUBNET}.100/24`;

describe('decentralised NATS auth: creds files against nats-server in operator mode', () => {
  let lab: Lab;
  let nats: SpawnedProcess | null = null;
  let op: NatsOperator;
  const daemons: VipflowDaemon[] = [];

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['a', 'b', 'nats'], subnet: SUBNET, ipv6: false, logger });
    op = await mintOperator(lab.dir, [
      { name: 'daemon' },
      // A reader: may not publish the cluster's events nor write its state.
      { name: 'reader', permissions: { pub: { deny: [`vipflow.${CLUSTER}.>`, `$KV.vipflow-state-${CLUSTER}.>`] } } },
      { name: 'stranger', unknownAccount: true },
      { name: 'revoked', revoked: true },
      { name: 'expired', expires: Math.floor(Date.now() / 1000) - 60 },
    ]);
    const conf = join(lab.dir, 'operator.conf');
    writeFileSync(conf, op.serverConf);
    nats = await startNats(lab, ['-c', conf]);
  });
  after(async () => {
    for (const d of daemons) await d.kill();
    if (nats) await stopNats(nats);
    await lab?.destroy();
  });

  test('a daemon with a creds file publishes its transitions and its state; a reader reads them with its own creds', async () => {
    const a = await startEventDaemon(lab, 'a', 'a0', 100, VIP, { env: [`VIPFLOW_NATS_CREDS=${op.creds.daemon}`] });
    daemons.push(a);
    assert.ok(await a.waitForState('master', 5000), 'a becomes Master');
    assert.ok(await waitForHolder(lab, ['a'], VIP.split('/')[0]!, 'a', 3000), 'a holds the VIP');
    const status = (await a.status()) as unknown as { events: { nats?: { state: string; auth: string; lastError?: unknown } } };
    assert.equal(status.events.nats?.auth, `creds ${op.creds.daemon}`);
    const logged = a.transitions.map((t) => `${t.from}>${t.to}`);
    let seen: string[] = [];
    await pollUntil(
      async () => {
        seen = transitionsOf(await readEvents(lab, 'nats', [], ['--nats-creds', op.creds.reader!]), 'a');
        return seen.join(' ') === logged.join(' ') ? true : undefined;
      },
      5000,
      200,
    );
    assert.deepEqual(seen, logged, "the stream holds a's transitions, read with the reader's creds");
    const states = await readKv(lab, 'nats', op.creds.reader);
    assert.deepEqual(
      states.map((s) => `${s.instance}/${s.node}/${s.state}`),
      ['VI_ev/a/master'],
      "the state bucket holds a's state",
    );
    assert.equal(((await a.status()) as unknown as typeof status).events.nats?.state, 'connected');
  });

  test("a daemon whose user may not publish the cluster's events: VRRP runs, the server refuses its events and state, the daemon says so", async () => {
    const b = await startEventDaemon(lab, 'b', 'b0', 50, VIP, { env: [`VIPFLOW_NATS_CREDS=${op.creds.reader}`] });
    daemons.push(b);
    assert.ok(await b.waitForState('backup', 5000), 'b becomes Backup');
    const refusal = (subject: RegExp) => (l: LogLine) =>
      l.level === 50 && /^NATS refused by permissions: Permissions Violation for Publish to "/.test(l.msg) && subject.test(l.msg);
    const eventRefused = await b.waitForLog(refusal(/"vipflow\.lab\.[^"]+"/), 5000);
    assert.ok(eventRefused, `the refused event publish is logged at error: ${JSON.stringify(b.lines.filter((l) => l.level >= 40))}`);
    assert.match(eventRefused.msg, /events are queued, VRRP is not affected/);
    assert.ok(await b.waitForLog(refusal(/"\$KV\.vipflow-state-lab\.VI_ev\.b"/), 5000), 'the refused state write is logged at error');
    const status = (await b.status()) as unknown as { events: { nats?: { state: string; lastError?: { kind: string; message: string } } } };
    assert.equal(status.events.nats?.state, 'refused');
    assert.equal(status.events.nats?.lastError?.kind, 'auth');
    assert.match(status.events.nats?.lastError?.message ?? '', /Permissions Violation/);
    assert.equal(b.transitions.at(-1)?.to, 'backup', 'VRRP is not affected');
    await new Promise((r) => setTimeout(r, 1500)); // the outbox retries meanwhile: still one line per refusal
    const refusals = b.lines.filter((l) => /^NATS refused by permissions/.test(l.msg)).map((l) => l.msg);
    assert.equal(new Set(refusals).size, refusals.length, `one line per refusal, not one per retry: ${refusals.join('\n')}`);
    const events = await readEvents(lab, 'nats', [], ['--nats-creds', op.creds.reader!]);
    assert.deepEqual(transitionsOf(events, 'b'), [], "none of b's events reached the stream");
    const states = await readKv(lab, 'nats', op.creds.reader);
    assert.deepEqual(
      states.map((s) => s.node),
      ['a'],
      "b's state was not written",
    );
  });

  test('`vipflow events` with creds the server refuses (unknown account, revoked user, expired JWT): exit 1, the refusal named', async () => {
    for (const who of ['stranger', 'revoked', 'expired'] as const) {
      const args = [...vipflowCommand(), 'events', '--nats', natsUrl(lab), '--cluster', CLUSTER, '--nats-creds', op.creds[who]!];
      const r = await lab.exec('nats', process.execPath, args, 20_000);
      assert.equal(r.code, 1, `${who}: exit 1`);
      const line = /^vipflow events: (.*)$/m.exec(r.stderr)?.[1] ?? r.stderr;
      assert.match(line, /^NATS refused the credentials \(Authorization Violation\): /, who);
      const account = /of account (A[A-Z0-9]+):/.exec(line)?.[1];
      if (who === 'expired') assert.match(line, /the user JWT in \S+expired\.creds \(user expired U[A-Z0-9]+\) expired at 20\d\d-/);
      else {
        assert.match(line, new RegExp(`user ${who} U[A-Z0-9]+ of account A[A-Z0-9]+: the server must trust that account .* must not have revoked the user`));
        // The stranger's account is not the one the server knows; the revoked user's is.
        assert.equal(account === op.account, who === 'revoked', `${who}: the account named is ${account}`);
      }
      assert.doesNotMatch(r.stderr, /cannot reach/, who);
    }
  });
});
