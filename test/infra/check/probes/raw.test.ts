/**
 * TCP_CHECK and HTTP_GET / SSL_GET against node:net servers (and one python
 * listener that never accepts) that refuse, stall, talk garbage or never stop.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { freePort } from '../../../../infra/events/local-nats.js';
import { tcpProbe } from '../../../../infra/check/probes/tcp.js';
import { httpProbe, type HttpProbeOptions } from '../../../../infra/check/probes/http.js';
import type { ProbeResult } from '../../../../infra/check/probes/types.js';
import { md5, onRequest, rawServer, type RawServer } from './servers.js';

const servers: RawServer[] = [];
const children: ChildProcess[] = [];
const clients: Socket[] = [];
after(async () => {
  for (const c of clients) c.destroy();
  for (const c of children) if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) process.kill(c.pid, 'SIGKILL');
  for (const s of servers) await s.close();
});

async function server(onConnection: Parameters<typeof rawServer>[0], host?: string): Promise<RawServer> {
  const s = await rawServer(onConnection, host);
  servers.push(s);
  return s;
}

function failed(r: ProbeResult, reason: string): string {
  assert.equal(r.ok, false, `expected a failure, got ${JSON.stringify(r)}`);
  if (r.ok) return '';
  assert.equal(r.reason, reason, r.detail);
  return r.detail;
}

const get = (port: number, o: Partial<HttpProbeOptions> = {}, signal?: AbortSignal) =>
  httpProbe({ address: '127.0.0.1', port }, { connectTimeoutMs: 1000, urls: [{ path: '/' }], ...o }, signal ? { signal } : {});

/** A response then close, for every connection. */
const answering = (response: string | Buffer) =>
  server((s) =>
    onRequest(s, () => {
      s.end(response);
    }),
  );

test('TCP_CHECK: connects (ok), refused on a closed port', async () => {
  const srv = await server(() => undefined);
  const ok = await tcpProbe({ address: '127.0.0.1', port: srv.port }, { connectTimeoutMs: 1000 });
  assert.equal(ok.ok, true, JSON.stringify(ok));
  const closed = await freePort();
  assert.match(failed(await tcpProbe({ address: '127.0.0.1', port: closed }, { connectTimeoutMs: 1000 }), 'refused'), /connection refused/);
});

test('TCP_CHECK: connect_ip/connect_port replace the real server; bindto/bind_port set the source', async () => {
  const srv = await server(() => undefined);
  const closed = await freePort();
  const bindPort = await freePort();
  const r = await tcpProbe(
    { address: '127.0.0.2', port: closed },
    { connectIp: '127.0.0.1', connectPort: srv.port, bindto: '127.0.0.1', bindPort, connectTimeoutMs: 1000 },
  );
  assert.equal(r.ok, true, JSON.stringify(r));
  const end = Date.now() + 2000;
  while (srv.peers.length === 0 && Date.now() < end) await new Promise((res) => setTimeout(res, 10));
  assert.deepEqual(srv.peers, [`127.0.0.1:${bindPort}`]);
  // without connect_port the real server's (closed) port is used
  failed(await tcpProbe({ address: '127.0.0.1', port: closed }, { connectIp: '127.0.0.1', connectTimeoutMs: 1000 }), 'refused');
});

