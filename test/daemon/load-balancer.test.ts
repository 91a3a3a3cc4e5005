/**
 * daemon/load-balancer.ts with a recording backend: bursts of health changes
 * coalesce into one apply of the newest state, services the backend cannot run
 * are left out with the rest applied, a refused apply is reported and retried
 * at the next change, lb.applied carries the diff, and stop clears the rules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { loadKeepalivedText } from '../../config/keepalived/index.js';
import { silentLogger } from '../../core/logger.js';
import { LoadBalancer } from '../../daemon/load-balancer.js';
import { planChecks, type CheckPlan } from '../../infra/check/plan.js';
import type { VirtualServerStatus } from '../../infra/check/runner.js';
import type { LbApplyResult, LbBackend, LbState } from '../../infra/lb/model.js';

function plan(text: string): CheckPlan {
  const r = loadKeepalivedText(text, 'lb.conf');
  assert.ok(r.model, JSON.stringify(r.diagnostics));
  return planChecks(r.model);
}

const CONF = `
virtual_server 198.18.0.100 80 {
  protocol TCP
  lb_algo wrr
  real_server 198.18.1.1 80 {
    weight 3
    TCP_CHECK {
    }
  }
  real_server 198.18.1.2 80 {
    weight 1
    TCP_CHECK {
    }
  }
}
virtual_server 198.18.0.100 81 {
  protocol TCP
  lb_algo lblc
  real_server 198.18.1.1 81 {
    TCP_CHECK {
    }
  }
}
`;

function statusOf(p: CheckPlan, alive: Record<string, boolean>): VirtualServerStatus[] {
  return p.virtualServers.map((v) => ({
    id: v.id,
    quorumUp: true,
    liveWeight: 0,
    sorryActive: false,
    suspended: false,
    realServers: v.realServers.map((r) => ({ id: r.id, alive: alive[r.id] ?? true, weight: r.weight, checkers: [] })),
  }));
}

function recorder(refuse?: (s: LbState) => string | null) {
  const applied: LbState[] = [];
  let cleared = 0;
  let release: (() => void) | undefined;
  const backend: LbBackend = {
    name: 'nftables',
    unsupported: (s) => (s.scheduler === 'lblc' ? `${s.id}: lb_algo lblc is not supported by the nftables backend` : null),
    apply: async (desired): Promise<LbApplyResult> => {
      applied.push(desired);
      if (release === undefined) await new Promise<void>((r) => (release = r));
      const why = refuse?.(desired) ?? null;
      const diff = { added: desired.services.map((s) => s.id), removed: [], changed: [] };
      return why === null ? { ok: true, diff, ms: 1 } : { ok: false, error: why, diff };
    },
    counters: () => Promise.resolve([]),
    clear: () => {
      cleared++;
      return Promise.resolve();
    },
  };
  return {
    backend,
    applied,
    cleared: () => cleared,
    open: () => {
      const r = release;
      release = () => undefined;
      r?.();
    },
  };
}

test('a burst of changes is one apply of the newest state; an unsupported service is left out; stop clears', async () => {
  const p = plan(CONF);
  let alive: Record<string, boolean> = {};
  const rec = recorder();
  const events: unknown[] = [];
  const lb = new LoadBalancer({
    log: silentLogger(),
    choice: 'nftables',
    backend: rec.backend,
    snapshot: () => ({ plan: p, status: statusOf(p, alive) }),
    events: () => ({ lbApplied: (d) => void events.push(d) }),
  });
  lb.start();
  alive = { '198.18.0.100:80/198.18.1.2:80': false };
  lb.changed();
  lb.changed();
  rec.open();
  for (let i = 0; i < 10 && rec.applied.length < 1; i++) await tick();
  await tick();
  await tick();
  assert.equal(rec.applied.length, 1, 'three changes in one tick: one apply');
  const [state] = rec.applied;
  assert.deepEqual(
    state!.services.map((s) => [s.id, s.destinations.map((d) => `${d.address}:${d.port}*${d.weight}`)]),
    [['198.18.0.100:80/tcp', ['198.18.1.1:80*3']]],
    'the dead server is out; the lblc service is refused',
  );
  const st = lb.status();
  assert.deepEqual(st.refused, [{ service: '198.18.0.100:81/tcp', why: '198.18.0.100:81/tcp: lb_algo lblc is not supported by the nftables backend' }]);
  assert.equal(st.backend, 'nftables');
  assert.equal(st.services, 1);
  assert.deepEqual(events, [{ backend: 'nftables', ok: true, added: ['198.18.0.100:80/tcp'], removed: [], changed: [], ms: 1 }]);
  await lb.stop();
  assert.equal(rec.cleared(), 1);
  lb.changed();
  await tick();
  assert.equal(rec.applied.length, 1, 'nothing applied after stop');
});

test('a refused apply keeps the previous rules, is reported, and the next change tries again', async () => {
  const p = plan(CONF);
  let refuse = true;
  const rec = recorder(() => (refuse ? 'nft: Error: Could not process rule' : null));
  rec.open();
  const events: { ok: boolean }[] = [];
  const lb = new LoadBalancer({
    log: silentLogger(),
    choice: 'nftables',
    backend: rec.backend,
    snapshot: () => ({ plan: p, status: statusOf(p, {}) }),
    events: () => ({ lbApplied: (d) => void events.push(d) }),
  });
  lb.start();
  for (let i = 0; i < 10 && events.length < 1; i++) await tick();
  assert.deepEqual(lb.status().applies, { ok: 0, failed: 1 });
  assert.equal(lb.status().last?.error, 'nft: Error: Could not process rule');
  assert.equal(lb.status().services, 0, 'nothing counted as applied');
  refuse = false;
  lb.changed();
  for (let i = 0; i < 10 && events.length < 2; i++) await tick();
  assert.deepEqual(
    events.map((e) => e.ok),
    [false, true],
  );
  assert.equal(lb.status().services, 1);
  await lb.stop();
});

test('none: checkers only, no backend, nothing applied', async () => {
  const p = plan(CONF);
  const lb = new LoadBalancer({
    log: silentLogger(),
    choice: 'none',
    snapshot: () => ({ plan: p, status: statusOf(p, {}) }),
    events: () => ({ lbApplied: () => assert.fail('no apply expected') }),
  });
  lb.start();
  lb.changed();
  await tick();
  assert.equal(lb.status().backend, 'none');
  await lb.stop();
});
