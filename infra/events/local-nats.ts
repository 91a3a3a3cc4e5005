/**
 * A local nats-server (Debian 2.9.10) for tests and benchmarks: JetStream on
 * loopback, a temp store dir, a free port. Stopped by its PID only; restartable on
 * the same port and store.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NatsServer {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  /** Starts it again after stop(), on the same port and store. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** SIGKILL, as a crash: no goodbye to its clients or its cluster (a graceful stop tells pulls "server shutdown"). */
  kill(): Promise<void>;
  /** stop() and remove the store dir. */
  dispose(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface NatsServerSettings {
  /** A nats-server configuration file (auth, TLS); the port, address, store and JetStream still come from here. */
  configFile?: string;
  /** Its environment: a configuration's $VARIABLES not defined in the file are read from it. */
  env?: Record<string, string>;
  port?: number;
}

export async function startNatsServer(settings: NatsServerSettings = {}): Promise<NatsServer> {
  const port = settings.port ?? (await freePort());
  const storeDir = mkdtempSync(join(tmpdir(), 'vipflow-nats-'));
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  const server: NatsServer = {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    async start() {
      if (child) return;
      const args = [...(settings.configFile ? ['-c', settings.configFile] : []), '-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir];
      const env = settings.env ? { ...process.env, ...settings.env } : process.env;
      const c = spawn('nats-server', args, { stdio: ['ignore', 'ignore', 'pipe'], env });
      let log = '';
      c.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
      child = c;
      exited = new Promise((r) => c.once('exit', () => r()));
      c.once('exit', () => {
        if (child === c) child = null;
      });
      for (let i = 0; i < 100; i++) {
        if (/Server is ready/.test(log) && (await portOpen(port))) return;
        if (child !== c) throw new Error(`nats-server exited:\n${log}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`nats-server did not start:\n${log}`);
    },
    async stop() {
      const c = child;
      if (!c || c.pid === undefined) return;
      process.kill(c.pid, 'SIGTERM');
      const t = setTimeout(() => c.pid !== undefined && c.exitCode === null && process.kill(c.pid, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
    async kill() {
      const c = child;
      if (!c || c.pid === undefined) return;
      process.kill(c.pid, 'SIGKILL');
      await exited;
    },
    async dispose() {
      await server.stop();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
