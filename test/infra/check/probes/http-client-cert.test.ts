/**
 * SSL_GET with keepalived's SSL block: nginx on loopback demands a client
 * certificate signed by a CA made at test time with openssl; the probe passes
 * with the block's certificate and key (the key encrypted, opened with the
 * block's password) and fails without them. The config path is tested too: an
 * `SSL { ... }` block in keepalived.conf reaches the model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpProbe } from '../../../../infra/check/probes/http.js';
import { freePort } from '../../../../infra/events/local-nats.js';
import { privateNginxConf } from '../../../../lab/nginx.js';
import { spawnNginx } from '../../../../lab/local-nginx.js';
import { loadKeepalivedText } from '../../../../config/keepalived/index.js';

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore', timeout: 20_000 });

function makePki(dir: string): void {
  const p = (f: string) => join(dir, f);
  openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=test-ca',
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.pem'),
  ]);
  openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=server.test',
    '-keyout',
    p('server.key'),
    '-out',
    p('server.pem'),
  ]);
  // The client's key is encrypted: the SSL block's password opens it.
  openssl([
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-passout',
    'pass:s3cret',
    '-subj',
    '/CN=checker',
    '-keyout',
    p('client.key'),
    '-out',
    p('client.csr'),
  ]);
  openssl(['x509', '-req', '-in', p('client.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-days', '1', '-out', p('client.pem')]);
  for (const f of ['server.key', 'client.key']) chmodSync(p(f), 0o644);
}

test('SSL_GET presents the SSL block client certificate; a server demanding one refuses the check without it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vipflow-client-cert-'));
  chmodSync(dir, 0o755);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  makePki(dir);
  mkdirSync(join(dir, 'tmp'));
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    privateNginxConf(
      dir,
      16,
      `    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${dir}/server.pem;
    ssl_certificate_key ${dir}/server.key;
    ssl_client_certificate ${dir}/ca.pem;
    ssl_verify_client on;
    location = / { default_type text/plain; return 200 "client=$ssl_client_s_dn\\n"; }
`,
    ),
  );
  const nginx = await spawnNginx(dir, conf, [port]);
  t.after(() => nginx.stop());
  const urls = [{ path: '/', regex: 'client=CN ?= ?checker' }];
  const target = { address: '127.0.0.1', port };

  const without = await httpProbe(target, { tls: true, urls, connectTimeoutMs: 3000 });
  assert.equal(without.ok, false);
  assert.ok(!without.ok && without.reason === 'status', `nginx answers 400 without a certificate: ${JSON.stringify(without)}`);

  const clientCertificate = {
    cert: readFileSync(join(dir, 'client.pem')),
    key: readFileSync(join(dir, 'client.key')),
    passphrase: 's3cret',
    ca: readFileSync(join(dir, 'ca.pem')),
  };
  const withCert = await httpProbe(target, { tls: true, urls, connectTimeoutMs: 3000, clientCertificate });
  assert.equal(withCert.ok, true, JSON.stringify(withCert));

  const wrongPassword = await httpProbe(target, { tls: true, urls, connectTimeoutMs: 3000, clientCertificate: { ...clientCertificate, passphrase: 'nope' } });
  assert.ok(!wrongPassword.ok && wrongPassword.reason === 'tls', `a key the password cannot open is a clear TLS failure: ${JSON.stringify(wrongPassword)}`);
});

test('keepalived.conf SSL block: password, ca, certificate and key reach the model', () => {
  const r = loadKeepalivedText(`SSL {
  password s3cret
  ca /etc/keepalived/ca.pem
  certificate /etc/keepalived/client.pem
  key /etc/keepalived/client.key
}
`);
  assert.deepEqual(r.diagnostics, []);
  assert.deepEqual(r.model?.ssl, {
    password: 's3cret',
    ca: '/etc/keepalived/ca.pem',
    certificate: '/etc/keepalived/client.pem',
    key: '/etc/keepalived/client.key',
  });
});
