/**
 * Signals that reach `vipflow run` while it is still starting (the instances
 * already run and the HTTP endpoint opens before the stop and reload handlers
 * are in place): the default action would kill the daemon and leave its VIPs on
 * the host. The real daemon runs in a network namespace of its own (`unshare
 * -n`, gone with the process), and gets SIGHUP then SIGTERM at its first log
 * line, long before it has started.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

const CONF = `vrrp_instance VI_1 {
  state MASTER
  interface d0
  virtual_router_id 51
  priority 100
  advert_int 10
  virtual_ipaddress {
    198.18.0.10/32
  }
}
`;

test('SIGHUP and SIGTERM during start: the reload is ignored, the stop waits for the start and exits 0', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vipflow-run-signals-'));
  try {
    const conf = join(dir, 'keepalived.conf');
    writeFileSync(conf, CONF);
    const setup = 'ip link set lo up && ip link add d0 type veth peer name d1 && ip addr add 198.18.0.1/24 dev d0 && ip link set d1 up && ip link set d0 up';
    const run = ['node', MAIN, 'run', '--config', conf, '--state-dir', join(dir, 'state'), '--http', '127.0.0.1:9100'];
    const child = spawn('unshare', ['-n', 'sh', '-c', `${setup} && exec "$@"`, 'sh', ...run], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let signalled = false;
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (signalled) return;
      signalled = true;
      child.kill('SIGHUP');
      child.kill('SIGTERM');
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    clearTimeout(killer);
    assert.ok(signalled, 'the daemon logged something');
    assert.equal(code, 0, `exit by ${code === null ? 'a signal' : `code ${code}`}: ${err.slice(0, 500)}`);
    assert.match(out, /"msg":"stopping"/);
    assert.match(out, /"signal":"SIGTERM"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
