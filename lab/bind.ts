/**
 * BIND 9 (`named`) as an authoritative primary for one zone that accepts RFC 2136
 * updates signed with a TSIG key made by `tsig-keygen`; for the DNS notifier's tests.
 * Runs on loopback in the root namespace (no lab needed) or inside a lab node. Every
 * path (config, key, zone, journal, pid, session key) is under its own directory.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { register, release, type CleanupRecord } from './cleanup.js';
import type { Lab, SpawnedProcess } from './lab.js';
import { isAlive, pollUntil, run, runOrThrow, within, type RunResult } from './run.js';

export interface BindOptions {
  /** The address named listens on (IPv4 or IPv6, loopback or a lab node's). */
  address: string;
  port: number;
  /** The zone it serves as primary, e.g. `vipflow.test`. */
  zone: string;
  keyName: string;
  /** Default hmac-sha256. */
  algorithm?: string;
  /** The zone's update-policy rules (default: the key may change any name in the zone). */
  updatePolicy?: string;
  /** Run inside this lab node; default: the root namespace (use a loopback address there). */
  lab?: { lab: Lab; node: string };
}

export interface BindServer {
  pid: number;
  address: string;
  port: number;
  zone: string;
  keyName: string;
  /** The `key "..." { algorithm ...; secret "..."; };` file named includes (mode 0600). */
  keyFile: string;
  /** The key's base64 secret. */
  secret: string;
  dir: string;
  /** `dig +short` answers for name/type, asked from where named runs; rejects when dig fails. */
  dig(name: string, type: 'A' | 'AAAA'): Promise<string[]>;
  /** named's stderr so far (it logs there under -g). */
  log(): string;
  /** SIGTERM, then SIGKILL after a bound; removes its directory when it made one. Idempotent. */
  stop(): Promise<void>;
}

/** A port free for both UDP and TCP on `address` right now (named needs both). */
export async function freePort(address: string): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const udp = createSocket(address.includes(':') ? 'udp6' : 'udp4');
    const port = await new Promise<number>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, address, () => resolve(udp.address().port));
    });
    const tcp = createServer();
    const ok = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(port, address, () => resolve(true));
    });
    udp.close();
    if (ok) await new Promise((r) => tcp.close(r));
    if (ok) return port;
  }
  throw new Error(`no port free for UDP and TCP on ${address} after 20 tries`);
}

/**
 * Writes the config, zone and key, starts `named -g` and resolves once it answers the
 * zone's SOA. Throws with named's log when it exits or does not answer within 10 s.
 */
