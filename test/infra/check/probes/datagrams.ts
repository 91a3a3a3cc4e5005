/**
 * Helpers for the UDP_CHECK and DNS_CHECK tests: an in-process dgram server on
 * loopback that answers as told (or not at all), a UDP port nobody listens on,
 * and socat as a real UDP echo server, started and stopped by its PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { pollUntil, within } from '../../../../lab/run.js';

export interface DgramServer {
  port: number;
  /** every datagram received */
  received: Buffer[];
  close(): Promise<void>;
}

/** A UDP server on `host` calling `reply` per datagram; a returned buffer (or several) is sent back. */
export async function dgramServer(reply: (msg: Buffer, from: RemoteInfo) => Buffer | Buffer[] | undefined, host = '127.0.0.1'): Promise<DgramServer> {
  const sock: Socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const received: Buffer[] = [];
  sock.on('message', (msg, from) => {
    received.push(msg);
    const out = reply(msg, from);
    for (const b of out === undefined ? [] : Array.isArray(out) ? out : [out]) sock.send(b, from.port, from.address);
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, host, () => resolve());
  });
  return { port: sock.address().port, received, close: () => new Promise<void>((r) => sock.close(() => r())) };
}

/** A UDP port on `host` that was free a moment ago (bound, then released). */
export async function closedUdpPort(host = '127.0.0.1'): Promise<number> {
  const s = await dgramServer(() => undefined, host);
  await s.close();
  return s.port;
}

export interface Socat {
  pid: number;
  port: number;
  /**
   * Resolves once no child of socat is left. A child keeps the listening socket
   * open and can take a datagram from another peer, so a probe sent while one
   * lingers may get no echo (a rare CI failure); `-T` ends a child 0.1 s after
   * its echo.
   */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * socat echoing every datagram back (UDP-RECVFROM with fork: one child per datagram).
 * The port was free a moment ago; should something take it meanwhile, socat exits
 * and the next attempt picks another port. socat's own words come with the error.
 */
export async function socatUdpEcho(host = '127.0.0.1'): Promise<Socat> {
  const failures: string[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const started = await startSocat(host);
    if ('pid' in started) return started;
    failures.push(started.error);
  }
  throw new Error(`socat UDP echo did not start: ${failures.join(' | ')}`);
}

async function startSocat(host: string): Promise<Socat | { error: string }> {
  const port = await closedUdpPort(host);
  const family = host.includes(':') ? 'UDP6' : 'UDP4';
  const bindHost = host.includes(':') ? `[${host}]` : host;
  const child: ChildProcess = spawn('/usr/bin/socat', ['-T', '0.1', `${family}-RECVFROM:${port},bind=${bindHost},reuseaddr,fork`, 'PIPE'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  if (child.pid === undefined) return { error: 'cannot spawn /usr/bin/socat' };
  const pid = child.pid;
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => void (stderr.length < 4096 && (stderr += d.toString())));
  let exitedWith: string | undefined;
  const exited = new Promise<void>((r) =>
    child.once('exit', (code, signal) => {
      exitedWith = `exit ${code ?? signal}`;
      r();
    }),
  );
  // socat is ready once its port is taken: binding it ourselves fails then.
  const ready = await pollUntil(async () => {
    if (exitedWith !== undefined) return false;
    const probe = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const taken = await new Promise<boolean>((resolve) => {
      probe.once('error', () => resolve(true));
      probe.bind(port, host, () => resolve(false));
    });
    await new Promise<void>((r) => probe.close(() => r()));
    return taken ? true : undefined;
  }, 5000);
  const stop = async (): Promise<void> => {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    if ((await within(exited, 3000)) === 'timeout') {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  };
  if (ready !== true || exitedWith !== undefined) {
    await stop();
    return { error: `${host}:${port}: ${exitedWith ?? 'not bound within 5 s'}${stderr ? `: ${stderr.trim()}` : ''}` };
  }
  const idle = async (): Promise<void> => {
    const gone = await pollUntil(async () => (childrenOf(pid).length === 0 ? true : undefined), 3000);
    if (gone !== true) throw new Error(`socat ${pid}: children ${childrenOf(pid).join(' ')} still running after 3 s`);
  };
  return { pid, port, idle, stop };
}

function childrenOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}
