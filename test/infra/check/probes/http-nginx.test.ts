/**
 * HTTP_GET and SSL_GET against a real nginx on loopback (HTTP and HTTPS with a
 * self-signed certificate).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { httpProbe, type HttpProbeOptions } from '../../../../infra/check/probes/http.js';
import type { ProbeResult } from '../../../../infra/check/probes/types.js';
import { startProbeNginx, type ProbeNginx } from './servers.js';

let nginx: ProbeNginx;
before(async () => {
  nginx = await startProbeNginx();
});
after(async () => {
  await nginx?.stop();
});

const http = (o: Partial<HttpProbeOptions> & Pick<HttpProbeOptions, 'urls'>, ctx = {}) =>
  httpProbe({ address: '127.0.0.1', port: nginx.httpPort }, { connectTimeoutMs: 2000, ...o }, ctx);
const https = (o: Partial<HttpProbeOptions> & Pick<HttpProbeOptions, 'urls'>) =>
  httpProbe({ address: '127.0.0.1', port: nginx.httpsPort }, { connectTimeoutMs: 2000, tls: true, ...o });

function failed(r: ProbeResult, reason: string): string {
  assert.equal(r.ok, false, `expected a failure, got ${JSON.stringify(r)}`);
  if (r.ok) return '';
  assert.equal(r.reason, reason, r.detail);
  return r.detail;
}

test('HTTP_GET: 200 within the default 200-299 passes; the file digest passes; a wrong digest fails naming both', async () => {
  assert.deepEqual((await http({ urls: [{ path: '/index.html' }] })).ok, true);
  const want = nginx.md5('index.html');
  const ok = await http({ urls: [{ path: '/index.html', digest: want }] });
  assert.equal(ok.ok, true, JSON.stringify(ok));
  const wrong = '0123456789abcdef0123456789abcdef';
  const d = failed(await http({ urls: [{ path: '/index.html', digest: wrong }] }), 'digest');
  assert.match(d, new RegExp(`digest mismatch \\(got ${want}, want ${wrong}\\)`));
  assert.match(d, /url \/index.html/);
});

test('HTTP_GET: a digest over many reads (big page) equals md5 of the file, also as HTTP/1.1 and 1.0C', async () => {
  const want = nginx.md5('big.txt');
  for (const httpProtocol of ['1.0', '1.1', '1.0C'] as const) {
    const r = await http({ httpProtocol, urls: [{ path: '/big.txt', digest: want.toUpperCase() }] });
    assert.equal(r.ok, true, `${httpProtocol}: ${JSON.stringify(r)}`);
  }
});

test('HTTP_GET: status codes: 404 fails with the default rule, passes when listed; 503 against a range list', async () => {
  assert.match(failed(await http({ urls: [{ path: '/missing' }] }), 'status'), /status 404 not in 200-299/);
  assert.equal((await http({ urls: [{ path: '/missing', statusCode: ['404'] }] })).ok, true);
  assert.match(failed(await http({ urls: [{ path: '/unavailable', statusCode: ['200-299', '404'] }] }), 'status'), /status 503 not in 200-299,404/);
  assert.equal((await http({ urls: [{ path: '/unavailable', statusCode: ['500-599'] }] })).ok, true);
});

test('HTTP_GET: regex and regex_no_match on the body', async () => {
  assert.equal((await http({ urls: [{ path: '/index.html', regex: 'probe test: heal+thy' }] })).ok, true);
  assert.match(failed(await http({ urls: [{ path: '/index.html', regex: 'unhealthy' }] }), 'regex'), /does not match \/unhealthy\//);
  assert.equal((await http({ urls: [{ path: '/index.html', regex: 'unhealthy', regexNoMatch: true }] })).ok, true);
  assert.match(failed(await http({ urls: [{ path: '/index.html', regex: 'healthy', regexNoMatch: true }] }), 'regex'), /regex_no_match/);
  // the last line of a page that takes many reads
  assert.equal((await http({ urls: [{ path: '/big.txt', regex: 'END-OF-BIG-PAGE' }] })).ok, true);
  assert.equal(failed(await http({ urls: [{ path: '/index.html', regex: '(' }] }), 'config').includes('bad regex'), true);
});

test('HTTP_GET: urls are checked in order and the first failing one fails the check', async () => {
  const r = await http({ urls: [{ path: '/index.html' }, { path: '/missing' }, { path: '/unavailable' }] });
  assert.match(failed(r, 'status'), /^url \/missing: status 404/);
  assert.equal((await http({ urls: [{ path: '/index.html' }, { path: '/big.txt' }] })).ok, true);
  assert.equal(failed(await http({ urls: [] }), 'config'), 'HTTP_GET has no url');
});

test("HTTP_GET: keepalived's request: User-Agent KeepAliveClient, HTTP/1.0 without Connection, 1.1 and 1.0C with Connection: close", async () => {
  const cases = [
    [undefined, 'ua=KeepAliveClient proto=HTTP/1.0 conn=\n'],
    ['1.1', 'ua=KeepAliveClient proto=HTTP/1.1 conn=close\n'],
    ['1.0C', 'ua=KeepAliveClient proto=HTTP/1.0 conn=close\n'],
  ] as const;
  for (const [httpProtocol, body] of cases) {
    const { createHash } = await import('node:crypto');
    const digest = createHash('md5').update(body).digest('hex');
    const r = await http({ ...(httpProtocol ? { httpProtocol } : {}), urls: [{ path: '/ua', digest }] });
    assert.equal(r.ok, true, `${httpProtocol}: ${JSON.stringify(r)}`);
  }
});

let expectEscaped = '';
test("HTTP_GET: Host is the url's virtualhost, else the checker's, else the real server's, else address:port", async () => {
  const host = (o: Partial<HttpProbeOptions>, urlVhost?: string) =>
    http({ ...o, urls: [{ path: '/host', regex: `^host=${expectEscaped}\\n`, ...(urlVhost ? { virtualhost: urlVhost } : {}) }] });
  const all = { virtualhost: 'checker.test', realServerVirtualhost: 'rs.test', virtualServerVirtualhost: 'vs.test' };
  const cases: [Partial<HttpProbeOptions>, string | undefined, string][] = [
    [all, 'url.test', 'url.test'],
    [all, undefined, 'checker.test'],
    [{ realServerVirtualhost: 'rs.test', virtualServerVirtualhost: 'vs.test' }, undefined, 'rs.test'],
    [{ virtualServerVirtualhost: 'vs.test' }, undefined, 'vs.test'],
    [{}, undefined, `127.0.0.1:${nginx.httpPort}`],
  ];
  for (const [o, urlVhost, want] of cases) {
    expectEscaped = want.replace(/\./g, '\\.');
    const r = await host(o, urlVhost);
    assert.equal(r.ok, true, `want Host ${want}: ${JSON.stringify(r)}`);
  }
  // and a wrong expectation fails, so the check above can fail
  expectEscaped = 'nothing\\.test';
  assert.equal((await host(all, undefined)).ok, false);
});

test('SSL_GET: self-signed certificate accepted (no verification); digest equals the HTTP one', async () => {
  const want = nginx.md5('big.txt');
  const r = await https({
    urls: [
      { path: '/index.html', digest: nginx.md5('index.html') },
      { path: '/big.txt', digest: want },
    ],
  });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.match(failed(await https({ urls: [{ path: '/missing' }] }), 'status'), /status 404/);
  for (const tlsCompliant of [true, false])
    assert.equal((await https({ tlsCompliant, httpProtocol: '1.1', urls: [{ path: '/big.txt', digest: want }] })).ok, true);
});

test("SSL_GET: SNI only with enable_sni: sni_name, else url's, checker's or virtual server's virtualhost (never the real server's)", async () => {
  const sni = (o: Partial<HttpProbeOptions>, want: string, urlVhost?: string) =>
    https({ ...o, urls: [{ path: '/sni', regex: `^sni=${want.replace(/\./g, '\\.')}\\n`, ...(urlVhost ? { virtualhost: urlVhost } : {}) }] });
  const all = { virtualhost: 'checker.test', realServerVirtualhost: 'rs.test', virtualServerVirtualhost: 'vs.test' };
  assert.equal((await sni(all, '')).ok, true, 'no enable_sni: no SNI');
  assert.equal((await sni({ ...all, enableSni: true, sniName: 'name.test' }, 'name.test', 'url.test')).ok, true);
  assert.equal((await sni({ ...all, enableSni: true }, 'url.test', 'url.test')).ok, true);
  assert.equal((await sni({ ...all, enableSni: true }, 'checker.test')).ok, true);
  assert.equal((await sni({ realServerVirtualhost: 'rs.test', virtualServerVirtualhost: 'vs.test', enableSni: true }, 'vs.test')).ok, true);
  assert.equal((await sni({ realServerVirtualhost: 'rs.test', enableSni: true }, '')).ok, true);
  assert.equal((await sni({ ...all, enableSni: true }, 'rs.test')).ok, false);
});

test('SSL_GET against the plain HTTP port fails as a TLS error; HTTP_GET against the TLS port gets 400', async () => {
  failed(await httpProbe({ address: '127.0.0.1', port: nginx.httpPort }, { tls: true, connectTimeoutMs: 2000, urls: [{ path: '/' }] }), 'tls');
  assert.match(
    failed(await httpProbe({ address: '127.0.0.1', port: nginx.httpsPort }, { connectTimeoutMs: 2000, urls: [{ path: '/' }] }), 'status'),
    /status 400/,
  );
});
