/**
 * A real nginx on loopback (no namespace) for the nginx notifier tests and bench/nginx-reload.ts: its own
 * temp dir (config, pid, logs), a free port on 127.0.0.1, `daemon off` so the
 * spawned PID is the master, stopped by that PID. `/version` answers with the
 * version written into the config, so a test can tell which configuration serves.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, portOpen } from '../infra/events/local-nats.js';
import { privateNginxConf } from './nginx.js';

export interface LocalNginx {
  pid: number;
  dir: string;
  conf: string;
  pidFile: string;
  port: number;
  url(path: string): string;
  /** Rewrites the config to serve `version`; nginx is not told. */
  writeConfig(version: string, variant?: ConfVariant): void;
  stop(): Promise<void>;
}

export interface ConfVariant {
  /** An unknown directive: `nginx -t` refuses the file. */
  broken?: boolean;
  /** A second listen address: `nginx -t` does not bind, so a taken one fails only at reload. */
  alsoListen?: string;
}

/** nginx.conf text for an instance rooted at `dir`, serving `version` on /version. */
export function nginxConf(dir: string, listen: string, version: string, variant: ConfVariant = {}): string {
  return privateNginxConf(
    dir,
    64,
    `    listen ${listen};
${variant.alsoListen ? `    listen ${variant.alsoListen};\n` : ''}    location = /version { default_type text/plain; return 200 "${version}\\n"; }
    location / { default_type text/plain; return 200 "ok\\n"; }
${variant.broken ? '    not_a_directive on;\n' : ''}`,
  );
}

export async function startLocalNginx(version = 'v1'): Promise<LocalNginx> {
  const dir = mkdtempSync(join(tmpdir(), 'vipflow-nginx-'));
  // Workers drop to an unprivileged user; they only need to walk into the dir.
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'tmp'));
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  const writeConfig = (v: string, variant: ConfVariant = {}) => writeFileSync(conf, nginxConf(dir, `127.0.0.1:${port}`, v, variant));
  writeConfig(version);
  const { pid, stop } = await spawnNginx(dir, conf, [port]);
  return { pid, dir, conf, pidFile: join(dir, 'nginx.pid'), port, url: (p) => `http://127.0.0.1:${port}${p}`, writeConfig, stop };
}

/**
 * Starts `nginx -c conf -p dir` in the foreground of this process and waits
 * (up to 5 s) until every port listens on 127.0.0.1. `stop` ends it by its PID
 * and removes `dir`. Throws with nginx's stderr when it does not come up.
 */
export async function spawnNginx(dir: string, conf: string, ports: readonly number[]): Promise<{ pid: number; stop: () => Promise<void> }> {
  const child: ChildProcess = spawn('nginx', ['-c', conf, '-p', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (c: string) => void (stderr.length < 10_000 && (stderr += c)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const pid = child.pid;
  const stop = async () => {
    if (pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    rmSync(dir, { recursive: true, force: true });
  };
  const end = Date.now() + 5000;
  for (;;) {
    const open = await Promise.all(ports.map((p) => portOpen(p)));
    if (open.every(Boolean)) break;
    if (pid === undefined || child.exitCode !== null || Date.now() > end) {
      await stop();
      throw new Error(`nginx did not listen on 127.0.0.1:${ports.join(', ')}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { pid: pid!, stop };
}
