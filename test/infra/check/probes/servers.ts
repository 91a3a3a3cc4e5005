/**
 * Real servers on loopback for the probe tests: nginx over HTTP and HTTPS (a
 * self-signed certificate made by openssl at test time), started and stopped by
 * its PID; and node:net servers that misbehave on purpose.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../../../infra/events/local-nats.js';
import { privateNginxConf } from '../../../../lab/nginx.js';
import { spawnNginx } from '../../../../lab/local-nginx.js';

export interface ProbeNginx {
  pid: number;
  dir: string;
  root: string;
  httpPort: number;
  httpsPort: number;
  /** md5 hex of a file under the document root */
  md5(file: string): string;
  stop(): Promise<void>;
}

export const md5 = (data: Buffer | string): string => createHash('md5').update(data).digest('hex');

/** A page large enough to take several reads (and nginx's output buffers). */
export function bigPage(): Buffer {
  const lines: string[] = [];
  for (let i = 0; i < 20_000; i++) lines.push(`line ${i} of the big page: ${'x'.repeat(i % 50)}`);
  return Buffer.from(lines.join('\n') + '\nEND-OF-BIG-PAGE\n');
}

export async function startProbeNginx(): Promise<ProbeNginx> {
  const dir = mkdtempSync(join(tmpdir(), 'vipflow-probe-nginx-'));
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'tmp'));
  const root = join(dir, 'html');
  mkdirSync(root);
  chmodSync(root, 0o755);
  writeFileSync(join(root, 'index.html'), '<html><body>vipflow probe test: healthy</body></html>\n');
  writeFileSync(join(root, 'big.txt'), bigPage());
  execFileSync(
    'openssl',
    [
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
      '/CN=probe.test',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore', timeout: 20_000 },
  );
  chmodSync(join(dir, 'key.pem'), 0o644);
  const httpPort = await freePort();
  let httpsPort = await freePort();
  for (let i = 0; i < 5 && httpsPort === httpPort; i++) httpsPort = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    privateNginxConf(
      dir,
      64,
      `    listen 127.0.0.1:${httpPort};
    listen 127.0.0.1:${httpsPort} ssl;
    ssl_certificate ${dir}/cert.pem;
    ssl_certificate_key ${dir}/key.pem;
    root ${root};
    location = /host { default_type text/plain; return 200 "host=$http_host\\n"; }
    location = /sni { default_type text/plain; return 200 "sni=$ssl_server_name\\n"; }
    location = /ua { default_type text/plain; return 200 "ua=$http_user_agent proto=$server_protocol conn=$http_connection\\n"; }
    location = /unavailable { return 503; }
`,
    ),
  );
  const { pid, stop } = await spawnNginx(dir, conf, [httpPort, httpsPort]);
  return { pid, dir, root, httpPort, httpsPort, md5: (f) => md5(readFileSync(join(root, f))), stop };
}

export interface RawServer {
  port: number;
  /** every request's bytes as received, per connection */
  requests: string[];
  /** remote address:port of each connection */
  peers: string[];
  close(): Promise<void>;
}

/** A node:net server on loopback calling `onConnection` for each client; closes every socket on close(). */
export async function rawServer(onConnection: (socket: Socket, server: RawServer) => void, host = '127.0.0.1'): Promise<RawServer> {
  const sockets = new Set<Socket>();
  const srv: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    raw.peers.push(`${s.remoteAddress}:${s.remotePort}`);
    const idx = raw.requests.push('') - 1;
    s.on('data', (d) => {
      if (raw.requests[idx]!.length < 65536) raw.requests[idx] += d.toString('latin1');
    });
    onConnection(s, raw);
  });
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, host, () => resolve());
  });
  const addr = srv.address();
  const raw: RawServer = {
    port: typeof addr === 'object' && addr ? addr.port : 0,
    requests: [],
    peers: [],
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => r());
      }),
  };
  return raw;
}

/** Resolves once the request's header has arrived on `s`. */
export function onRequest(s: Socket, reply: (request: string) => void): void {
  let got = '';
  const onData = (d: Buffer) => {
    got += d.toString('latin1');
    if (got.includes('\r\n\r\n')) {
      s.removeListener('data', onData);
      reply(got);
    }
  };
  s.on('data', onData);
}
