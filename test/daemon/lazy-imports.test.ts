/**
 * What `vipflow run` loads for a plain keepalived.conf: the real daemon (one
 * VRRP instance on one end of a veth pair, in a network namespace of its own made
 * by `unshare -n`, gone with the process) under a module hook that lists every
 * module it loads. Without NATS, an HTTP endpoint or workflows, the NATS
 * client, prom-client, the status page, tsx, zx, the workflow machinery,
 * zod, the checkers, the load balancer and node:crypto stay off the main thread (issue 16: each costs RSS a daemon does not
 * use; the config worker loads zod and the loaders, and ends after the load).
 * With --http the metrics do load, so the hook is shown to see them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const READY_TIMEOUT_MS = 15_000;

// advert_int 10: the instance stays Backup for the whole test, so a stop never waits for a handover (make-before-break).
const PLAIN_CONF = `vrrp_instance VI_1 {
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

// A reload adds the first virtual server: its checker (nothing listens there, so it only fails) needs checks.ts at last.
const WITH_VIRTUAL_SERVER = `${PLAIN_CONF}virtual_server 198.18.0.10 80 {
  delay_loop 1
  lb_kind NAT
  protocol TCP
  real_server 198.18.0.2 80 {
    TCP_CHECK {
      connect_timeout 1
    }
  }
}
`;

/**
 * Runs the daemon until it logs `ready` (its signal handlers follow in the same turn), optionally reloads it with
 * another config until it logs `reload.msg`, stops it with SIGTERM, and returns the modules it loaded.
 */
async function modulesLoaded(
  dir: string,
  name: string,
  extraArgs: string[],
  ready: string,
  reload?: { conf: string; msg: string },
): Promise<{ ready: string[]; end: string[] }> {
  const list = join(dir, `modules-${name}.txt`);
  writeFileSync(list, '');
  const hook = join(dir, 'hook.mjs');
  writeFileSync(
    hook,
    // Import edges, not just modules: the config worker's own graph (zod, the loaders) is told apart by what reaches it.
    `import { appendFileSync } from 'node:fs';\nexport async function resolve(spec, context, next) { const r = await next(spec, context); appendFileSync(${JSON.stringify(list)}, (context.parentURL ?? '') + ' ' + r.url + '\\n'); return r; }\n`,
  );
  const register = join(dir, 'register.mjs');
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hook).href)});\n`);
  const conf = join(dir, 'keepalived.conf');
  writeFileSync(conf, PLAIN_CONF);
  const setup = 'ip link set lo up && ip link add d0 type veth peer name d1 && ip addr add 198.18.0.1/24 dev d0 && ip link set d1 up && ip link set d0 up';
  const run = ['node', '--import', register, MAIN, 'run', '--config', conf, '--state-dir', join(dir, 'state'), ...extraArgs];
  const child = spawn('unshare', ['-n', 'sh', '-c', `${setup} && exec "$@"`, 'sh', ...run], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const logged = (msg: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no '${msg}' within ${READY_TIMEOUT_MS} ms: ${err.slice(0, 500)}`)), READY_TIMEOUT_MS);
      const seen = () => {
        if (!out.includes(`"msg":"${msg}"`)) return;
        clearTimeout(timer);
        child.stdout.off('data', seen);
        resolve();
      };
      child.stdout.on('data', seen);
      seen();
      void exited.then((code) => (clearTimeout(timer), reject(new Error(`daemon exited (${code}) before '${msg}': ${err.slice(0, 500)}`))));
    });
  let atReady = '';
  try {
    await logged(ready);
    atReady = readFileSync(list, 'utf8');
    if (reload) {
      writeFileSync(conf, reload.conf);
      child.kill('SIGHUP');
      await logged(reload.msg);
    }
    child.kill('SIGTERM');
    assert.equal(await exited, 0, err);
  } finally {
    if (child.exitCode === null && child.pid !== undefined) child.kill('SIGKILL');
  }
  return { ready: mainThreadModules(atReady), end: mainThreadModules(readFileSync(list, 'utf8')) };
}

/** The modules reached from the CLI's entry: the main thread's. The config worker starts from a root of its own (no parent). */
function mainThreadModules(edges: string): string[] {
  const next = new Map<string, string[]>();
  for (const line of edges.split('\n')) {
    const [from, to] = line.split(' ');
    if (from === undefined || to === undefined || from === '') continue;
    next.set(from, [...(next.get(from) ?? []), to]);
  }
  const seen = new Set([pathToFileURL(MAIN).href]);
  const todo = [...seen];
  for (let url = todo.pop(); url !== undefined; url = todo.pop()) {
    for (const to of next.get(url) ?? []) {
      if (seen.has(to)) continue;
      seen.add(to);
      todo.push(to);
    }
  }
  return [...seen];
}

const has = (modules: string[], part: string) => modules.some((m) => m.includes(part));

test('a daemon for a plain keepalived.conf loads neither the NATS client nor prom-client, the status page, tsx, zx, workflows, zod, checkers or the load balancer (a reload adding a virtual_server loads them); --http loads the metrics', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vipflow-lazy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  const run = await modulesLoaded(dir, 'plain', ['--lb', 'none'], 'vipflow running', { conf: WITH_VIRTUAL_SERVER, msg: 'checkers running' });
  const plain = run.ready;
  for (const seen of ['/daemon/daemon.js', '/node_modules/xstate/', '/node_modules/pino/'])
    assert.ok(has(plain, seen), `the hook sees what the daemon loads (${seen}): ${plain.length} modules`);
  const unused = [
    '/node_modules/@nats-io/',
    '/infra/events/nats-bus.js',
    '/node_modules/prom-client/',
    '/daemon/metrics.js',
    '/daemon/status-page.js',
    '/infra/http/endpoint.js',
    '/node_modules/tsx/',
    '/node_modules/zx/',
    '/node_modules/typescript/',
    '/dist/workflows/',
    '/node_modules/zod/',
    // No virtual_server: neither checkers nor the load balancer (daemon/virtual-servers.ts).
    '/daemon/checks.js',
    '/daemon/load-balancer.js',
    '/infra/check/',
    '/actors/check/',
    // Only infra/lb/ipvs-presence.js: the backend's name is known before the config loads.
    '/infra/lb/desired.js',
    '/infra/lb/nft-backend.js',
    '/infra/lb/ipvs-backend.js',
    // OpenSSL and its modules: auth_hmac and the HTTP credentials load them at first use (core/lazy-crypto.ts).
    'node:crypto',
  ];
  assert.deepEqual(
    unused.filter((u) => has(plain, u)),
    [],
    'loaded though the config needs none of it',
  );

  // The namespace's own loopback: the port is free.
  // A reload that adds the first virtual_server loads the checkers then, and runs them.
  assert.ok(has(run.end, '/daemon/checks.js') && has(run.end, '/infra/check/runner.js'), 'the checkers load with the first virtual server');

  const served = (await modulesLoaded(dir, 'http', ['--http', '127.0.0.1:9100'], 'http endpoint listening')).end;
  assert.ok(has(served, '/node_modules/prom-client/') && has(served, '/daemon/metrics.js'), 'with --http the metrics load');
  assert.ok(!has(served, '/node_modules/@nats-io/'), 'still no NATS client');
});