export async function startBind(o: BindOptions): Promise<BindServer> {
  const algorithm = o.algorithm ?? 'hmac-sha256';
  const ownDir = !o.lab;
  const dir = o.lab ? join(o.lab.lab.dir, `bind-${o.lab.node}`) : mkdtempSync(join(tmpdir(), 'vipflow-bind-'));
  const record: CleanupRecord = { namespaces: new Set(), pids: new Set(), tempDirs: new Set(ownDir ? [dir] : []) };
  if (ownDir) register(record);
  const exec = (cmd: string, args: string[], timeoutMs = 5000): Promise<RunResult> =>
    o.lab ? o.lab.lab.exec(o.lab.node, cmd, args, timeoutMs) : run(cmd, args, timeoutMs);
  const cleanupDir = () => {
    if (!ownDir) return;
    rmSync(dir, { recursive: true, force: true });
    release(record);
  };
  try {
    await runOrThrow('mkdir', ['-p', dir]);
    const keyFile = join(dir, 'tsig.key');
    writeFileSync(keyFile, await runOrThrow('tsig-keygen', ['-a', algorithm, o.keyName]), { mode: 0o600 });
    chmodSync(keyFile, 0o600);
    const secret = /secret\s+"([^"]+)"/.exec(readFileSync(keyFile, 'utf8'))?.[1];
    if (!secret) throw new Error(`tsig-keygen wrote no secret to ${keyFile}`);
    const v6 = o.address.includes(':');
    const zoneFile = join(dir, `${o.zone}.db`);
    writeFileSync(
      zoneFile,
      [`$TTL 60`, `@ IN SOA ns.${o.zone}. hostmaster.${o.zone}. 1 60 60 600 60`, `@ IN NS ns.${o.zone}.`, `ns IN ${v6 ? 'AAAA' : 'A'} ${o.address}`, ''].join(
        '\n',
      ),
    );
    const conf = join(dir, 'named.conf');
    writeFileSync(
      conf,
      `include "${keyFile}";
options {
  directory "${dir}";
  pid-file "${join(dir, 'named.pid')}";
  session-keyfile "${join(dir, 'session.key')}";
  managed-keys-directory "${dir}";
  ${v6 ? `listen-on { none; };\n  listen-on-v6 port ${o.port} { ${o.address}; };` : `listen-on port ${o.port} { ${o.address}; };\n  listen-on-v6 { none; };`}
  recursion no;
  dnssec-validation no;
  notify no;
};
controls { };
zone "${o.zone}" {
  type primary;
  file "${zoneFile}";
  update-policy { ${o.updatePolicy ?? `grant ${o.keyName} zonesub ANY;`} };
};
`,
    );
    // -n 1: one worker thread is plenty, and the test machine's cores are shared.
    const args = ['-g', '-n', '1', v6 ? '-6' : '-4', '-c', conf];
    let proc: SpawnedProcess;
    if (o.lab) proc = o.lab.lab.spawn(o.lab.node, 'named', args);
    else {
      const child = spawn('named', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      if (child.pid === undefined) throw new Error('cannot spawn named');
      const exited = new Promise<number | string>((resolve) => {
        child.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
        child.once('error', () => resolve(-1));
      });
      proc = { pid: child.pid, child, exited };
      record.pids.add(child.pid);
    }
    let log = '';
    proc.child.stderr?.setEncoding('utf8');
    proc.child.stderr?.on('data', (c: string) => {
      if (log.length < 1_000_000) log += c;
    });
    let exit: number | string | undefined;
    void proc.exited.then((v) => {
      exit = v;
      record.pids.delete(proc.pid);
    });
    const dig = async (name: string, type: 'A' | 'AAAA'): Promise<string[]> => {
      const r = await exec('dig', [`@${o.address}`, '-p', String(o.port), '+short', '+time=1', '+tries=1', name, type]);
      if (r.code !== 0) throw new Error(`dig ${name} ${type} failed (${r.code}): ${r.stdout.trim()} ${r.stderr.trim()}`);
      return r.stdout
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
    };
    const up = await pollUntil(
      async () => {
        if (exit !== undefined) return false;
        const r = await exec('dig', [`@${o.address}`, '-p', String(o.port), '+short', '+time=1', '+tries=1', o.zone, 'SOA']);
        return r.code === 0 && r.stdout.trim() !== '' ? true : undefined;
      },
      10_000,
      100,
    );
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      if (exit === undefined && isAlive(proc.pid)) process.kill(proc.pid, 'SIGTERM');
      if ((await within(proc.exited, 5000)) === 'timeout' && isAlive(proc.pid)) {
        process.kill(proc.pid, 'SIGKILL');
        await within(proc.exited, 2000);
      }
      cleanupDir();
    };
    if (up !== true) {
      await stop();
      throw new Error(
        `named did not answer for ${o.zone} on ${o.address}:${o.port} within 10 s (exit ${String(exit)}): ${log.trim().split('\n').slice(-8).join(' | ')}`,
      );
    }
    return { pid: proc.pid, address: o.address, port: o.port, zone: o.zone, keyName: o.keyName, keyFile, secret, dir, dig, log: () => log, stop };
  } catch (e) {
    cleanupDir();
    throw e;
  }
}
