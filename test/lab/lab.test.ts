// Real network: the namespace lab itself (lab/). Starts namespaces,
// veths, a bridge, tcpdump, nft, sleep processes and raw VRRP sockets inside them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../core/logger.js';
import { repoRoot } from '../../core/paths.js';
import type { VrrpSocket } from '../../wire/socket/index.js';
import { socketOpener } from './socket-opener.js';
import {
  addDropRule,
  clearDropRules,
  createLab,
  isAlive,
  listDropRules,
  pollUntil,
  readAddresses,
  run,
  startCapture,
  sweepStaleLabs,
  within,
  type Lab,
} from '../../lab/index.js';

const logger = silentLogger();

async function namespacesWithPrefix(prefix: string): Promise<string[]> {
  const r = await run('ip', ['netns', 'list'], 5000);
  return r.stdout
    .split('\n')
    .map((l) => l.split(/\s+/)[0] ?? '')
    .filter((n) => n.startsWith(`${prefix}-`))
    .sort();
}

/**
 * Sends one VRRP multicast packet from `from` and reports which of `to`
 * received it within 500 ms (the lab's machines have no ping; VRRP is
 * what the lab exists to carry anyway).
 */
async function vrrpReaches(lab: Lab, from: string, to: string[], family: 4 | 6): Promise<string[]> {
  const sockets: VrrpSocket[] = [];
  const open = socketOpener(() => lab, sockets);
  const tx = open(from, family);
  const rxs = to.map((n) => ({ node: n, sock: open(n, family) }));
  const marker = Buffer.from(`probe-${Math.random()}`);
  try {
    const got = rxs.map(
      ({ node, sock }) =>
        new Promise<string | undefined>((resolve) => {
          const timer = setTimeout(() => resolve(undefined), 500);
          sock.onPacket((p) => {
            if (!p.payload.equals(marker)) return;
            clearTimeout(timer);
            resolve(node);
          });
        }),
    );
    assert.ok(tx.send(marker).ok);
    return (await Promise.all(got)).filter((n): n is string => n !== undefined);
  } finally {
    for (const s of sockets) s.close();
  }
}

describe('namespace lab', () => {
  let lab: Lab;

  before(async () => {
    await sweepStaleLabs('vfsklab', logger);
    lab = await createLab({ prefix: 'vfsklab', nodes: ['n1', 'n2', 'client'], subnet: 31, logger });
  });
  after(async () => {
    await lab?.destroy();
  });

  test('nodes get their addresses, IPv6 usable at once, and reach each other over the bridge', async () => {
    assert.deepEqual(await namespacesWithPrefix('vfsklab'), ['vfsklab-br', 'vfsklab-client', 'vfsklab-n1', 'vfsklab-n2']);
    const n1 = lab.node('n1');
    assert.equal(n1.ipv4, '198.18.31.1');
    assert.equal(n1.ipv6, 'fd00:198:18:1f::1');
    assert.match(n1.linkLocal ?? '', /^fe80:/);
    const addrs = await readAddresses(lab, 'client');
    const v4 = addrs.find((a) => a.family === 'inet');
    const v6 = addrs.find((a) => a.family === 'inet6' && a.scope === 'global');
    assert.equal(v4?.local, '198.18.31.3');
    assert.equal(v4?.prefixlen, 24);
    assert.equal(v6?.local, 'fd00:198:18:1f::3');
    assert.ok(
      addrs.every((a) => !a.tentative),
      'no tentative address: DAD is off',
    );
    assert.deepEqual(await vrrpReaches(lab, 'client', ['n1', 'n2'], 4), ['n1', 'n2']);
    assert.deepEqual(await vrrpReaches(lab, 'client', ['n1', 'n2'], 6), ['n1', 'n2']);
    // The root namespace never sees lab interfaces.
    const root = await run('ip', ['-j', 'link', 'show'], 5000);
    assert.ok(!root.stdout.includes('"v-n1"') && !root.stdout.includes('vfsklab'));
  });

  test('nftables drop rules cut a link and clearing restores it', async () => {
    assert.equal(await addDropRule(lab, 'n2', 'input', `ip saddr ${lab.node('client').ipv4}`), undefined);
    assert.match(await listDropRules(lab, 'n2'), /drop/);
    assert.deepEqual(await vrrpReaches(lab, 'client', ['n1', 'n2'], 4), ['n1'], 'n2 drops what client sends');
    assert.deepEqual(await vrrpReaches(lab, 'n1', ['n2'], 4), ['n2'], 'only the matched source is dropped');
    assert.equal(await clearDropRules(lab, 'n2'), undefined);
    assert.deepEqual(await vrrpReaches(lab, 'client', ['n2'], 4), ['n2']);
    assert.notEqual(await addDropRule(lab, 'n2', 'input', 'this is not nft'), undefined, 'nft errors come back as text');
  });

  test('a bounded tcpdump capture sees the packets sent while it listens', async () => {
    const cap = await startCapture(lab, 'n1', { filter: ['ip', 'proto', '112'], count: 2, timeoutMs: 5000 });
    await vrrpReaches(lab, 'client', [], 4);
    await vrrpReaches(lab, 'client', [], 4);
    const lines = (await cap.done).filter((l) => /^\d/.test(l)); // -vv adds indented detail lines
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /ttl 255.*proto VRRP \(112\)/);
    const idle = await startCapture(lab, 'n1', { filter: ['udp port 9'], timeoutMs: 300 });
    assert.deepEqual(await idle.done, [], 'the timeout ends a capture that sees nothing');
  });

  test('destroy ends spawned processes and removes every namespace, also after a throw', async () => {
    const other = await createLab({ prefix: 'vfskdst', nodes: ['a'], ipv6: false, logger });
    const sleeper = other.spawn('a', 'sleep', ['300']);
    try {
      assert.ok(isAlive(sleeper.pid));
      throw new Error('test body fails');
    } catch (e) {
      assert.equal((e as Error).message, 'test body fails');
    } finally {
      await other.destroy();
    }
    assert.equal(isAlive(sleeper.pid), false);
    assert.deepEqual(await namespacesWithPrefix('vfskdst'), []);
    await other.destroy(); // idempotent
  });
});

