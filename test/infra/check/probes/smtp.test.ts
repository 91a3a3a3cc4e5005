/**
 * SMTP_CHECK: reply lines as pure functions; the probe against a real
 * OpenSMTPD (`smtpd -d -f conf` on 127.0.0.1, in a private mount namespace so
 * its queue and control socket live in tmpfs, stopped by PID), and against
 * node:net servers that misbehave: a 554 banner, no banner, 10 MB of garbage,
 * a bad HELO reply, a multi-line greeting, a close before the QUIT reply, a
 * server trickling bytes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_HELO_NAME, parseReplyLine, smtpProbe } from '../../../../infra/check/probes/smtp.js';
import type { ProbeResult } from '../../../../infra/check/probes/types.js';
import { freePort } from '../../../../infra/events/local-nats.js';
import { pollUntil, within } from '../../../../lab/run.js';
import { rawServer, type RawServer } from './servers.js';

function failed(r: ProbeResult, reason: string): string {
  assert.equal(r.ok, false, `expected a failure, got ${JSON.stringify(r)}`);
  if (r.ok) return '';
  assert.equal(r.reason, reason, r.detail);
  return r.detail;
}

const ok = (r: ProbeResult): string => {
  assert.equal(r.ok, true, JSON.stringify(r));
  return r.ok ? (r.detail ?? '') : '';
};

test('parseReplyLine: a code, then a space, a dash (continuation), or nothing; CR ignored', () => {
  assert.deepEqual(parseReplyLine('220 mx.test ESMTP\r'), { code: 220, last: true, text: 'mx.test ESMTP' });
  assert.deepEqual(parseReplyLine('220-first'), { code: 220, last: false, text: 'first' });
  assert.deepEqual(parseReplyLine('250\r'), { code: 250, last: true, text: '' });
  assert.equal(parseReplyLine('2200 x'), null);
  assert.equal(parseReplyLine('22 x'), null);
  assert.equal(parseReplyLine('hello'), null);
});

/** A scripted SMTP peer: `onLine` answers each line the probe sends. */
function smtpPeer(banner: string | undefined, onLine: (line: string, write: (s: string) => void, end: () => void) => void): Promise<RawServer> {
  return rawServer((s) => {
    s.setEncoding('latin1');
    if (banner !== undefined) s.write(banner);
    let buf = '';
    s.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl + 1);
        buf = buf.slice(nl + 1);
        onLine(
          line,
          (x) => void (s.destroyed || s.write(x)),
          () => s.end(),
        );
      }
    });
  });
}

const polite = (line: string, write: (s: string) => void, end: () => void): void => {
  if (line.startsWith('HELO')) write('250 pleased\r\n');
  else if (line.startsWith('QUIT')) {
    write('221 bye\r\n');
    end();
  }
};

