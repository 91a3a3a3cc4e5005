// Real BIND 9: `named` as the primary for vipflow.test on 127.0.0.1 (a free high port),
// with a TSIG key from tsig-keygen and an update-policy; the DNS step runs through
// runWorkflow as the daemon would run it. Starts: one named, stopped in `after`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, startBind, type BindServer } from '../../../lab/bind.js';
import { dnsUpdateStep, TSIG_ALGORITHMS, type DnsOptions, type DnsRunDeps } from '../../../notifiers/dns/index.js';
import { defineWorkflow, type Intent, type RetryPolicy } from '../../../workflows/define.js';
import { runWorkflow, type RunResult } from '../../../workflows/run.js';
import { dryRunShell, zxShell } from '../../../workflows/shell.js';
import { samplePayloads, testSource } from '../../infra/events/fixtures.js';
import { collector, log } from '../../workflows/helpers.js';

const ZONE = 'vipflow.test';
const WWW = `www.${ZONE}`;
// Record data only (nothing is sent to these addresses).
const A1 = '198.18.176.1';
const A2 = '198.18.176.2';
const AAAA1 = 'fd00:198:18:b0::1';

describe('DNS step against BIND 9', () => {
  let bind: BindServer;
  let runs = 0;
  const src = testSource('node-a');

  before(async () => {
    bind = await startBind({
      address: '127.0.0.1',
      port: await freePort('127.0.0.1'),
      zone: ZONE,
      keyName: 'vipflow-key',
      // www may hold addresses; nothing else in the zone may change (for the REFUSED case).
      updatePolicy: `grant vipflow-key name ${WWW}. A AAAA;`,
    });
  });
  after(async () => {
    await bind?.stop();
  });

  const options = (extra: Partial<DnsOptions> = {}): DnsOptions => ({
    server: bind.address,
    port: bind.port,
    zone: ZONE,
    name: WWW,
    addresses: [A1],
    key: { name: 'vipflow-key', secretFile: bind.keyFile },
    ...extra,
  });
  const runStep = async (o: DnsOptions, retry?: RetryPolicy, dryRun = false, deps: DnsRunDeps = {}) => {
    const w = defineWorkflow({ name: 'point-www', on: { to: 'MASTER' }, steps: [dnsUpdateStep(o, retry ? { retry } : {}, deps)] });
    const { events, emit } = collector();
    const intents: Intent[] = [];
    const event = src.make('instance.transition', samplePayloads['instance.transition']);
    const result: RunResult = await runWorkflow(w, event, {
      runId: `r${runs++}`,
      log,
      emit,
      shell: dryRun ? dryRunShell(log) : zxShell,
      dryRun,
      onIntent: (i) => void intents.push(i),
    });
    return { result, stepEvents: events.filter((e) => e.type === 'workflow.step').map((e) => e.data), intents };
  };
  /** named's log lines about rejected signatures so far. */
  const tsigFailures = () =>
    bind
      .log()
      .split('\n')
      .filter((l) => /tsig verify failure/.test(l)).length;
  const updatesLogged = () =>
    bind
      .log()
      .split('\n')
      .filter((l) => /updating zone/.test(l)).length;

  test('an update points the name at the address; a query to BIND returns it', async () => {
    const { result } = await runStep(options());
    assert.equal(result.status, 'succeeded', JSON.stringify(result.steps));
    assert.deepEqual(await bind.dig(WWW, 'A'), [A1]);
  });

  test('a second update moves the name (addresses and secret from the environment): only the new address remains', async () => {
    process.env.VIPFLOW_TEST_DNS_ADDRESSES = A2;
    process.env.VIPFLOW_TEST_DNS_SECRET = bind.secret;
    try {
      const { result } = await runStep(
        options({ addresses: undefined, addressesEnv: 'VIPFLOW_TEST_DNS_ADDRESSES', key: { name: 'vipflow-key', secretEnv: 'VIPFLOW_TEST_DNS_SECRET' } }),
      );
      assert.equal(result.status, 'succeeded', JSON.stringify(result.steps));
    } finally {
      delete process.env.VIPFLOW_TEST_DNS_ADDRESSES;
      delete process.env.VIPFLOW_TEST_DNS_SECRET;
    }
    assert.deepEqual(await bind.dig(WWW, 'A'), [A2]);
  });

  test('owned types: A and AAAA together, then a node without IPv6 also removes the AAAA', async () => {
    assert.equal((await runStep(options({ addresses: [A1, AAAA1] }))).result.status, 'succeeded');
    assert.deepEqual(await bind.dig(WWW, 'A'), [A1]);
    assert.deepEqual(await bind.dig(WWW, 'AAAA'), [AAAA1]);
    assert.equal((await runStep(options({ addresses: [A2], types: ['A', 'AAAA'] }))).result.status, 'succeeded');
    assert.deepEqual(await bind.dig(WWW, 'A'), [A2]);
    assert.deepEqual(await bind.dig(WWW, 'AAAA'), []);
  });

  test('a wrong TSIG secret: TSIG BADSIG, tried exactly retry.attempts times, the record unchanged', async () => {
    const before = tsigFailures();
    const wrong = Buffer.alloc(32, 7).toString('base64');
    const { result, stepEvents } = await runStep(options({ addresses: [A1], key: { name: 'vipflow-key', secret: wrong } }), { attempts: 3, backoffMs: 20 });
    assert.equal(result.status, 'failed');
    assert.deepEqual(
      result.steps.map((s) => [s.attempt, s.outcome]),
      [
        [1, 'retried'],
        [2, 'retried'],
        [3, 'failed'],
      ],
    );
    assert.equal(stepEvents.length, 3, 'one workflow.step event per attempt');
    for (const e of stepEvents) {
      assert.equal(e.status, 'failed');
      assert.match(String(e.error), /TSIG BADSIG \(NOTAUTH\): the server rejected the signature; check the key name \('vipflow-key'\), secret and algorithm/);
    }
    assert.match(String(stepEvents[0]!.error), /\(attempt 1\/3, retrying in 20ms\)$/);
    assert.equal(tsigFailures() - before, 3, 'named saw three signed requests and rejected each');
    assert.deepEqual(await bind.dig(WWW, 'A'), [A2]);
  });

  test('an unknown key name: TSIG BADKEY', async () => {
    const { result } = await runStep(options({ key: { name: 'nobody-key', secret: bind.secret } }));
    assert.equal(result.status, 'failed');
    assert.match(result.steps[0]?.error ?? '', /TSIG BADKEY \(NOTAUTH\): the server does not know key 'nobody-key' with algorithm hmac-sha256/);
  });

  test('a clock an hour off: TSIG BADTIME, pointing at NTP', async () => {
    const { result } = await runStep(options(), undefined, false, { now: () => Date.now() - 3_600_000 });
    assert.equal(result.status, 'failed');
    assert.match(
      result.steps[0]?.error ?? '',
      /TSIG BADTIME \(NOTAUTH\): the clocks of this node and the server differ by more than the TSIG fudge \(300 s\); check NTP/,
    );
    assert.deepEqual(await bind.dig(WWW, 'A'), [A2]);
  });

  test('a name the update-policy does not grant: REFUSED, with the hint', async () => {
    const { result } = await runStep(options({ name: `db.${ZONE}` }));
    assert.equal(result.status, 'failed');
    assert.match(result.steps[0]?.error ?? '', /REFUSED: check that the zone's allow-update \/ update-policy lets key 'vipflow-key' change 'db.vipflow.test'/);
    assert.deepEqual(await bind.dig(`db.${ZONE}`, 'A'), []);
  });

  test('a dry run sends nothing: the record is unchanged and named logged no update', async () => {
    const updates = updatesLogged();
    const failures = tsigFailures();
    assert.ok(updates > 0 && failures > 0, 'named logs updates and rejections (so an unchanged count means nothing came)');
    const { result, intents } = await runStep(options({ addresses: [A1] }), undefined, true);
    assert.equal(result.status, 'succeeded');
    assert.equal(intents.length, 1);
    assert.match(intents[0]!.action, /^point www.vipflow.test at 198.18.176.1 \(RFC 2136 update to 127.0.0.1:\d+\)$/);
    assert.deepEqual(await bind.dig(WWW, 'A'), [A2]);
    assert.equal(updatesLogged(), updates);
    assert.equal(tsigFailures(), failures);
  });
});

describe('DNS step against BIND 9 over IPv6', () => {
  let bind: BindServer;
  before(async () => {
    bind = await startBind({ address: '::1', port: await freePort('::1'), zone: ZONE, keyName: 'vipflow-key6' });
  });
  after(async () => {
    await bind?.stop();
  });

  test('the update and its verification go to an IPv6 server', async () => {
    const step = dnsUpdateStep({
      server: '::1',
      port: bind.port,
      zone: ZONE,
      name: WWW,
      addresses: [AAAA1, A1],
      key: { name: 'vipflow-key6', secretFile: bind.keyFile },
    });
    const w = defineWorkflow({ name: 'point-www6', on: { to: 'MASTER' }, steps: [step] });
    const { emit } = collector();
    const r = await runWorkflow(w, testSource('node-b').make('instance.transition', samplePayloads['instance.transition']), {
      runId: 'v6',
      log,
      emit,
      shell: zxShell,
    });
    assert.equal(r.status, 'succeeded', JSON.stringify(r.steps));
    assert.deepEqual(await bind.dig(WWW, 'AAAA'), [AAAA1]);
    assert.deepEqual(await bind.dig(WWW, 'A'), [A1]);
  });
});

test('every supported TSIG algorithm signs an update BIND accepts and a response that verifies', async () => {
  for (const algorithm of TSIG_ALGORITHMS.filter((a) => a !== 'hmac-sha256')) {
    const bind = await startBind({ address: '127.0.0.1', port: await freePort('127.0.0.1'), zone: ZONE, keyName: 'k', algorithm });
    try {
      const step = dnsUpdateStep({
        server: bind.address,
        port: bind.port,
        zone: ZONE,
        name: WWW,
        addresses: [A1],
        key: { name: 'k', algorithm, secretFile: bind.keyFile },
      });
      const w = defineWorkflow({ name: 'alg', on: { to: 'MASTER' }, steps: [step] });
      const r = await runWorkflow(w, testSource('node-c').make('instance.transition', samplePayloads['instance.transition']), {
        runId: algorithm,
        log,
        emit: () => undefined,
        shell: zxShell,
      });
      assert.equal(r.status, 'succeeded', `${algorithm}: ${JSON.stringify(r.steps)}`);
      assert.deepEqual(await bind.dig(WWW, 'A'), [A1], algorithm);
    } finally {
      await bind.stop();
    }
  }
});
