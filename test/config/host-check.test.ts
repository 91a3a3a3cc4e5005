/**
 * The host checks as pure rules over given facts (config/host-check.ts);
 * the same checks against a real namespace: test/lab/host-checks.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkModel } from '../../config/check.js';
import { defineConfig } from '../../config/define.js';
import {
  executableBy,
  hostFindings,
  scriptProgram,
  unrunnableScripts,
  withoutScripts,
  type FileFact,
  type HostFacts,
  type UserFact,
} from '../../config/host-check.js';
import { loadKeepalivedText } from '../../config/keepalived/index.js';

const users: Record<string, UserFact> = { root: { uid: 0, gid: 0, groups: [0] }, alice: { uid: 1000, gid: 1000, groups: [1000, 50] } };
const files: Record<string, FileFact> = {
  '/opt/ok.sh': { mode: 0o755, uid: 0, gid: 0, isFile: true },
  '/opt/rootonly.sh': { mode: 0o700, uid: 0, gid: 0, isFile: true },
  '/opt/group50.sh': { mode: 0o750, uid: 0, gid: 50, isFile: true },
  '/opt/plain.txt': { mode: 0o644, uid: 0, gid: 0, isFile: true },
  '/opt': { mode: 0o755, uid: 0, gid: 0, isFile: false },
};
const host = (interfaces: Record<string, string[]>): HostFacts => ({
  interfaces,
  file: (p) => files[p] ?? { missing: 'no such file' },
  user: (n) => users[n],
});

const text = (model: ReturnType<typeof defineConfig>, facts: HostFacts) => hostFindings(model, facts).map((f) => `${f.severity} ${f.path}: ${f.message}`);

test('a missing interface is an error (keepalived refuses to start), a warning with dynamic_interfaces', () => {
  const m = defineConfig({ vrrpInstances: [{ name: 'A', interface: 'eth9', virtualRouterId: 1, virtualIpaddress: [{ address: '198.18.0.10' }] }] });
  const found = text(m, host({ eth0: ['198.18.0.2/24'] }));
  assert.equal(found.length, 1, found.join('\n'));
  assert.match(found[0]!, /^error vrrpInstances\.0\.interface: interface eth9 for vrrp_instance A does not exist/);
  const dyn = defineConfig({
    global: { dynamicInterfaces: true },
    vrrpInstances: [{ name: 'A', interface: 'eth9', virtualRouterId: 1, virtualIpaddress: [{ address: '198.18.0.10' }] }],
  });
  assert.match(text(dyn, host({}))[0]!, /^warning .*dynamic_interfaces/);
  // default_interface stands in for a missing `interface`
  const byDefault = defineConfig({
    global: { defaultInterface: 'eth7' },
    vrrpInstances: [{ name: 'A', virtualRouterId: 1, virtualIpaddress: [{ address: '198.18.0.10' }] }],
  });
  assert.match(text(byDefault, host({ eth0: [] }))[0]!, /^error vrrpInstances\.0: interface eth7/);
  // so are track_interface and a VIP's dev (keepalived refuses those too)
  const others = defineConfig({
    vrrpInstances: [
      { name: 'A', interface: 'eth0', virtualRouterId: 1, trackInterfaces: [{ name: 'eth5' }], virtualIpaddress: [{ address: '198.18.0.10', dev: 'eth6' }] },
    ],
  });
  assert.deepEqual(
    text(others, host({ eth0: ['198.18.0.2/24'] })).map((f) => f.split(':')[0]),
    ['error vrrpInstances.0.trackInterfaces.0', 'error vrrpInstances.0.virtualIpaddress.0'],
  );
});

test('a VIP outside the subnets warns unless it is a host address (/32, /128 or no prefix)', () => {
  const m = defineConfig({
    vrrpInstances: [
      {
        name: 'A',
        interface: 'eth0',
        virtualRouterId: 1,
        virtualIpaddress: [
          { address: '198.18.0.10', prefix: 24 },
          { address: '198.19.0.10', prefix: 24 },
          { address: '198.19.0.11', prefix: 32 },
          { address: '198.19.0.12' },
          { address: 'fd00:198:18:9::1', prefix: 128 },
          { address: 'fd00:198:18:9::2', prefix: 64 },
        ],
      },
    ],
  });
  const found = text(m, host({ eth0: ['198.18.0.2/24', 'fd00:198:18::2/64'] }));
  assert.deepEqual(
    found.map((f) => f.split(':')[0]),
    ['warning vrrpInstances.0.virtualIpaddress.1', 'warning vrrpInstances.0.virtualIpaddress.5'],
    found.join('\n'),
  );
});

test('priority 255 warns unless the interface holds every VIP', () => {
  const inst = (vips: string[]) =>
    defineConfig({
      vrrpInstances: [{ name: 'A', interface: 'eth0', virtualRouterId: 1, priority: 255, virtualIpaddress: vips.map((address) => ({ address })) }],
    });
  const facts = host({ eth0: ['198.18.0.2/24', '198.18.0.3/24'] });
  assert.deepEqual(text(inst(['198.18.0.2', '198.18.0.3']), facts), []);
  const partial = text(inst(['198.18.0.2', '198.18.0.4']), facts);
  assert.equal(partial.length, 1);
  assert.match(partial[0]!, /^warning vrrpInstances\.0\.priority: priority 255 means address owner/);
});

test('scripts: missing, not a file, not executable by their user; unknown users', () => {
  const m = defineConfig({
    global: { scriptUser: { user: 'alice' }, enableScriptSecurity: true },
    vrrpScripts: [
      { name: 'ok', script: { command: '/opt/ok.sh arg' } },
      { name: 'gone', script: { command: '"/opt/gone.sh" x' } },
      { name: 'rootonly', script: { command: '/opt/rootonly.sh' } },
      { name: 'group', script: { command: '/opt/group50.sh' } },
      { name: 'asroot', script: { command: '/opt/rootonly.sh', user: 'root' } },
      { name: 'ghost', script: { command: '/opt/ok.sh', user: 'ghost' } },
      { name: 'relative', script: { command: 'true' } },
    ],
    vrrpInstances: [
      {
        name: 'A',
        interface: 'eth0',
        virtualRouterId: 1,
        virtualIpaddress: [{ address: '198.18.0.10' }],
        notify: { master: { command: '/opt/plain.txt' }, backup: { command: '/opt' } },
      },
    ],
  });
  const found = text(m, host({ eth0: ['198.18.0.2/24'] }));
  assert.deepEqual(
    found.map((f) => f.split(':')[0]),
    [
      'warning vrrpInstances.0.notify.master',
      'warning vrrpInstances.0.notify.backup',
      'warning vrrpScripts.1.script',
      'warning vrrpScripts.2.script',
      'warning vrrpScripts.5.script',
    ],
    found.join('\n'),
  );
  assert.match(found[2]!, /\/opt\/gone\.sh cannot be accessed \(no such file\)/);
  assert.match(found[3]!, /not executable by alice \(uid 1000\)/);
  assert.match(found[4]!, /user ghost does not exist/);
  const fifo = defineConfig({ global: { vrrpNotifyFifoScript: { command: '/opt/gone.sh' } } });
  assert.match(text(fifo, host({}))[0]!, /^warning global\.vrrpNotifyFifoScript: vrrp_notify_fifo_script: \/opt\/gone\.sh cannot be accessed/);
  const noUser = defineConfig({ global: { scriptUser: { user: 'nobody-here' } } });
  assert.match(text(noUser, host({}))[0]!, /^warning global\.scriptUser: script_user nobody-here does not exist/);
});

test('scripts keepalived finds without enable_script_security: one warning (keepalived -t fails with "SECURITY VIOLATION")', () => {
  const instance = (command: string) => ({
    name: 'A',
    interface: 'eth0',
    virtualRouterId: 1,
    virtualIpaddress: [{ address: '198.18.0.10' }],
    notify: { master: { command } },
  });
  const facts = host({ eth0: ['198.18.0.2/24'] });
  const violation = (found: string[]) => found.filter((f) => f.includes('SECURITY VIOLATION'));
  assert.deepEqual(violation(text(defineConfig({ vrrpInstances: [instance('/opt/gone.sh')] }), facts)), [], 'a missing script is not run');
  assert.equal(violation(text(defineConfig({ vrrpInstances: [instance('/opt/ok.sh')] }), facts)).length, 1);
  assert.equal(violation(text(defineConfig({ vrrpInstances: [instance('logger -t x')] }), facts)).length, 1, 'a bare name is found on PATH');
  const secured = defineConfig({ global: { enableScriptSecurity: true }, vrrpInstances: [instance('/opt/ok.sh')] });
  assert.deepEqual(violation(text(secured, facts)), []);
});

test('without file and user lookups only the interface rules run', () => {
  const m = defineConfig({ vrrpScripts: [{ name: 'gone', script: { command: '/opt/gone.sh' } }] });
  assert.deepEqual(hostFindings(m, { interfaces: {} }), []);
});

test('helpers: the program of a command line, execute permission as the kernel decides it', () => {
  assert.equal(scriptProgram('  /a/b.sh x y'), '/a/b.sh');
  assert.equal(scriptProgram('"/a/b c.sh" x'), '/a/b c.sh');
  assert.equal(scriptProgram("'/a/b.sh'"), '/a/b.sh');
  const f = { mode: 0o754, uid: 1000, gid: 50 };
  assert.equal(executableBy(f, users.root!), true);
  assert.equal(executableBy(f, users.alice!), true);
  assert.equal(executableBy(f, { uid: 2000, gid: 50, groups: [] }), true);
  assert.equal(executableBy(f, { uid: 2000, gid: 60, groups: [] }), false);
  assert.equal(executableBy({ mode: 0o644, uid: 0, gid: 0 }, users.root!), false);
});

test('through the loader: findings carry the keyword positions, and checkModel takes the facts', () => {
  const r = loadKeepalivedText('vrrp_instance V {\n interface eth9\n virtual_router_id 1\n virtual_ipaddress {\n  198.18.0.1\n }\n}\n', 'x.conf', {
    host: host({ eth0: [] }),
  });
  const e = r.diagnostics.find((d) => d.message.includes('eth9'));
  assert.ok(e);
  assert.deepEqual([e.severity, e.file, e.line, e.column], ['error', 'x.conf', 2, 12]);
  assert.equal(r.model, undefined);
  const m = defineConfig({ vrrpInstances: [{ name: 'A', interface: 'eth9', virtualRouterId: 1, virtualIpaddress: [{ address: '198.18.0.10' }] }] });
  assert.equal(checkModel(m, { host: host({ eth0: [] }) }).filter((d) => d.severity === 'error').length, 1);
  assert.equal(checkModel(m).length, 0);
});

test('the scripts keepalived disables, and the model without them and their track_script entries', () => {
  const m = defineConfig({
    global: { scriptUser: { user: 'alice' } },
    vrrpScripts: [
      { name: 'ok', script: { command: '/opt/ok.sh' } },
      { name: 'gone', script: { command: '/opt/gone.sh' } },
      { name: 'rootonly', script: { command: '/opt/rootonly.sh' } },
      { name: 'ghost', script: { command: '/opt/ok.sh', user: 'ghost' } },
    ],
    vrrpInstances: [
      { name: 'A', interface: 'eth0', virtualRouterId: 1, virtualIpaddress: [{ address: '198.18.0.10' }], trackScripts: [{ name: 'ok' }, { name: 'gone' }] },
    ],
    vrrpSyncGroups: [{ name: 'G', group: ['A'], trackScripts: [{ name: 'rootonly' }] }],
  });
  const names = unrunnableScripts(m, host({ eth0: [] }));
  assert.deepEqual(names, ['gone', 'rootonly']);
  const w = withoutScripts(m, names);
  assert.deepEqual(
    w.vrrpScripts.map((s) => s.name),
    ['ok', 'ghost'],
  );
  assert.deepEqual(
    w.vrrpInstances[0]!.trackScripts.map((r) => r.name),
    ['ok'],
  );
  assert.deepEqual(w.vrrpSyncGroups[0]!.trackScripts, []);
  assert.equal(withoutScripts(m, []), m);
  // A missing script_user takes every script without a user of its own.
  const noUser = defineConfig({ global: { scriptUser: { user: 'nobody-here' } }, vrrpScripts: m.vrrpScripts });
  assert.deepEqual(unrunnableScripts(noUser, host({})), ['ok', 'gone', 'rootonly']);
});