describe('lab cleanup when the process dies without destroy()', () => {
  const here = fileURLToPath(import.meta.url);
  const fromSource = here.endsWith('.ts');
  const fixture = here.replace(/lab\.test\.(ts|js)$/, `fixtures/crashing-lab.${fromSource ? 'ts' : 'js'}`);

  for (const how of ['throw', 'exit', 'signal'] as const) {
    test(`${how}: no namespace and no process left`, async () => {
      const prefix = `vfskcr${how[0]}`;
      await sweepStaleLabs(prefix, logger);
      const args = [...(fromSource ? ['--import', 'tsx'] : []), fixture, prefix, how];
      const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.resume();
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      try {
        const ready = await pollUntil(() => (out.includes('"ready":true') ? JSON.parse(out.split('\n')[0]!) : undefined), 15_000);
        assert.ok(ready, 'fixture built its lab');
        const pid = (ready as { pid: number }).pid;
        assert.ok(isAlive(pid));
        assert.equal((await namespacesWithPrefix(prefix)).length, 3);
        if (how === 'signal') child.kill('SIGTERM');
        const code = await within(exited, 10_000);
        assert.equal(code, { throw: 1, exit: 3, signal: 128 + 15 }[how]);
        assert.ok(await pollUntil(() => (isAlive(pid) ? undefined : true), 3000), 'the sleep inside the lab was killed');
        assert.deepEqual(await namespacesWithPrefix(prefix), []);
      } finally {
        child.kill('SIGKILL');
        await sweepStaleLabs(prefix, logger);
      }
    });
  }
});

describe('stale-lab sweeper', () => {
  test('removes exactly the namespaces of its prefix', async () => {
    const names = ['vfsksw-n1', 'vfsksw-br', 'vfsksw2-n1', 'xvfsksw-n1'];
    const staleDir = join(tmpdir(), 'vipflow-lab-vfsksw-AbC123');
    const otherDir = join(tmpdir(), 'vipflow-lab-vfsksw2-AbC123');
    try {
      for (const n of names) assert.equal((await run('ip', ['netns', 'add', n], 5000)).code, 0);
      mkdirSync(staleDir, { recursive: true });
      mkdirSync(otherDir, { recursive: true });
      const removed = await sweepStaleLabs('vfsksw', logger);
      assert.equal(existsSync(staleDir), false, "the prefix's temp dir is gone");
      assert.equal(existsSync(otherDir), true, "another prefix's temp dir stays");
      assert.deepEqual(removed.sort(), ['vfsksw-br', 'vfsksw-n1']);
      assert.deepEqual(await namespacesWithPrefix('vfsksw'), []);
      assert.deepEqual(await namespacesWithPrefix('vfsksw2'), ['vfsksw2-n1']);
      assert.deepEqual(await namespacesWithPrefix('xvfsksw'), ['xvfsksw-n1']);
    } finally {
      for (const n of names) await run('ip', ['netns', 'del', n], 5000);
      rmSync(staleDir, { recursive: true, force: true });
      rmSync(otherDir, { recursive: true, force: true });
    }
  });
});