describe('smtpProbe against node:net peers', () => {
  test("a polite peer is up; the probe says HELO with keepalived's default name, or the configured one, then QUIT", async () => {
    const srv = await smtpPeer('220 mx.test ESMTP\r\n', polite);
    try {
      assert.match(ok(await smtpProbe({ address: '127.0.0.1', port: srv.port }, { connectTimeoutMs: 1000 })), /HELO smtpchecker\.keepalived\.org accepted/);
      assert.equal(srv.requests[0], `HELO ${DEFAULT_HELO_NAME}\r\nQUIT\r\n`);
      ok(await smtpProbe({ address: '127.0.0.1', port: 1 }, { connectPort: srv.port, heloName: 'lb1.example', connectTimeoutMs: 1000 }));
      assert.equal(srv.requests[1], 'HELO lb1.example\r\nQUIT\r\n');
    } finally {
      await srv.close();
    }
  });

  test('a multi-line 220 greeting is read to its last line (keepalived would call it a bad banner)', async () => {
    const srv = await smtpPeer('220-mx.test first line\r\n220-second\r\n220 last\r\n', polite);
    try {
      assert.match(ok(await smtpProbe({ address: '127.0.0.1', port: srv.port }, { connectTimeoutMs: 1000 })), /mx\.test first line/);
    } finally {
      await srv.close();
    }
  });

  test('a 554 banner is down before anything is sent', async () => {
    const srv = await smtpPeer('554 no service for you\r\n', polite);
    try {
      assert.match(
        failed(await smtpProbe({ address: '127.0.0.1', port: srv.port }, { connectTimeoutMs: 1000 }), 'smtp'),
        /bad greeting banner: "554 no service for you"/,
      );
      assert.equal(srv.requests[0], '');
    } finally {
      await srv.close();
    }
  });

  test('a bad HELO reply is down; QUIT is never sent', async () => {
    const srv = await smtpPeer('220 mx\r\n', (line, write) => {
      if (line.startsWith('HELO')) write('501 5.5.4 go away\r\n');
    });
    try {
      assert.match(
        failed(await smtpProbe({ address: '127.0.0.1', port: srv.port }, { connectTimeoutMs: 1000 }), 'smtp'),
        /bad HELO response: "501 5\.5\.4 go away"/,
      );
      assert.ok(!srv.requests[0]!.includes('QUIT'));
    } finally {
      await srv.close();
    }
  });

  test('no banner within connect_timeout is down (timeout)', async () => {
    const srv = await smtpPeer(undefined, polite);
    try {
      const t0 = Date.now();
      assert.match(failed(await smtpProbe({ address: '127.0.0.1', port: srv.port }, { connectTimeoutMs: 300 }), 'timeout'), /no reply within 300 ms/);
      assert.ok(Date.now() - t0 < 1500);
    } finally {
      await srv.close();
    }
  });

  test('10 MB of garbage without line ends: down at the 512-byte line limit, without reading it all', async () => {
    let sent = 0;
    const srv = await rawServer((s) => {
      const chunk = Buffer.alloc(64 * 1024, 0x41);
      const pump = (): void => {
        while (sent < 10 * 1024 * 1024 && !s.destroyed) {
          sent += chunk.length;
          if (!s.write(chunk)) return void s.once('drain', pump);
        }
      };
      pump();
    });
    try {
      const before = process.memoryUsage().rss;
      assert.match(failed(await smtpProbe({ address: '127.0.0.1', port: srv.port }, { connectTimeoutMs: 2000 }), 'protocol'), /line longer than 512 bytes/);
      assert.ok(sent < 10 * 1024 * 1024, `the probe hung up early (${sent} bytes offered)`);
      assert.ok(process.memoryUsage().rss - before < 64 * 1024 * 1024);
    } finally {
      await srv.close();
    }
  });

  test('garbage with line ends is not an SMTP reply', async () => {
    const srv = await smtpPeer('SSH-2.0-OpenSSH_9.6\r\n', polite);
    try {
      assert.match(
        failed(await smtpProbe({ address: '127.0.0.1', port: srv.port }, { connectTimeoutMs: 1000 }), 'smtp'),
        /not an SMTP reply: "SSH-2\.0-OpenSSH_9\.6\\r"/,
      );
    } finally {
      await srv.close();
    }
  });

  test('a close instead of the QUIT reply is down, as keepalived reads it', async () => {
    const srv = await smtpPeer('220 mx\r\n', (line, write, end) => {
      if (line.startsWith('HELO')) write('250 ok\r\n');
      else end();
    });
    try {
      assert.match(failed(await smtpProbe({ address: '127.0.0.1', port: srv.port }, { connectTimeoutMs: 1000 }), 'protocol'), /closed the connection/);
    } finally {
      await srv.close();
    }
  });

  test('a server trickling its banner a byte at a time is cut at maxExchangeMs', async () => {
    const timers = new Set<NodeJS.Timeout>();
    const srv = await rawServer((s) => {
      const text = '220 ' + 'x'.repeat(400) + '\r\n';
      let i = 0;
      const t = setInterval(() => {
        if (s.destroyed || i >= text.length) return clearInterval(t);
        s.write(text[i++]!);
      }, 20);
      timers.add(t);
    });
    try {
      const t0 = Date.now();
      assert.match(
        failed(await smtpProbe({ address: '127.0.0.1', port: srv.port }, { connectTimeoutMs: 200, maxExchangeMs: 600 }), 'timeout'),
        /conversation too long/,
      );
      assert.ok(Date.now() - t0 < 1500);
    } finally {
      for (const t of timers) clearInterval(t);
      await srv.close();
    }
  });

  test('refused and aborted', async () => {
    const port = await freePort();
    failed(await smtpProbe({ address: '127.0.0.1', port }, { connectTimeoutMs: 1000 }), 'refused');
    const srv = await smtpPeer(undefined, polite);
    try {
      const ac = new AbortController();
      const p = smtpProbe({ address: '127.0.0.1', port: srv.port }, { connectTimeoutMs: 5000 }, { signal: ac.signal });
      setTimeout(() => ac.abort(), 50);
      failed(await p, 'aborted');
    } finally {
      await srv.close();
    }
  });
});

describe('smtpProbe against OpenSMTPD', () => {
  let dir: string;
  let port: number;
  let pid: number | undefined;
  let exited: Promise<void>;
  let log = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vipflow-smtpd-'));
    port = await freePort();
    const conf = join(dir, 'smtpd.conf');
    writeFileSync(conf, `listen on 127.0.0.1 port ${port} hostname probe.test\naction "local" mbox\nmatch from local for local action "local"\n`, {
      mode: 0o644,
    });
    // smtpd's queue (/var/spool/smtpd) and control socket (/run) are compiled in: give it its own tmpfs for both.
    const child = spawn(
      'unshare',
      ['--mount', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs tmpfs /var/spool && mount -t tmpfs tmpfs /run && exec /usr/sbin/smtpd -d -f ${conf}`],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    pid = child.pid;
    exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.stdout.setEncoding('utf8').on('data', (d: string) => (log += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (log += d));
    const listening = await pollUntil(
      () =>
        new Promise<true | undefined>((resolve) => {
          const s = connect(port, '127.0.0.1');
          s.once('connect', () => {
            s.destroy();
            resolve(true);
          });
          s.once('error', () => resolve(undefined));
        }),
      10_000,
      100,
    );
    if (!listening) throw new Error(`smtpd did not listen on ${port}: ${log}`);
  });
  after(async () => {
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // gone
      }
      if ((await within(exited, 5000)) === 'timeout') process.kill(pid, 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('up: 220 banner, HELO accepted, QUIT answered; smtpd logs the session', async () => {
    const d = ok(await smtpProbe({ address: '127.0.0.1', port }, { heloName: 'lb.vipflow.test', connectTimeoutMs: 3000 }));
    assert.match(d, /220 probe\.test ESMTP OpenSMTPD/);
    const seen = await pollUntil(() => (/smtp disconnected reason=quit/.test(log) ? true : undefined), 3000);
    assert.ok(seen, log);
    assert.ok(readFileSync(join(dir, 'smtpd.conf'), 'utf8').includes(`port ${port}`));
  });

  test('down once smtpd is gone (refused)', async () => {
    process.kill(pid!, 'SIGTERM');
    await within(exited, 5000);
    pid = undefined;
    failed(await smtpProbe({ address: '127.0.0.1', port }, { connectTimeoutMs: 1000 }), 'refused');
  });
});
