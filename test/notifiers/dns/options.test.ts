// Pure: option validation, address sources, the update plan, answer comparison,
// secret sources and the response-code messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { answerMismatch, parseDnsOptions, planUpdate, resolveAddresses, type DnsOptions } from '../../../notifiers/dns/options.js';
import { readSecret, secretFromText } from '../../../notifiers/dns/secret.js';
import { updateFailure } from '../../../notifiers/dns/rcode.js';
import { samplePayloads, testSource } from '../../infra/events/fixtures.js';
import { tempDir } from '../helpers.js';

const base: DnsOptions = {
  server: '198.18.175.3',
  zone: 'vipflow.test',
  name: 'www.vipflow.test',
  addresses: ['198.18.175.1'],
  key: { name: 'vipflow-key', secretEnv: 'K' },
};

test('defaults, and errors that name the bad field', () => {
  const o = parseDnsOptions(base);
  assert.deepEqual(
    { port: o.port, ttl: o.ttl, replace: o.replace, verify: o.verify, timeoutMs: o.timeoutMs, algorithm: o.key.algorithm },
    { port: 53, ttl: 60, replace: true, verify: true, timeoutMs: 2000, algorithm: 'hmac-sha256' },
  );
  const bad: [unknown, RegExp][] = [
    [{ ...base, server: 'ns1.example.com' }, /server: must be an IPv4 or IPv6 address literal/],
    [{ ...base, name: 'www.elsewhere.test' }, /name: 'www.elsewhere.test' is not inside zone 'vipflow.test'/],
    [{ ...base, zone: 'a..b' }, /zone: domain name has an empty label/],
    [{ ...base, key: { name: 'vipflow-key' } }, /key: give exactly one of secret, secretEnv, secretFile/],
    [{ ...base, key: { name: 'vipflow-key', secret: 'AAAA', secretFile: '/k' } }, /key: give exactly one of/],
    [{ ...base, key: { name: 'vipflow-key', secret: 'AAAA', algorithm: 'hmac-sha3' } }, /key\.algorithm/],
    [{ ...base, addressesEnv: 'A' }, /give exactly one of addresses, addressesEnv, addressFromEvent/],
    [{ ...base, addresses: undefined }, /give exactly one of addresses/],
    [{ ...base, addresses: ['198.18.175.1', 'node-a'] }, /addresses\.1: must be an IPv4/],
    [{ ...base, types: ['A', 'A'] }, /types: lists a type twice/],
    [{ ...base, types: ['MX'] }, /types\.0/],
    [{ ...base, ttl: -1 }, /ttl/],
    [{ ...base, port: 0 }, /port/],
    [{ ...base, servers: ['x'] }, /Unrecognized key/],
  ];
  for (const [options, message] of bad) assert.throws(() => parseDnsOptions(options), message);
});

test('addresses: a literal list, an environment variable, or the event source address', () => {
  const ev = testSource('node-a').make('instance.transition', { ...samplePayloads['instance.transition'], source: '198.18.175.2' });
  assert.deepEqual(resolveAddresses({ addresses: ['198.18.175.1'] }, {}, ev), { ok: true, addresses: ['198.18.175.1'] });
  assert.deepEqual(resolveAddresses({ addressesEnv: 'ME' }, { ME: ' 198.18.175.1, fd00:198:18::1 ' }, ev), {
    ok: true,
    addresses: ['198.18.175.1', 'fd00:198:18::1'],
  });
  assert.deepEqual(resolveAddresses({ addressesEnv: 'ME' }, {}, ev), { ok: false, error: 'addressesEnv: environment variable ME is not set' });
  assert.deepEqual(resolveAddresses({ addressesEnv: 'ME' }, { ME: '198.18.175.1 node-b' }, ev), {
    ok: false,
    error: "addressesEnv: ME holds 'node-b', not IP addresses",
  });
  assert.deepEqual(resolveAddresses({ addressFromEvent: true }, {}, ev), { ok: true, addresses: ['198.18.175.2'] });
  const noSource = testSource('node-a').make('instance.transition', samplePayloads['instance.transition']);
  assert.equal(noSource.data.source, undefined);
  assert.match((resolveAddresses({ addressFromEvent: true }, {}, noSource) as { error: string }).error, /carries no source address/);
  const split = testSource('node-a').make('cluster.split_brain', { instance: 'VI_1', vrid: 1, masters: ['a', 'b'] });
  assert.match((resolveAddresses({ addressFromEvent: true }, {}, split) as { error: string }).error, /cluster.split_brain event carries no source address/);
});

