/**
 * The control socket: a Unix socket in the state dir through which
 * `vipflow status` asks the running daemon. One request line, one JSON
 * response, then the connection closes. Only root (the socket's owner) can
 * connect: the socket is created with mode 0600.
 */
import { chmodSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import type { Logger } from '../../core/logger.js';

export interface ControlHandlers {
  status(): unknown;
}

const MAX_REQUEST = 4096;

export class ControlServer {
  private constructor(
    private readonly server: Server,
    private readonly path: string,
  ) {}

  static listen(path: string, log: Logger, handlers: ControlHandlers): Promise<ControlServer> {
    // A stale socket from a crashed run would make listen fail with EADDRINUSE;
    // the pid-file check has already ruled out a live daemon on this state dir.
    rmSync(path, { force: true });
    const server = createServer((conn) => {
      let buf = '';
      conn.setEncoding('utf8');
      conn.setTimeout(5000, () => conn.destroy());
      conn.on('error', () => conn.destroy());
      conn.on('data', (chunk: string) => {
        buf += chunk;
        if (buf.length > MAX_REQUEST) {
          conn.end(JSON.stringify({ ok: false, error: 'request too long' }) + '\n');
          return;
        }
        const nl = buf.indexOf('\n');
        if (nl < 0) return;
        const command = buf.slice(0, nl).trim();
        void (async () => {
          let reply: unknown;
          try {
            // A status may read kernel counters: it is awaited, bounded by its own handler.
            reply = command === 'status' ? { ok: true, status: await handlers.status() } : { ok: false, error: `unknown command '${command}'` };
          } catch (err) {
            log.error({ err }, 'control request failed');
            reply = { ok: false, error: 'internal error' };
          }
          if (!conn.destroyed) conn.end(JSON.stringify(reply) + '\n');
        })();
      });
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        chmodSync(path, 0o600);
        resolve(new ControlServer(server, path));
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => {
        rmSync(this.path, { force: true });
        resolve();
      });
    });
  }
}

/** Sends one command to a daemon's control socket; resolves to the parsed reply. */
export function controlRequest(path: string, command: string, timeoutMs = 3000): Promise<{ ok: boolean; status?: unknown; error?: string }> {
  return new Promise((resolve, reject) => {
    const conn = createConnection(path);
    let buf = '';
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error(`no answer from ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(command + '\n'));
    conn.on('data', (c: string) => (buf += c));
    conn.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    conn.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buf) as { ok: boolean; status?: unknown; error?: string });
      } catch {
        reject(new Error(`malformed answer from ${path}`));
      }
    });
  });
}