test('TCP_CHECK: a listener whose accept queue is full times out after connect_timeout', async () => {
  const py = spawn(
    'python3',
    ['-c', "import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(30)"],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  children.push(py);
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('python listener did not start')), 5000);
    py.stdout!.once('data', (d: Buffer) => {
      clearTimeout(t);
      resolve(Number(d.toString().trim()));
    });
  });
  // Fill the accept queue: connect until one does not complete in 300 ms (at most 8).
  for (let i = 0; i < 8; i++) {
    const done = await new Promise<boolean>((resolve) => {
      const c = connect({ host: '127.0.0.1', port });
      clients.push(c);
      c.on('error', () => resolve(false));
      const t = setTimeout(() => resolve(false), 300);
      c.once('connect', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    if (!done) break;
  }
  const started = Date.now();
  const d = failed(await tcpProbe({ address: '127.0.0.1', port }, { connectTimeoutMs: 400 }), 'timeout');
  assert.match(d, /no answer within 400 ms/);
  const took = Date.now() - started;
  assert.ok(took >= 350 && took < 3000, `took ${took} ms`);
  process.kill(py.pid!, 'SIGKILL');
});

test('HTTP_GET: the exact request keepalived sends (request_template, and [::1]:port for IPv6)', async () => {
  const srv = await answering('HTTP/1.0 200 OK\r\n\r\n');
  await get(srv.port);
  await get(srv.port, { httpProtocol: '1.1', virtualhost: 'www.example.test', urls: [{ path: '/health?x=1' }] });
  await get(srv.port, { httpProtocol: '1.0c' });
  assert.deepEqual(srv.requests, [
    `GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:${srv.port}\r\n\r\n`,
    'GET /health?x=1 HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: www.example.test\r\n\r\n',
    `GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: 127.0.0.1:${srv.port}\r\n\r\n`,
  ]);
  const v6 = await server((s) => onRequest(s, () => s.end('HTTP/1.0 200 OK\r\n\r\n')), '::1');
  const r = await httpProbe({ address: '::1', port: v6.port }, { connectTimeoutMs: 1000, urls: [{ path: '/' }] });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(v6.requests[0], `GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: [::1]:${v6.port}\r\n\r\n`);
});

test('HTTP_GET: the digest covers the raw body after the header, at most Content-Length bytes, chunk framing included', async () => {
  const capped = await answering('HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA');
  assert.equal((await get(capped.port, { urls: [{ path: '/', digest: md5('hello') }] })).ok, true);
  assert.match(failed(await get(capped.port, { urls: [{ path: '/', digest: md5('helloEXTRA') }] }), 'digest'), new RegExp(`got ${md5('hello')}`));
  const chunkedBody = '5\r\nhello\r\n0\r\n\r\n';
  const chunked = await answering(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${chunkedBody}`);
  assert.equal((await get(chunked.port, { urls: [{ path: '/', digest: md5(chunkedBody) }] })).ok, true);
  // lower-case content-length is not keepalived's "Content-Length:": the whole body counts
  const lower = await answering('HTTP/1.0 200 OK\r\ncontent-length: 5\r\n\r\nhelloEXTRA');
  assert.equal((await get(lower.port, { urls: [{ path: '/', digest: md5('helloEXTRA') }] })).ok, true);
});

test('HTTP_GET: garbage instead of HTTP: no header end, an unparseable status line, a header over 4095 bytes, silence then close', async () => {
  const garbage = await answering('hello, this is not http\n');
  assert.match(failed(await get(garbage.port), 'protocol'), /no data received/);
  const noReason = await answering('HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n');
  assert.match(failed(await get(noReason.port), 'status'), /no status code in 'HTTP\/1.1 200'/);
  const longHeader = await answering(`HTTP/1.0 200 OK\r\nX-Pad: ${'a'.repeat(5000)}\r\n\r\nbody`);
  assert.match(failed(await get(longHeader.port), 'protocol'), /within the first 4095 bytes/);
  const closes = await server((s) => onRequest(s, () => s.end()));
  assert.match(failed(await get(closes.port), 'protocol'), /no data received/);
});

test('HTTP_GET: a server that never answers times out after connect_timeout; an abort ends the probe at once', async () => {
  const silent = await server(() => undefined);
  let started = Date.now();
  assert.match(failed(await get(silent.port, { connectTimeoutMs: 300 }), 'timeout'), /no data for 300 ms/);
  let took = Date.now() - started;
  assert.ok(took >= 250 && took < 3000, `took ${took} ms`);
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 100);
  started = Date.now();
  failed(await get(silent.port, { connectTimeoutMs: 10_000 }, ac.signal), 'aborted');
  took = Date.now() - started;
  assert.ok(took < 2000, `took ${took} ms`);
});

test('HTTP_GET: an endless 1 GB body is not buffered: the digest stops at the cap, a status-only check stops reading', async () => {
  let written = 0;
  const endless = await server((s) =>
    onRequest(s, () => {
      s.write('HTTP/1.0 200 OK\r\nContent-Length: 1073741824\r\n\r\n');
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const pump = () => {
        while (!s.destroyed && written < 1073741824 && s.write(chunk)) written += chunk.length;
      };
      s.on('drain', pump);
      pump();
    }),
  );
  const rss = process.memoryUsage().rss;
  let started = Date.now();
  const d = failed(await get(endless.port, { maxBodyBytes: 8 * 1024 * 1024, urls: [{ path: '/', digest: md5('x') }] }), 'protocol');
  assert.match(d, /larger than the 8388608-byte cap/);
  assert.ok(Date.now() - started < 10_000);
  started = Date.now();
  const r = await get(endless.port, { maxBodyBytes: 4 * 1024 * 1024 });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.ok(Date.now() - started < 10_000);
  assert.ok(written < 200 * 1024 * 1024, `server wrote ${written} bytes`);
  assert.ok(process.memoryUsage().rss - rss < 200 * 1024 * 1024, 'memory grew by more than 200 MB');
});

test('SSL_GET: a server that accepts and never does TLS times out in the handshake; one that sends garbage is a TLS error', async () => {
  const stall = await server(() => undefined);
  const started = Date.now();
  const d = failed(await get(stall.port, { tls: true, connectTimeoutMs: 400 }), 'timeout');
  assert.match(d, /TLS handshake not complete/);
  assert.ok(Date.now() - started < 3000);
  const garbage = await server((s) => s.end('this is not a TLS server hello\r\n'));
  assert.match(failed(await get(garbage.port, { tls: true }), 'tls'), /TLS handshake/);
});
