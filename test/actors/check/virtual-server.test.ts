/** A virtual server: quorum crossings with hysteresis (once each, no flapping in the band), sorry server, ha_suspend, omega. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addressChanged,
  checkerChanged,
  initialRealServer,
  initialVirtualServer,
  realServerEntry,
  reweigh,
  shutdown,
  sorryServerEntry,
  type RealServerView,
  type VirtualServerCommand,
  type VirtualServerRules,
  type VirtualServerState,
} from '../../../actors/check/index.js';

function servers(weights: number[], inhibit = false): RealServerView[] {
  return weights.map((weight, i) => {
    const rules = { id: `rs${i}`, weight, inhibitOnFailure: inhibit, checkers: [{ id: `c${i}`, alpha: false, miscDynamic: false }] };
    return { rules, state: initialRealServer(rules) };
  });
}

function setAlive(rss: RealServerView[], i: number, up: boolean): void {
  const rs = rss[i]!;
  rss[i] = { rules: rs.rules, state: checkerChanged(rs.rules, rs.state, `c${i}`, up).state };
}

const vsRules = (over: Partial<VirtualServerRules> = {}): VirtualServerRules => ({
  id: 'vs',
  quorum: 3,
  hysteresis: 1,
  sorryServer: undefined,
  omega: false,
  haSuspend: false,
  ...over,
});

const types = (cmds: VirtualServerCommand[]) => cmds.map((c) => c.type);

test('quorum with hysteresis: lost below quorum - hysteresis, regained at quorum + hysteresis, each crossing once', () => {
  const r = vsRules({ quorum: 3, hysteresis: 1 });
  const rss = servers([1, 1, 1, 1, 1]); // live weight 5
  let step = initialVirtualServer(r, rss);
  assert.deepEqual(types(step.commands), ['quorum-up']);
  let s: VirtualServerState = step.state;
  const fired: string[] = [];
  // Down one by one: 4, 3, 2 (still >= 2 = quorum - hysteresis), 1 (lost).
  for (const i of [0, 1, 2, 3]) {
    setAlive(rss, i, false);
    step = reweigh(r, s, rss);
    s = step.state;
    fired.push(...types(step.commands).map((t) => `${t}@${5 - i - 1}`));
  }
  assert.deepEqual(fired, ['quorum-down@1']);
  fired.length = 0;
  // Up again: 2, 3 (inside the band, still down), 4 (>= quorum + hysteresis: gained).
  for (const i of [0, 1, 2]) {
    setAlive(rss, i, true);
    step = reweigh(r, s, rss);
    s = step.state;
    fired.push(...types(step.commands).map((t) => `${t}@${i + 2}`));
  }
  assert.deepEqual(fired, ['quorum-up@4']);
});

test('no flapping inside the band: oscillating between quorum - hysteresis and quorum + hysteresis - 1 fires nothing', () => {
  const r = vsRules({ quorum: 3, hysteresis: 1 });
  const rss = servers([1, 1, 1]);
  let s = initialVirtualServer(r, rss).state; // weight 3, up
  const fired: string[] = [];
  for (let k = 0; k < 6; k++) {
    setAlive(rss, 0, k % 2 === 1); // weight 2, 3, 2, 3 ...
    const step = reweigh(r, s, rss);
    s = step.state;
    fired.push(...types(step.commands));
  }
  assert.deepEqual(fired, []);
});

test('sorry server: put in when quorum is lost (not just when no server is alive), taken out when it is regained', () => {
  const r = vsRules({ quorum: 2, hysteresis: 0, sorryServer: { inhibit: false } });
  const rss = servers([1, 1]);
  let s = initialVirtualServer(r, rss).state;
  assert.equal(sorryServerEntry(r, s)?.present, false);
  setAlive(rss, 0, false); // one server still alive, but weight 1 < quorum 2
  let step = reweigh(r, s, rss);
  s = step.state;
  assert.deepEqual(types(step.commands), ['sorry-server-in', 'quorum-down']);
  assert.deepEqual(sorryServerEntry(r, s), { present: true, weight: 1 });
  // the live server is withdrawn while the sorry server stands in (perform_quorum_state)
  assert.deepEqual(realServerEntry(s, rss[1]!), { present: false });
  setAlive(rss, 0, true);
  step = reweigh(r, s, rss);
  s = step.state;
  assert.deepEqual(types(step.commands), ['sorry-server-out', 'quorum-up']);
  assert.deepEqual(realServerEntry(s, rss[1]!), { present: true, weight: 1 });
});

test('at start: no quorum with a sorry server puts it in (quorum-down, init); without one nothing fires', () => {
  const rss = servers([1]);
  setAlive(rss, 0, false);
  const withSorry = initialVirtualServer(vsRules({ quorum: 1, hysteresis: 0, sorryServer: { inhibit: true } }), rss);
  assert.deepEqual(types(withSorry.commands), ['sorry-server-in', 'quorum-down']);
  assert.equal(
    withSorry.commands.every((c) => !('init' in c) || c.init),
    true,
  );
  assert.deepEqual(types(initialVirtualServer(vsRules({ quorum: 1, hysteresis: 0 }), rss).commands), []);
});

test('sorry_server_inhibit keeps the sorry server in the pool at weight 0 while not needed', () => {
  const r = vsRules({ quorum: 1, hysteresis: 0, sorryServer: { inhibit: true } });
  const s = initialVirtualServer(r, servers([1])).state;
  assert.deepEqual(sorryServerEntry(r, s), { present: true, weight: 0 });
});

test('a live server with weight 0 adds nothing to the quorum weight', () => {
  const r = vsRules({ quorum: 1, hysteresis: 0 });
  const step = initialVirtualServer(r, servers([0, 0]));
  assert.deepEqual(types(step.commands), []);
  assert.equal(step.state.quorumUp, false);
});

test('ha_suspend: checkers stop when the last copy of the VIP goes, resume when one comes back (update_checker_activity)', () => {
  const r = vsRules({ haSuspend: true });
  let s = initialVirtualServer(r, servers([5])).state;
  const seen: string[] = [];
  for (const added of [true, true, false, false, true]) {
    const step = addressChanged(r, s, added);
    s = step.state;
    seen.push(types(step.commands).join() || '-');
  }
  assert.deepEqual(seen, ['resume-checkers', '-', '-', 'suspend-checkers', 'resume-checkers']);
  assert.deepEqual(addressChanged(vsRules({ haSuspend: false }), s, false).commands, []);
});

test('omega: at shutdown the live servers get notify_down and quorum goes down; without omega only the removal', () => {
  const rss = servers([1, 1]);
  setAlive(rss, 1, false);
  const s = initialVirtualServer(vsRules({ quorum: 1, hysteresis: 0 }), rss).state;
  assert.deepEqual(types(shutdown(vsRules({ quorum: 1, hysteresis: 0 }), s, rss).commands), ['remove-all']);
  const omega = shutdown(vsRules({ quorum: 1, hysteresis: 0, omega: true }), s, rss).commands;
  assert.deepEqual(types(omega), ['remove-all', 'notify-rs-down', 'quorum-down']);
  assert.equal(omega.find((c) => c.type === 'notify-rs-down')?.type === 'notify-rs-down' && (omega[1] as { realServer: string }).realServer, 'rs0');
});
