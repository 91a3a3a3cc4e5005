// The DNS step against an in-process UDP responder on loopback (BIND is in bind.test.ts):
// dry run, timeout, abort, an unreachable port, a response without a valid signature.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { dnsUpdateStep, DnsUpdateError, type DnsOptions } from '../../../notifiers/dns/index.js';
import { encodeName, parseResponse, signMessage, type TsigKey } from '../../../notifiers/dns/message.js';
import type { Intent, StepContext } from '../../../workflows/define.js';
import { samplePayloads, testSource } from '../../infra/events/fixtures.js';
import { log } from '../../workflows/helpers.js';

const SECRET = Buffer.from('step-test-secret').toString('base64');
const key: TsigKey = { name: 'vipflow-key', algorithm: 'hmac-sha256', secret: Buffer.from(SECRET, 'base64') };
type Reply = (request: Buffer) => Buffer | undefined;

let server: Socket;
let port = 0;
let received: Buffer[] = [];
let reply: Reply = () => undefined;

before(async () => {
  server = createSocket('udp4');
  server.on('message', (msg, from) => {
    received.push(msg);
    const out = reply(msg);
    if (out) server.send(out, from.port, from.address);
  });
  await new Promise<void>((r) => server.bind(0, '127.0.0.1', r));
  port = server.address().port;
});
after(() => server.close());

function ctx(o: { dryRun?: boolean; signal?: AbortSignal; intents?: Intent[] } = {}): StepContext {
  const event = testSource('node-a').make('instance.transition', samplePayloads['instance.transition']);
  return {
    event,
    workflow: 'w',
    step: 'dns',
    runId: 'r1',
    log,
    $: () => Promise.reject(new Error('no shell here')),
    signal: o.signal ?? new AbortController().signal,
    idempotencyKey: `${event.id}/w/dns`,
    attempt: 1,
    dryRun: o.dryRun ?? false,
    intend: (action, detail) => void o.intents?.push({ workflow: 'w', step: 'dns', action, ...(detail ? { detail } : {}) }),
  };
}
const options = (extra: Partial<DnsOptions> = {}): DnsOptions => ({
  server: '127.0.0.1',
  port,
  zone: 'vipflow.test',
  name: 'www.vipflow.test',
  addresses: ['198.18.176.1'],
  key: { name: 'vipflow-key', secret: SECRET },
  timeoutMs: 300,
  ...extra,
});
const failure = async (p: Promise<unknown>): Promise<DnsUpdateError> => {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof DnsUpdateError, String(e));
    return e;
  }
  assert.fail('the step succeeded');
};

test('the factory rejects bad options at definition time, naming the field', () => {
  assert.throws(() => dnsUpdateStep(options({ server: 'dns.example' })), /^Error: dns: invalid options: server: must be an IPv4/);
  const s = dnsUpdateStep(options(), { name: 'point-www', retry: { attempts: 3, backoffMs: 100 }, timeoutMs: 5000 });
  assert.deepEqual([s.name, s.retry, s.timeoutMs], ['point-www', { attempts: 3, backoffMs: 100 }, 5000]);
  assert.equal(dnsUpdateStep(options()).name, 'dns-update');
});

test('dry run: records the intention without the secret and sends nothing', async () => {
  received = [];
  const intents: Intent[] = [];
  const r = await dnsUpdateStep(options()).run(ctx({ dryRun: true, intents }));
  assert.equal(r, undefined);
  assert.equal(received.length, 0);
  assert.equal(intents.length, 1);
  assert.deepEqual(intents[0]?.detail, {
    server: `127.0.0.1:${port}`,
    zone: 'vipflow.test',
    name: 'www.vipflow.test',
    addresses: ['198.18.176.1'],
    types: ['A'],
    replace: true,
    ttl: 60,
    key: 'vipflow-key',
    algorithm: 'hmac-sha256',
  });
  assert.ok(!JSON.stringify(intents).includes(SECRET));
});

test('no answer: a timeout error after timeoutMs; an abort ends the wait at once', async () => {
  received = [];
  reply = () => undefined;
  const t0 = performance.now();
  const e = await failure(Promise.resolve(dnsUpdateStep(options()).run(ctx())));
  assert.equal(e.kind, 'timeout');
  assert.match(e.message, new RegExp(`no response from 127.0.0.1:${port} within 300 ms`));
  assert.ok(performance.now() - t0 >= 290);
  assert.equal(received.length, 1, 'one datagram per attempt');

  const ac = new AbortController();
  const reason = new Error('superseded');
  setTimeout(() => ac.abort(reason), 50);
  const t1 = performance.now();
  await assert.rejects(Promise.resolve(dnsUpdateStep(options({ timeoutMs: 5000 })).run(ctx({ signal: ac.signal }))), (e) => e === reason);
  // Generous: 2 shared cores; the point is that it did not wait 5 s.
  assert.ok(performance.now() - t1 < 2000);
});

test('a port nobody listens on: unreachable, named as such', async () => {
  const probe = createSocket('udp4');
  await new Promise<void>((r) => probe.bind(0, '127.0.0.1', r));
  const closed = probe.address().port;
  probe.close();
  const e = await failure(Promise.resolve(dnsUpdateStep(options({ port: closed })).run(ctx())));
  assert.equal(e.kind, 'unreachable');
  assert.match(e.message, /ICMP port unreachable/);
});

test('a NOERROR response that is unsigned or signed with another secret is not trusted', async () => {
  const answer =
    (k: TsigKey | undefined): Reply =>
    (req) => {
      const p = parseResponse(req);
      if (!p.ok || !p.response.tsig) return undefined;
      // A server echoes the zone section only (RFC 2136 section 3.8).
      const body = Buffer.from(req.subarray(0, 12 + encodeName('vipflow.test').length + 4));
      body.writeUInt16BE(0xa800, 2); // QR, opcode UPDATE, NOERROR
      body.writeUInt16BE(0, 8);
      body.writeUInt16BE(0, 10);
      return k
        ? signMessage(body, k, { timeSigned: Math.floor(Date.now() / 1000), fudge: 300, error: 0, other: Buffer.alloc(0) }, p.response.tsig.mac).message
        : body;
    };
  reply = answer(undefined);
  const e = await failure(Promise.resolve(dnsUpdateStep(options({ verify: false })).run(ctx())));
  assert.equal(e.kind, 'bad-response');
  assert.match(e.message, /not trusting the response .*: the response is not signed/);
  reply = answer({ ...key, secret: Buffer.from('forger') });
  assert.match((await failure(Promise.resolve(dnsUpdateStep(options({ verify: false })).run(ctx())))).message, /TSIG MAC does not verify/);
  // The same responder with the right key: success without verification.
  reply = answer(key);
  assert.deepEqual(await dnsUpdateStep(options({ verify: false })).run(ctx()), { name: 'www.vipflow.test', addresses: ['198.18.176.1'], verified: false });
});

test('configuration problems found at run time fail the step with a config error', async () => {
  const e = await failure(Promise.resolve(dnsUpdateStep(options({ addresses: undefined, addressesEnv: 'VIPFLOW_TEST_UNSET_ADDRESSES' })).run(ctx())));
  assert.equal(e.kind, 'config');
  assert.match(e.message, /addressesEnv: environment variable VIPFLOW_TEST_UNSET_ADDRESSES is not set/);
  const s = await failure(Promise.resolve(dnsUpdateStep(options({ key: { name: 'vipflow-key', secretFile: '/nonexistent/vipflow.key' } })).run(ctx())));
  assert.match(s.message, /key.secretFile: cannot read \/nonexistent\/vipflow.key: ENOENT/);
});
