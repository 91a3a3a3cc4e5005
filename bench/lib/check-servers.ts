/**
 * Real servers for the checker benchmark, run inside its network namespace:
 * TCP listeners that accept and close (what TCP_CHECK needs) and HTTP servers
 * answering 200 (HTTP_GET), each counting the connections it accepted.
 *
 *   node dist/bench/lib/check-servers.js LIFETIME_MS tcp:ADDR:PORT http:ADDR:PORT ...
 *
 * stdin commands, one a line:
 *   close I    stop listening on the I-th listener (0-based): new connections are refused
 *   count      print the connections accepted so far
 * stdout, one JSON object a line, times as epoch ms:
 *   {"kind":"ready","at":T}
 *   {"kind":"closed","index":I,"at":T}     (at: right after the listening socket closed)
 *   {"kind":"count","connections":N,"at":T}
 * It exits after LIFETIME_MS, or when stdin closes.
 */
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type Server } from 'node:net';
import { createInterface } from 'node:readline';

const now = (): number => performance.timeOrigin + performance.now();
const out = (o: Record<string, unknown>): void => void process.stdout.write(JSON.stringify({ ...o, at: now() }) + '\n');

let connections = 0;

function listener(spec: string): Server {
  const m = /^(tcp|http):(.+):(\d+)$/.exec(spec);
  if (!m) throw new Error(`bad listener ${spec}: tcp:ADDR:PORT or http:ADDR:PORT`);
  const server: Server =
    m[1] === 'tcp'
      ? createTcpServer((s) => {
          s.on('error', () => undefined);
          s.destroy();
        })
      : createHttpServer({ keepAliveTimeout: 1000 }, (_req, res) => {
          res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
          res.end('ok\n');
        });
  server.on('connection', () => void connections++);
  server.on('error', (err) => {
    process.stderr.write(`check-servers ${spec}: ${String(err)}\n`);
    process.exit(1);
  });
  server.listen({ host: m[2], port: Number(m[3]), backlog: 4096 });
  return server;
}

async function main(): Promise<void> {
  const [lifetime, ...specs] = process.argv.slice(2);
  const servers = specs.map(listener);
  await Promise.all(servers.map((s) => (s.listening ? undefined : new Promise((r) => s.once('listening', r)))));
  out({ kind: 'ready' });
  setTimeout(() => process.exit(0), Number(lifetime ?? 600_000)).unref();
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const [cmd, arg] = line.trim().split(/\s+/);
    if (cmd === 'count') out({ kind: 'count', connections });
    else if (cmd === 'close') {
      const i = Number(arg);
      servers[i]?.close();
      out({ kind: 'closed', index: i });
    }
  });
  rl.on('close', () => process.exit(0));
}

main().catch((err: unknown) => {
  process.stderr.write(`check-servers: ${String(err)}\n`);
  process.exit(1);
});
