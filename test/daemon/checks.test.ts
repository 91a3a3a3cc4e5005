/**
 * daemon/checks.ts on keepalived.conf text, in simulated time with a fake TCP
 * probe: what reaches the event publisher, the notify queue and notify_fifo
 * (keepalived's RS / VS lines), ha_suspend from the host's addresses, the
 * status, and a SIGHUP reload that keeps an unchanged checker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as flush } from 'node:timers/promises';
import { loadKeepalivedText } from '../../config/keepalived/index.js';
import type { VipflowConfig } from '../../config/model.js';
import { silentLogger } from '../../core/logger.js';
import { Checks } from '../../daemon/checks.js';
import type { ProbeResult } from '../../infra/check/probes/index.js';
import type { ProbeTable } from '../../infra/check/runner.js';
import { VirtualClock } from '../../sim/clock.js';

function config(text: string): VipflowConfig {
  const r = loadKeepalivedText(text, 'checks.conf');
  assert.deepEqual(
    r.diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
  return r.model!;
}

const CONF = (extraRs = '') => `
virtual_server 198.18.0.100 80 {
  protocol TCP
  delay_loop 2
  quorum 1
  quorum_down "/bin/true quorum-down"
  real_server 198.18.1.1 80 {
    notify_down "/bin/true rs-down"
    TCP_CHECK {
      connect_timeout 1
      retry 1
      delay_before_retry 1
    }
  }${extraRs}
}
virtual_server 198.18.0.101 443 {
  protocol TCP
  ha_suspend
  delay_loop 2
  real_server 198.18.1.3 443 {
    TCP_CHECK {
      connect_timeout 1
    }
  }
}
`;

function scene(text: string) {
  const clock = new VirtualClock();
  const answers = new Map<string, ProbeResult>();
  const probed: string[] = [];
  const probes: ProbeTable = {
    TCP_CHECK: (target) => {
      probed.push(target.address);
      return Promise.resolve(answers.get(target.address) ?? { ok: true });
    },
  };
  const published: { type: string; data: unknown }[] = [];
  const notified: { fifoLine: string; script: string | undefined; queue: string }[] = [];
  const checks = new Checks({
    log: silentLogger(),
    clock,
    probes,
    events: () => ({ check: (type, data) => void published.push({ type, data }) }),
    notifier: () => ({
      checker: (n) => void notified.push({ fifoLine: n.fifoLine, script: n.script?.command, queue: n.queue }),
      prepareScript: () => ({ ok: true }),
    }),
  });
  checks.start(config(text));
  const until = async (t: number) => {
    while (clock.now() < t) {
      clock.increment(100);
      await flush();
      await flush();
    }
  };
  return { clock, answers, probed, published, notified, checks, until };
}

test('a refused real server: realserver.down with its reason, notify_down and quorum_down run as written, keepalived FIFO lines', async () => {
  const s = scene(CONF());
  assert.deepEqual(s.notified, [
    { fifoLine: 'VS [198.18.0.100]:tcp:80 UP\n', script: undefined, queue: 'vs:198.18.0.100:80' },
    { fifoLine: 'VS [198.18.0.101]:tcp:443 UP\n', script: undefined, queue: 'vs:198.18.0.101:443' },
  ]);
  s.answers.set('198.18.1.1', { ok: false, reason: 'refused', detail: 'connection refused' });
  await s.until(10_000);
  assert.deepEqual(
    s.published.map((p) => p.type),
    ['virtualserver.quorum', 'virtualserver.quorum', 'realserver.down', 'virtualserver.quorum'],
  );
  assert.deepEqual(s.published[2]!.data, {
    virtualServer: '198.18.0.100:80',
    realServer: '198.18.0.100:80/198.18.1.1:80',
    reason: 'refused',
    detail: 'connection refused',
    checker: '198.18.0.100:80/198.18.1.1:80/TCP_CHECK#0',
  });
  assert.deepEqual(s.notified.slice(2), [
    { fifoLine: 'RS [198.18.1.1]:tcp:80 [198.18.0.100]:tcp:80 DOWN\n', script: '/bin/true rs-down', queue: 'rs:198.18.0.100:80/198.18.1.1:80' },
    { fifoLine: 'VS [198.18.0.100]:tcp:80 DOWN\n', script: '/bin/true quorum-down', queue: 'vs:198.18.0.100:80' },
  ]);
  const st = s.checks.status().virtualServers[0]!.realServers[0]!;
  assert.equal(st.alive, false);
  assert.equal(st.checkers[0]!.lastFailure?.reason, 'refused');
  assert.match(st.checkers[0]!.lastFailure!.time, /^\d{4}-\d\d-\d\dT/);
  s.checks.stop();
});

test('ha_suspend: no probe while the virtual address is absent, probes once the host holds it, paused again when it goes', async () => {
  const s = scene(CONF());
  const suspended = () => s.checks.status().virtualServers.find((v) => v.id === '198.18.0.101:443')!.suspended;
  assert.equal(suspended(), true, 'suspended until the addresses are known');
  s.checks.addressesChanged(() => false);
  await s.until(6000);
  assert.equal(s.probed.filter((a) => a === '198.18.1.3').length, 0);
  s.checks.addressesChanged((a) => a === '198.18.0.101');
  assert.equal(suspended(), false);
  await s.until(12_000);
  const n = s.probed.filter((a) => a === '198.18.1.3').length;
  assert.ok(n >= 2, `probes once the VIP is here (${n})`);
  s.checks.addressesChanged(() => false);
  await s.until(20_000);
  assert.equal(s.probed.filter((a) => a === '198.18.1.3').length, n, 'paused again');
  s.checks.stop();
});

test('reload: a new real server starts, the unchanged one keeps its state and probe count', async () => {
  const s = scene(CONF());
  s.checks.addressesChanged(() => true);
  await s.until(8000);
  const before = s.checks.status().virtualServers[0]!.realServers[0]!.checkers[0]!.probes;
  assert.ok(before >= 3);
  s.checks.reload(config(CONF(`\n  real_server 198.18.1.2 80 {\n    TCP_CHECK {\n      connect_timeout 1\n    }\n  }`)));
  const rss = s.checks.status().virtualServers[0]!.realServers;
  assert.deepEqual(
    rss.map((r) => r.id),
    ['198.18.0.100:80/198.18.1.1:80', '198.18.0.100:80/198.18.1.2:80'],
  );
  assert.equal(rss[0]!.checkers[0]!.probes, before, 'kept: same counter');
  assert.equal(rss[1]!.checkers[0]!.probes, 0, 'added: starts fresh');
  assert.equal(s.published.filter((p) => p.type !== 'virtualserver.quorum').length, 0, 'no health event for kept or new servers');
  s.checks.stop();
});