test('the plan: owned types default to the address families; an owned type without addresses is emptied', () => {
  const o = { zone: 'vipflow.test', name: 'www.vipflow.test', ttl: 30, replace: true };
  const v4 = planUpdate(o, ['198.18.175.1', '198.18.175.1']);
  assert.ok(v4.ok);
  assert.deepEqual(v4.planned.plan, { zone: 'vipflow.test', name: 'www.vipflow.test', ttl: 30, replace: ['A'], add: ['198.18.175.1'] });
  assert.deepEqual(v4.planned.expect, [{ type: 'A', addresses: ['198.18.175.1'] }]);
  const owned = planUpdate({ ...o, types: ['A', 'AAAA'] }, ['198.18.175.1']);
  assert.ok(owned.ok);
  assert.deepEqual(owned.planned.plan.replace, ['A', 'AAAA']);
  assert.deepEqual(owned.planned.expect, [
    { type: 'A', addresses: ['198.18.175.1'] },
    { type: 'AAAA', addresses: [] },
  ]);
  const add = planUpdate({ ...o, replace: false }, ['fd00:198:18::1', 'fd00:198:18:0::1']);
  assert.ok(add.ok);
  assert.deepEqual(add.planned.plan.replace, []);
  assert.deepEqual(add.planned.plan.add, ['fd00:198:18::1'], 'two spellings of one address are one record');
  assert.deepEqual(planUpdate({ ...o, types: ['A'] }, ['198.18.175.1', 'fd00:198:18::1']), {
    ok: false,
    error: 'addresses: fd00:198:18::1 not of the types [A]',
  });
});

test('answers: exact when replacing, a superset otherwise; IPv6 spellings compare equal', () => {
  assert.equal(answerMismatch(['fd00:198:18::1'], ['fd00:198:18:0:0:0:0:1'], true), undefined);
  assert.equal(answerMismatch(['198.18.175.1'], ['198.18.175.1', '198.18.175.2'], false), undefined);
  assert.equal(answerMismatch([], [], true), undefined);
  assert.equal(
    answerMismatch(['198.18.175.1'], ['198.18.175.1', '198.18.175.2'], true),
    'returns [198.18.175.1, 198.18.175.2], expected [198.18.175.1] (unexpected 198.18.175.2)',
  );
  assert.equal(answerMismatch(['198.18.175.1'], [], false), 'returns [], expected at least [198.18.175.1] (missing 198.18.175.1)');
});

test('secrets: literal, environment, bare file, BIND key file picked by key name; clear errors', () => {
  const keyFile = [
    'key "other" {',
    '\talgorithm hmac-sha256;',
    '\tsecret "b3RoZXI=";',
    '};',
    'key "vipflow-key" {',
    '\talgorithm hmac-sha256;',
    '\tsecret "c2VjcmV0";',
    '};',
    '',
  ].join('\n');
  assert.deepEqual(secretFromText(keyFile, 'VIPFLOW-KEY.', 'f'), { ok: true, secret: Buffer.from('secret') });
  assert.deepEqual(secretFromText('c2VjcmV0\n', 'k', 'f'), { ok: true, secret: Buffer.from('secret') });
  assert.deepEqual(secretFromText(keyFile, 'missing', 'f'), { ok: false, error: 'f: no key "missing" in the file (it has "other", "vipflow-key")' });
  assert.deepEqual(secretFromText('not base64!', 'k', 'f'), { ok: false, error: 'f: the TSIG secret is not base64' });
  assert.deepEqual(readSecret({ secret: 'c2VjcmV0' }, 'k'), { ok: true, secret: Buffer.from('secret') });
  assert.deepEqual(readSecret({ secretEnv: 'S' }, 'k', { S: 'c2VjcmV0' }), { ok: true, secret: Buffer.from('secret') });
  assert.deepEqual(readSecret({ secretEnv: 'S' }, 'k', {}), { ok: false, error: 'key.secretEnv: environment variable S is not set' });
  const t = tempDir('dns');
  try {
    writeFileSync(join(t.dir, 'k.conf'), keyFile);
    assert.deepEqual(readSecret({ secretFile: join(t.dir, 'k.conf') }, 'vipflow-key'), { ok: true, secret: Buffer.from('secret') });
    assert.deepEqual(readSecret({ secretFile: join(t.dir, 'none') }, 'vipflow-key'), {
      ok: false,
      error: `key.secretFile: cannot read ${join(t.dir, 'none')}: ENOENT`,
    });
  } finally {
    t.remove();
  }
});

test('response codes: TSIG errors win over the header code and say what to check', () => {
  const d = { server: '198.18.175.3:53', zone: 'vipflow.test', name: 'www.vipflow.test', keyName: 'vipflow-key', algorithm: 'hmac-sha256' };
  assert.equal(updateFailure(0, 0, d), undefined);
  const badsig = updateFailure(9, 16, d);
  assert.equal(badsig?.kind, 'tsig');
  assert.match(
    badsig?.message ?? '',
    /TSIG BADSIG \(NOTAUTH\): the server rejected the signature; check the key name \('vipflow-key'\), secret and algorithm \(hmac-sha256\)/,
  );
  assert.match(updateFailure(9, 17, d)?.message ?? '', /TSIG BADKEY \(NOTAUTH\): the server does not know key 'vipflow-key' with algorithm hmac-sha256/);
  assert.match(updateFailure(9, 18, d)?.message ?? '', /TSIG BADTIME .*check NTP/);
  assert.equal(updateFailure(9, 0, d)?.kind, 'notauth');
  assert.match(
    updateFailure(5, 0, d)?.message ?? '',
    /REFUSED: check that the zone's allow-update \/ update-policy lets key 'vipflow-key' change 'www.vipflow.test'/,
  );
  assert.equal(updateFailure(10, 0, d)?.kind, 'notzone');
  assert.match(updateFailure(2, 0, d)?.message ?? '', /SERVFAIL/);
  assert.match(updateFailure(13, 0, d)?.message ?? '', /failed: RCODE13$/);
});
