// Real sockets on loopback only: the endpoint's routing, read-only methods and
// credentials, and the settings the command line and the config resolve to.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../../core/logger.js';
import { isLoopbackHost, parseListenAddress } from '../../../config/http-listen.js';
import { HttpSchema } from '../../../config/model.js';
import { httpAuthOf, loadHttpAuth } from '../../../infra/http/auth.js';
import { HttpEndpoint } from '../../../infra/http/endpoint.js';
import { httpEndpointSettings } from '../../../daemon/http-endpoint.js';

const SECRET = 's3cret-token-4711';
const logged: string[] = [];
const log = createLogger({
  level: 'debug',
  destination: new Writable({
    write(chunk: Buffer, _enc, done) {
      logged.push(chunk.toString());
      done();
    },
  }),
});
const dir = mkdtempSync(join(tmpdir(), 'vfmet-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const routes = {
  '/ok': () => ({ status: 200, contentType: 'text/plain', body: 'fine\n' }),
  '/boom': () => {
    throw new Error(`internal detail ${SECRET}`);
  },
};

async function serve(auth: ReturnType<typeof httpAuthOf> | null) {
  const r = await HttpEndpoint.listen({ listen: { host: '127.0.0.1', port: 0 }, auth, routes, log });
  assert.ok(r.ok);
  return { endpoint: r.endpoint, url: (path: string) => `http://127.0.0.1:${r.endpoint.address.port}${path}` };
}

describe('listen addresses', () => {
  test('parses IPv4, bracketed IPv6, localhost and all-addresses; refuses the rest with a reason', () => {
    assert.deepEqual(parseListenAddress('127.0.0.1:9650'), { host: '127.0.0.1', port: 9650 });
    assert.deepEqual(parseListenAddress('[::1]:9650'), { host: '::1', port: 9650 });
    assert.deepEqual(parseListenAddress('localhost:80'), { host: '127.0.0.1', port: 80 });
    assert.deepEqual(parseListenAddress(':9650'), { host: '::', port: 9650 });
    for (const bad of ['9650', '127.0.0.1', '127.0.0.1:0', '127.0.0.1:70000', 'example.com:80', '::1:9650', '[::1]9650'])
      assert.equal(typeof parseListenAddress(bad), 'string', bad);
    assert.ok(isLoopbackHost('127.0.0.1') && isLoopbackHost('127.3.0.1') && isLoopbackHost('::1') && isLoopbackHost('::ffff:127.0.0.1'));
    assert.ok(!isLoopbackHost('::') && !isLoopbackHost('0.0.0.0') && !isLoopbackHost('198.18.0.1'));
  });

  test('the config refuses an endpoint off loopback without authFile, and a malformed address', () => {
    assert.ok(HttpSchema.safeParse({ listen: '127.0.0.1:9650' }).success);
    assert.ok(HttpSchema.safeParse({ listen: '198.18.0.1:9650', authFile: 'token' }).success);
    const off = HttpSchema.safeParse({ listen: '198.18.0.1:9650' });
    assert.ok(!off.success);
    assert.deepEqual(off.error.issues[0]?.path, ['authFile']);
    assert.ok(!HttpSchema.safeParse({ listen: 'nowhere' }).success);
  });

  test('--http replaces vipflow.http.listen; a config authFile is relative to the config file', () => {
    assert.equal(httpEndpointSettings({}, undefined, '/etc/x.conf'), undefined);
    assert.deepEqual(httpEndpointSettings({}, { listen: '198.18.0.1:9650', authFile: 'token' }, '/etc/vipflow/x.conf'), {
      listen: { host: '198.18.0.1', port: 9650 },
      authFile: '/etc/vipflow/token',
    });
    assert.deepEqual(httpEndpointSettings({ http: '[::1]:1' }, { listen: '198.18.0.1:9650' }, '/x'), { listen: { host: '::1', port: 1 } });
    assert.match(String(httpEndpointSettings({ http: '0.0.0.0:9650' }, undefined, '/x')), /refusing to serve HTTP on 0\.0\.0\.0:9650 without credentials/);
    assert.match(String(httpEndpointSettings({ authFile: 't' }, undefined, '/x')), /needs --http \(or vipflow\.http\.listen\)/);
    // worker and fleet have no config file: only --http turns the endpoint on.
    assert.equal(httpEndpointSettings({ authFile: 't' }, undefined, null), '--http-auth-file needs --http');
  });
});

describe('credentials', () => {
  test('a bearer token; user:password also as basic auth; anything else refused', () => {
    const bearer = httpAuthOf(SECRET);
    assert.deepEqual(bearer.kinds, ['bearer']);
    assert.ok(bearer.allows(`Bearer ${SECRET}`));
    assert.ok(bearer.allows(`bearer ${SECRET}`));
    for (const h of [undefined, '', `Bearer ${SECRET}x`, `Bearer ${SECRET.slice(1)}`, `Basic ${Buffer.from(SECRET).toString('base64')}`, SECRET])
      assert.ok(!bearer.allows(h), String(h));
    const basic = httpAuthOf('ops:pa:ss');
    assert.deepEqual(basic.kinds, ['bearer', 'basic']);
    assert.ok(basic.allows(`Basic ${Buffer.from('ops:pa:ss').toString('base64')}`));
    assert.ok(!basic.allows(`Basic ${Buffer.from('ops:pass').toString('base64')}`));
  });

  test('the file: first line trimmed; empty or missing refused with the path, never the content', () => {
    const f = join(dir, 'token');
    writeFileSync(f, `  ${SECRET}  \nignored\n`, { mode: 0o600 });
    const ok = loadHttpAuth(f);
    assert.ok(ok.ok && ok.auth.allows(`Bearer ${SECRET}`) && !ok.auth.worldReadable);
    writeFileSync(join(dir, 'empty'), '\n');
    const empty = loadHttpAuth(join(dir, 'empty'));
    assert.ok(!empty.ok && /is empty/.test(empty.message));
    const missing = loadHttpAuth(join(dir, 'nope'));
    assert.ok(!missing.ok && /ENOENT/.test(missing.message));
  });
});

describe('the endpoint', () => {
  test('off loopback without credentials it refuses to start', async () => {
    const r = await HttpEndpoint.listen({ listen: { host: '0.0.0.0', port: 0 }, auth: null, routes, log });
    assert.ok(!r.ok);
    assert.match(r.message, /refusing to serve HTTP on 0\.0\.0\.0:0 without credentials/);
  });

  test('on loopback without credentials: GET and HEAD answer, other methods 405, unknown paths 404, errors a bare 500', async () => {
    const { endpoint, url } = await serve(null);
    try {
      const ok = await fetch(url('/ok?x=1'));
      assert.equal(ok.status, 200);
      assert.equal(await ok.text(), 'fine\n');
      const head = await fetch(url('/ok'), { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(await head.text(), '');
      const post = await fetch(url('/ok'), { method: 'POST', body: 'x' });
      assert.equal(post.status, 405);
      assert.equal(post.headers.get('allow'), 'GET, HEAD');
      assert.equal((await fetch(url('/nope'))).status, 404);
      assert.equal((await fetch(url('/constructor'))).status, 404, 'no object prototype key is a route');
      const boom = await fetch(url('/boom'));
      assert.equal(boom.status, 500);
      assert.equal(await boom.text(), 'internal error\n');
    } finally {
      await endpoint.close();
    }
  });

  test('with credentials: none or wrong get 401 with a challenge, the right ones 200; the secret is in no answer and no log line', async () => {
    logged.length = 0;
    const { endpoint, url } = await serve(httpAuthOf(SECRET));
    try {
      const none = await fetch(url('/ok'));
      assert.equal(none.status, 401);
      assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer realm="vipflow"$/);
      const wrong = await fetch(url('/ok'), { headers: { authorization: 'Bearer not-it' } });
      assert.equal(wrong.status, 401);
      const wrongBody = await wrong.text();
      const right = await fetch(url('/ok'), { headers: { authorization: `Bearer ${SECRET}` } });
      assert.equal(right.status, 200);
      assert.equal((await fetch(url('/nope'))).status, 401, 'even 404s need credentials');
      const boom = await fetch(url('/boom'), { headers: { authorization: `Bearer ${SECRET}` } });
      const boomBody = await boom.text();
      for (const body of [wrongBody, boomBody]) assert.ok(!body.includes(SECRET));
      assert.ok(logged.some((l) => l.includes('http request without valid credentials')));
      assert.ok(logged.some((l) => l.includes('http request failed')));
      // The thrown error carries the secret in this test; the log shows the error (the caller's), never a header.
      assert.ok(!logged.some((l) => l.includes('not-it')), 'a presented token is never logged');
    } finally {
      await endpoint.close();
    }
  });
});

describe('server-sent events', () => {
  test('a stream path sends each message as an event and unsubscribes when the client leaves', async () => {
    let subscribed = 0;
    let unsubscribed = 0;
    const r = await HttpEndpoint.listen({
      listen: { host: '127.0.0.1', port: 0 },
      auth: null,
      routes: {},
      streams: {
        '/live': (send) => {
          subscribed++;
          send('{"n":1}');
          send('two\nlines');
          return () => void unsubscribed++;
        },
      },
      log,
    });
    assert.ok(r.ok);
    try {
      const controller = new AbortController();
      const res = await fetch(`http://127.0.0.1:${r.endpoint.address.port}/live`, { signal: controller.signal });
      assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
      const reader = res.body!.getReader();
      let text = '';
      for (let i = 0; i < 10 && !text.includes('lines\n\n'); i++) text += new TextDecoder().decode((await reader.read()).value);
      assert.equal(text, 'data: {"n":1}\n\ndata: two\ndata: lines\n\n');
      assert.equal(subscribed, 1);
      controller.abort();
      for (let i = 0; i < 50 && unsubscribed === 0; i++) await new Promise((w) => setTimeout(w, 10));
      assert.equal(unsubscribed, 1);
    } finally {
      await r.endpoint.close();
    }
  });
});
