/**
 * The addon's sd_notify datagrams, received by socat (a real AF_UNIX datagram
 * receiver) on a socket file and on an abstract socket ('@' in NOTIFY_SOCKET).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pollUntil } from '../../../lab/run.js';
import { sdNotify } from '../../../wire/socket/sd-notify.js';

/** socat receiving datagrams on `address` (UNIX-RECV:path / ABSTRACT-RECV:name) and printing them. */
async function receiver(address: string, ready: () => boolean) {
  const child = spawn('socat', ['-u', address, 'STDOUT'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const up = await pollUntil(async () => (ready() ? true : undefined), 3000, 10);
  return { up, text: () => out, stop: () => child.kill('SIGTERM') };
}

test('sdNotify sends one datagram to a socket file and to an abstract socket', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vf-sdnotify-'));
  const path = join(dir, 'notify.sock');
  const file = await receiver(`UNIX-RECV:${path}`, () => existsSync(path));
  const name = `vf-sdnotify-${process.pid}`;
  // An abstract socket has no file to wait for: retry until socat is bound.
  const abstract = await receiver(`ABSTRACT-RECV:${name}`, () => sdNotify(`@${name}`, 'PROBE=1') === null);
  try {
    assert.ok(file.up && abstract.up, 'socat listening');
    assert.equal(sdNotify(path, 'READY=1\nSTATUS=two lines'), null);
    assert.equal(sdNotify(`@${name}`, 'WATCHDOG=1'), null);
    assert.ok(
      await pollUntil(async () => (file.text() === 'READY=1\nSTATUS=two lines' ? true : undefined), 2000, 10),
      `file socket got ${JSON.stringify(file.text())}`,
    );
    assert.ok(
      await pollUntil(async () => (abstract.text().endsWith('WATCHDOG=1') ? true : undefined), 2000, 10),
      `abstract socket got ${JSON.stringify(abstract.text())}`,
    );
  } finally {
    file.stop();
    abstract.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sdNotify errors are errno names, never exceptions', () => {
  assert.equal(sdNotify('/nonexistent/vf/notify.sock', 'READY=1'), 'ENOENT');
  assert.equal(sdNotify(`@vf-nobody-listens-${process.pid}`, 'READY=1'), 'ECONNREFUSED');
  assert.equal(sdNotify('relative.sock', 'READY=1'), 'EINVAL', 'NOTIFY_SOCKET is absolute or abstract');
  assert.equal(sdNotify('/' + 'x'.repeat(200), 'READY=1'), 'EINVAL', 'longer than sun_path');
});
