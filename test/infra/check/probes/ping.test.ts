/**
 * PING_CHECK with real raw ICMP sockets on loopback (127.0.0.0/8 and ::1 answer
 * pings in the kernel), and through CheckRunner with its default probe table.
 * Needs CAP_NET_RAW, like the daemon.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadKeepalivedText } from '../../../../config/keepalived/index.js';
import { silentLogger } from '../../../../core/logger.js';
import { planChecks } from '../../../../infra/check/plan.js';
import { EchoPool } from '../../../../infra/check/probes/echo-channel.js';
import { pingProbe } from '../../../../infra/check/probes/ping.js';
import type { ProbeResult } from '../../../../infra/check/probes/types.js';
import { CheckRunner, type CheckEvent } from '../../../../infra/check/runner.js';
import { systemClock } from '../../../../actors/vrrp/instance.js';

const pool = new EchoPool({ logger: silentLogger(), lingerMs: 1000 });
after(() => pool.close());

const ping = (address: string, o: Parameters<typeof pingProbe>[1] = {}, signal?: AbortSignal): Promise<ProbeResult> =>
  pingProbe({ address, port: 0 }, { pool, connectTimeoutMs: 1000, ...o }, signal ? { signal } : {});

function failed(r: ProbeResult, reason: string): string {
  assert.equal(r.ok, false, `expected a failure, got ${JSON.stringify(r)}`);
  if (r.ok) return '';
  assert.equal(r.reason, reason, r.detail);
  return r.detail;
}

test('127.0.0.1 and ::1 answer an echo request: up, with the round trip in the detail', async () => {
  const v4 = await ping('127.0.0.1');
  assert.equal(v4.ok, true, JSON.stringify(v4));
  assert.match(v4.detail ?? '', /^ping 127\.0\.0\.1: echo reply in \d+\.\d ms$/);
  const v6 = await ping('::1');
  assert.equal(v6.ok, true, JSON.stringify(v6));
  // connect_ip wins over the real server's address
  const viaConnectIp = await pingProbe({ address: '::1', port: 0 }, { pool, connectIp: '127.0.0.3', connectTimeoutMs: 1000 });
  assert.match(viaConnectIp.ok ? (viaConnectIp.detail ?? '') : '', /ping 127\.0\.0\.3/);
});

test('500 concurrent probes to 127.0.0.x and ::1 share two sockets and each gets its own reply', async () => {
  const fresh = new EchoPool({ logger: silentLogger() });
  try {
    const t0 = performance.now();
    const targets = Array.from({ length: 500 }, (_, i) => (i % 5 === 4 ? '::1' : `127.0.${Math.floor(i / 250)}.${(i % 250) + 1}`));
    const results = await Promise.all(targets.map((a) => pingProbe({ address: a, port: 0 }, { pool: fresh, connectTimeoutMs: 3000 })));
    const bad = results.filter((r) => !r.ok);
    assert.deepEqual(bad, []);
    results.forEach((r, i) => assert.match(r.detail ?? '', new RegExp(`^ping ${targets[i]!.replace(/\./g, '\\.')}:`)));
    assert.equal(fresh.sockets, 2);
    console.log(`# 500 concurrent loopback pings in ${Math.round(performance.now() - t0)} ms`);
  } finally {
    fresh.close();
  }
});

test('bindto and bind_if: a local source and lo work; a foreign bindto or an unknown interface fails with the errno', async () => {
  assert.equal((await ping('127.0.0.1', { bindto: '127.0.0.1' })).ok, true);
  assert.equal((await ping('127.0.0.1', { bindIf: 'lo' })).ok, true);
  assert.equal((await ping('::1', { bindto: '::1', bindIf: 'lo' })).ok, true);
  // 192.0.2.1 (TEST-NET-1) is not a local address: bind fails before anything is sent.
  assert.match(failed(await ping('127.0.0.1', { bindto: '192.0.2.1' }), 'connect'), /EADDRNOTAVAIL/);
  assert.match(failed(await ping('127.0.0.1', { bindIf: 'nosuchif0' }), 'connect'), /ENODEV/);
  assert.match(failed(await ping('127.0.0.1', { netns: 'vipflow-no-such-netns' }), 'connect'), /ENOENT/);
});

test('abort before and during a probe', async () => {
  const ac = new AbortController();
  ac.abort();
  failed(await ping('127.0.0.1', {}, ac.signal), 'aborted');
  // The reply from loopback can beat the abort; aborting in the same tick as the send cannot lose.
  const ac2 = new AbortController();
  const p = ping('127.0.0.1', {}, ac2.signal);
  ac2.abort();
  failed(await p, 'aborted');
});

test('keepalived.conf to CheckRunner with its default probes: a PING_CHECK real server on ::1 comes up; bind_if reaches the socket', async () => {
  const loaded = loadKeepalivedText(`
    virtual_server fd00:198:18::100 80 {
      delay_loop 0.2
      alpha
      protocol TCP
      real_server ::1 80 {
        PING_CHECK {
          bind_if lo
          connect_timeout 1
          retry 0
          warmup 0
        }
      }
      real_server 127.0.0.1 80 {
        PING_CHECK {
          bind_if nosuchif0
          connect_timeout 1
          warmup 0
        }
      }
    }
  `);
  assert.deepEqual(loaded.diagnostics, []);
  const plan = planChecks({ virtualServers: loaded.model!.virtualServers, virtualServerGroups: loaded.model!.virtualServerGroups });
  const clock = systemClock;
  const events: CheckEvent[] = [];
  const runner = new CheckRunner(plan, { clock, log: silentLogger(), random: () => 0, listeners: [(e) => events.push(e)] });
  try {
    runner.start();
    const t0 = Date.now();
    const settled = () => events.some((e) => e.type === 'realserver.up') && runner.status()[0]!.realServers[1]!.checkers[0]!.lastFailure !== undefined;
    while (!settled() && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
    assert.ok(
      events.some((e) => e.type === 'realserver.up'),
      JSON.stringify(events),
    );
    assert.equal(
      events.some((e) => e.type === 'checker.unsupported'),
      false,
    );
    const checker = runner.status()[0]!.realServers[0]!.checkers[0]!;
    assert.equal(checker.state, 'up');
    assert.ok(checker.probes >= 1);
    const unbindable = runner.status()[0]!.realServers[1]!;
    assert.equal(unbindable.alive, false);
    assert.match(unbindable.checkers[0]!.lastFailure?.detail ?? '', /ENODEV/);
  } finally {
    runner.stop();
  }
});
