import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../config/load.js';
import { silentLogger } from '../../../core/logger.js';
import { OffThreadConfigLoader } from '../../../infra/config/off-thread-loader.js';

function conf(vsCount: number, changedTimeout?: { vs: number; seconds: number }): string {
  const out = ['vrrp_instance VI_1 {', '  interface lo', '  virtual_router_id 51', '  priority 100', '  virtual_ipaddress {', '    198.18.0.1/32', '  }', '}'];
  for (let v = 0; v < vsCount; v++) {
    const timeout = changedTimeout?.vs === v ? changedTimeout.seconds : 3;
    out.push(`virtual_server 198.18.1.${v + 1} 80 {`, '  delay_loop 5', '  lb_algo rr', '  protocol TCP');
    for (let r = 1; r <= 3; r++) out.push(`  real_server 198.18.2.${r} 80 {`, '    TCP_CHECK {', `      connect_timeout ${timeout}`, '    }', '  }');
    out.push('}');
  }
  return out.join('\n') + '\n';
}

function setup(t: TestContext): { dir: string; loader: OffThreadConfigLoader; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'vipflow-offthread-'));
  const loader = new OffThreadConfigLoader(silentLogger());
  t.after(async () => {
    await loader.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, loader, path: join(dir, 'keepalived.conf') };
}

test('a reload through the worker shares unchanged virtual servers with the running model and equals an in-thread load', async (t) => {
  const { loader, path } = setup(t);
  writeFileSync(path, conf(5));
  const first = await loader.load(path);
  assert.ok(first.model, JSON.stringify(first.diagnostics));
  assert.deepEqual(first, await loadConfig(path));

  writeFileSync(path, conf(5, { vs: 2, seconds: 7 }));
  const second = await loader.load(path, { running: first.model });
  assert.ok(second.model);
  assert.deepEqual(second, await loadConfig(path), 'the decoded model is what an in-thread load gives');
  const shared = second.model.virtualServers.map((vs, i) => vs === first.model!.virtualServers[i]);
  assert.deepEqual(shared, [true, true, false, true, true], 'only the changed virtual server is a new object');
  assert.equal(second.model.virtualServers[2]!.realServers[0]!.checkers[0]!.connectTimeout, 7);

  // Reordered and one removed: the others still found by their data.
  const reordered = conf(5, { vs: 2, seconds: 7 }).replace('virtual_server 198.18.1.1 80', 'virtual_server 198.18.1.9 80');
  writeFileSync(path, reordered);
  const third = await loader.load(path, { running: second.model });
  assert.ok(third.model);
  assert.deepEqual(third, await loadConfig(path));
  assert.deepEqual(
    third.model.virtualServers.map((vs) => second.model!.virtualServers.includes(vs)),
    [false, true, true, true, true],
  );

  // A base the worker no longer holds (the first model): sent in full, still right.
  const again = await loader.load(path, { running: first.model });
  assert.deepEqual(again, third);
  assert.ok(again.model!.virtualServers.every((vs) => !first.model!.virtualServers.includes(vs)));
});

test('errors and unreadable files come back as diagnostics; after close the load runs on the calling thread', async (t) => {
  const { dir, loader, path } = setup(t);
  writeFileSync(path, 'vrrp_instance VI_1 {\n  virtual_router_id 300\n}\n');
  const bad = await loader.load(path);
  assert.equal(bad.model, undefined);
  assert.deepEqual(bad, await loadConfig(path));
  assert.ok(bad.diagnostics.some((d) => d.severity === 'error' && d.line === 2));

  const missing = await loader.load(join(dir, 'absent.conf'));
  assert.equal(missing.unreadable, true);

  await loader.close();
  writeFileSync(path, conf(1));
  const after = await loader.load(path);
  assert.ok(after.model);
  assert.deepEqual(after, await loadConfig(path));
});

test('the worker is held between loads only for a config with virtual servers: without any it ends after the load', async (t) => {
  const { loader, path } = setup(t);
  writeFileSync(path, conf(0));
  const plain = await loader.load(path);
  assert.ok(plain.model, JSON.stringify(plain.diagnostics));
  assert.deepEqual(plain, await loadConfig(path));
  assert.equal(loader.holdsWorker, false, 'nothing to share with a reload: the idle worker would only cost memory');

  writeFileSync(path, conf(2));
  const withServers = await loader.load(path, { running: plain.model });
  assert.deepEqual(withServers, await loadConfig(path), 'a new worker loads after the old one ended');
  assert.equal(loader.holdsWorker, true);

  writeFileSync(path, conf(2, { vs: 1, seconds: 9 }));
  const reloaded = await loader.load(path, { running: withServers.model });
  assert.equal(reloaded.model!.virtualServers[0], withServers.model!.virtualServers[0], 'the held worker shares the unchanged virtual server');

  writeFileSync(path, conf(0));
  await loader.load(path, { running: reloaded.model });
  assert.equal(loader.holdsWorker, false, 'virtual servers removed: the worker ends again');
});
