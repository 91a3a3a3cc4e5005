// The connection settings and the event signatures, without a server: temp files for
// the secret-file checks (mode, content), real nkeys for signing.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nkeys } from '@nats-io/transport-node';
import {
  classifyConnectError,
  credsProblem,
  credsRefusalHint,
  describeNatsAuth,
  explainRefusal,
  natsConnectionOptions,
  redactServers,
} from '../../../infra/events/nats-connect.js';
import { eventSigner, trustedNodesFrom, verifyEvent } from '../../../infra/events/event-signature.js';
import { natsSecurityFrom } from '../../../infra/events/nats-settings.js';

const dir = mkdtempSync(join(tmpdir(), 'vipflow-natsconn-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string, mode = 0o600) => {
  const f = join(dir, name);
  writeFileSync(f, text);
  chmodSync(f, mode);
  return f;
};
const user = nkeys.createUser();
const seedText = new TextDecoder().decode(user.getSeed());
const base = { servers: 'nats://127.0.0.1:4222', name: 't' };
const problem = (s: Parameters<typeof natsConnectionOptions>[0], env = {}) => {
  const r = natsConnectionOptions(s, env);
  assert.equal(r.ok, false, 'refused');
  return (r as { message: string }).message;
};

test('secret files: missing, world-readable, not a seed, not a creds file: each refused naming the file and the fix', () => {
  assert.match(problem({ ...base, nkeySeedFile: join(dir, 'nope') }), /nkey seed file .*nope does not exist/);
  const open = file('open.nk', seedText, 0o644);
  assert.match(problem({ ...base, nkeySeedFile: open }), new RegExp(`${open} is readable by every user: chmod o-rwx`));
  assert.match(problem({ ...base, nkeySeedFile: file('bad.nk', 'SUNOTASEED') }), /holds no valid nkey seed/);
  assert.match(
    problem({ ...base, credentialsFile: file('bad.creds', 'hello') }),
    /creds file .*bad\.creds: no "BEGIN NATS USER JWT" block \(write it with 'nsc/,
  );
  assert.match(problem({ ...base, tokenFile: file('empty.tok', '\n') }), /token file .* is empty/);
  assert.match(problem({ ...base, user: 'u' }), /user u needs a password: a password file or \$VIPFLOW_NATS_PASSWORD/);
  assert.match(problem({ ...base, user: 'u', tokenFile: file('t.tok', 'x') }), /choose one way to authenticate, not a user and a token/);
  assert.match(problem({ ...base, tls: { certFile: file('c.pem', '-----BEGIN CERTIFICATE-----\n') } }), /needs its key file/);
  assert.match(problem({ ...base, tls: { caFile: file('ca.pem', 'not pem') } }), /CA file .*ca\.pem holds no PEM certificate/);
});

test('good settings: the authenticator, user/pass or token, and TLS files; nothing secret in the description', () => {
  const ok = (s: Parameters<typeof natsConnectionOptions>[0], env = {}) => {
    const r = natsConnectionOptions(s, env);
    assert.ok(r.ok, r.ok ? '' : r.message);
    return r.options;
  };
  assert.equal(typeof ok({ ...base, nkeySeedFile: file('good.nk', `${seedText}\n`) }).authenticator, 'function');
  const o = ok({ ...base, user: 'alice' }, { VIPFLOW_NATS_PASSWORD: 's3cret-pw' });
  assert.deepEqual([o.user, o.pass], ['alice', 's3cret-pw']);
  assert.equal(ok({ ...base, tokenFile: file('good.tok', 'tok-123\n') }).token, 'tok-123');
  assert.equal(ok(base, { VIPFLOW_NATS_TOKEN: 'env-tok' }).token, 'env-tok');
  const creds = `-----BEGIN NATS USER JWT-----\naaa.bbb.ccc\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${seedText}\n------END USER NKEY SEED------\n`;
  assert.equal(credsProblem(creds), undefined);
  assert.equal(typeof ok({ ...base, credentialsFile: file('good.creds', creds) }).authenticator, 'function');
  const d = describeNatsAuth({ user: 'alice', passwordFile: '/etc/pw' }, { VIPFLOW_NATS_PASSWORD: 's3cret-pw' });
  assert.equal(d, 'user alice (password from /etc/pw)');
  assert.deepEqual(redactServers(['nats://alice:s3cret@h:4222', 'tls://h2:4222']), ['nats://***@h:4222', 'tls://h2:4222']);
});

/** A creds file around a JWT whose claims are `claims` (the signature is not checked client-side). */
const credsWith = (claims: object, seed = seedText) => {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const jwt = `${b64({ typ: 'JWT', alg: 'ed25519-nkey' })}.${b64(claims)}.c2ln`;
  return `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n`;
};

test('creds files: world-readable, a JWT that is not one, a bad seed: refused before connecting', () => {
  const open = file('open.creds', credsWith({ sub: user.getPublicKey() }), 0o644);
  assert.match(problem({ ...base, credentialsFile: open }), new RegExp(`creds file ${open} is readable by every user: chmod o-rwx`));
  assert.match(problem({ ...base, credentialsFile: file('nojwt.creds', credsWith({}).replace(/^ey\S+$/m, 'not-a-jwt')) }), /the user JWT is not a JWT/);
  assert.match(problem({ ...base, credentialsFile: file('badseed.creds', credsWith({}, 'SUBAD')) }), /the user nkey seed is not a valid seed/);
});

test("a refused creds file's hint: an expired JWT says when; otherwise the user and account the server must trust", () => {
  const now = Date.parse('2026-12-02T12:00:00Z');
  const claims = { name: 'node-a', sub: user.getPublicKey(), iss: 'AACCOUNT', nats: { type: 'user', version: 2 } };
  const expired = file('expired.creds', credsWith({ ...claims, exp: now / 1000 - 60 }));
  assert.equal(
    credsRefusalHint(expired, now),
    `the user JWT in ${expired} (user node-a ${user.getPublicKey()}) expired at 2026-12-02T11:59:00.000Z: issue a new one ('nsc generate creds')`,
  );
  const valid = file('valid.creds', credsWith({ ...claims, exp: now / 1000 + 60 }));
  assert.match(credsRefusalHint(valid, now) ?? '', new RegExp(`^user node-a ${user.getPublicKey()} of account AACCOUNT: the server must trust that account`));
  const scoped = file('scoped.creds', credsWith({ ...claims, iss: 'ASIGNINGKEY', nats: { issuer_account: 'AISSUER' } }));
  assert.match(credsRefusalHint(scoped, now) ?? '', /of account AISSUER:/, 'a user signed by a signing key belongs to issuer_account');
  const text = JSON.stringify(credsRefusalHint(valid, now)) + JSON.stringify(credsRefusalHint(expired, now));
  assert.doesNotMatch(text, new RegExp(seedText), 'never the seed');
  assert.doesNotMatch(text, /eyJ/, 'never the JWT');
  const refused = classifyConnectError(Object.assign(new Error("'Authorization Violation'"), { name: 'AuthorizationError' }));
  assert.match(explainRefusal(refused, { credentialsFile: scoped }).message, /^NATS refused the credentials .*: user node-a U\w+ of account AISSUER/);
  assert.equal(explainRefusal(refused, { user: 'u' }), refused, 'only for creds files');
  const unreachable = classifyConnectError(new Error('connection refused'));
  assert.equal(explainRefusal(unreachable, { credentialsFile: valid }), unreachable, 'only for refusals');
});

test('connect failures read as refused credentials, TLS or unreachable', () => {
  const denied = classifyConnectError(
    Object.assign(new Error('Permissions Violation for Publish to "vipflow.dc1.VI_1.instance.transition"'), { name: 'PermissionViolationError' }),
  );
  assert.equal(denied.kind, 'auth');
  assert.match(denied.message, /^NATS refused by permissions: Permissions Violation for Publish to "vipflow\.dc1\.VI_1\.instance\.transition"/);
  assert.equal(classifyConnectError(Object.assign(new Error("'Authorization Violation'"), { name: 'AuthorizationError' })).kind, 'auth');
  assert.equal(classifyConnectError(Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' })).kind, 'tls');
  assert.equal(classifyConnectError(new Error('connection refused')).kind, 'unreachable');
});

test('settings: a method on the command line replaces the config one; config paths are relative to the config file', () => {
  const cfg = { credentialsFile: 'nats.creds', tls: { caFile: 'ca.pem', serverName: 'nats.example' } };
  assert.deepEqual(natsSecurityFrom({}, cfg, '/etc/vipflow/vipflow.config.ts'), {
    credentialsFile: '/etc/vipflow/nats.creds',
    tls: { caFile: '/etc/vipflow/ca.pem', serverName: 'nats.example' },
  });
  const s = natsSecurityFrom({ natsUser: 'bob', natsCa: '/x/ca.pem' }, cfg, '/etc/vipflow/vipflow.config.ts');
  assert.deepEqual(s, { user: 'bob', tls: { caFile: '/x/ca.pem', serverName: 'nats.example' } });
});

test('signatures: the node key signs; unsigned, another key, an unknown node or altered bytes are refused', () => {
  const a = nkeys.createUser();
  const b = nkeys.createUser();
  const trusted = { 'node-a': a.getPublicKey(), 'node-b': b.getPublicKey() };
  const payload = new TextEncoder().encode('{"node":"node-a"}');
  const sa = eventSigner(a).sign(payload);
  const sb = eventSigner(b).sign(payload);
  assert.deepEqual(verifyEvent(trusted, 'node-a', payload, sa.signer, sa.signature), { ok: true });
  assert.deepEqual(verifyEvent(trusted, 'node-a', payload, undefined, undefined), { ok: false, reason: 'unsigned' });
  assert.deepEqual(verifyEvent(trusted, 'node-a', payload, sb.signer, sb.signature), { ok: false, reason: 'wrong-key' });
  assert.deepEqual(verifyEvent(trusted, 'node-c', payload, sa.signer, sa.signature), { ok: false, reason: 'unknown-node' });
  assert.deepEqual(verifyEvent(trusted, 'node-a', new TextEncoder().encode('{"node":"node-a" }'), sa.signer, sa.signature), {
    ok: false,
    reason: 'bad-signature',
  });
  // A key claimed for node-a but with node-b's signature under it.
  assert.deepEqual(verifyEvent(trusted, 'node-a', payload, sa.signer, sb.signature), { ok: false, reason: 'bad-signature' });
  assert.deepEqual(verifyEvent({ toString: 'x' } as never, 'toString', payload, sa.signer, sa.signature).ok, false);
});

test('trusted nodes from a JSON file: a bad key or an empty map is refused with the file named', () => {
  const key = nkeys.createUser().getPublicKey();
  assert.deepEqual(trustedNodesFrom(file('t.json', JSON.stringify({ n1: key })), undefined), { n1: key });
  assert.match(
    trustedNodesFrom(file('bad.json', JSON.stringify({ n1: 'Unope' })), undefined) as string,
    /bad\.json: trusted node n1: Unope is not a public nkey/,
  );
  assert.match(trustedNodesFrom(file('empty.json', '{}'), undefined) as string, /empty/);
  assert.match(trustedNodesFrom(file('notjson.json', '{'), undefined) as string, /notjson\.json: .*expected JSON/);
  assert.equal(trustedNodesFrom(undefined, undefined), undefined);
});
