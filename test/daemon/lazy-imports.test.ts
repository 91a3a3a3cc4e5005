/**
 * What `vipflow run` loads for a plain keepalived.conf: the real daemon (one
 * VRRP instance on one end of a veth pair, in a network namespace of its own made
 * by `unshare -n`, gone with the process) under a module hook that lists every
 * module it loads. Without NATS, an HTTP endpoint or workflows, the NATS
 * client, prom-client, the status page, tsx, zx and the workflow machinery
 * stay unloaded (issue 16: each costs RSS a daemon does not use). With --http
 * the metrics do load, so the hook is shown to see them.
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

const PLAIN_CONF = `vrrp_instance VI_1 {
  state MASTER
  interface d0
  virtual_router_id 51
  priority 100
  advert_int 1
  virtual_ipaddress {
    198.18.0.10/32
  }
}
`;

/** Runs the daemon until it logs `ready` (its signal handlers follow in the same turn), stops it with SIGTERM, and returns the modules it loaded. */
async function modulesLoaded(dir: string, extraArgs: string[], ready: string): Promise<string[]> {
  const list = join(dir, `modules-${extraArgs.length}.txt`);
  writeFileSync(list, '');
  const hook = join(dir, 'hook.mjs');
  writeFileSync(
    hook,
    `import { appendFileSync } from 'node:fs';\nexport async function load(url, context, next) { appendFileSync(${JSON.stringify(list)}, url + '\\n'); return next(url, context); }\n`,
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
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no '${ready}' within ${READY_TIMEOUT_MS} ms: ${err.slice(0, 500)}`)), READY_TIMEOUT_MS);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (!out.includes(`"msg":"${ready}"`)) return;
        clearTimeout(timer);
        resolve();
      });
      void exited.then((code) => (clearTimeout(timer), reject(new Error(`daemon exited (${code}) before running: ${err.slice(0, 500)}`))));
    });
    child.kill('SIGTERM');
    assert.equal(await exited, 0, err);
  } finally {
    if (child.exitCode === null && child.pid !== undefined) child.kill('SIGKILL');
  }
  return readFileSync(list, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
}

const has = (modules: string[], part: string) => modules.some((m) => m.includes(part));

test('a daemon for a plain keepalived.conf loads neither the NATS client nor prom-client, the status page, tsx, zx or workflows; --http loads the metrics', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vipflow-lazy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  const plain = await modulesLoaded(dir, [], 'vipflow running');
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
  ];
  assert.deepEqual(
    unused.filter((u) => has(plain, u)),
    [],
    'loaded though the config needs none of it',
  );

  // The namespace's own loopback: the port is free.
  const served = await modulesLoaded(dir, ['--http', '127.0.0.1:9100'], 'http endpoint listening');
  assert.ok(has(served, '/node_modules/prom-client/') && has(served, '/daemon/metrics.js'), 'with --http the metrics load');
  assert.ok(!has(served, '/node_modules/@nats-io/'), 'still no NATS client');
});
