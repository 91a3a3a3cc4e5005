/**
 * `vipflow genhash` as a user runs it (node dist/cli/main.js genhash ...) against
 * a real nginx on loopback: its digest equals the probe's and md5sum of the file
 * nginx serves, over HTTP and HTTPS; exit codes for a dead server and a bad command line.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../core/paths.js';
import { freePort } from '../../infra/events/local-nats.js';
import { destination } from '../../infra/check/probes/connect.js';
import { buildRequest, exchange, httpProbe } from '../../infra/check/probes/http.js';
import { parseGenhashArgs } from '../../cli/genhash.js';
import { startProbeNginx, type ProbeNginx } from '../infra/check/probes/servers.js';

let nginx: ProbeNginx;
before(async () => {
  nginx = await startProbeNginx();
});
after(async () => {
  await nginx?.stop();
});

const running = new Set<number>();
after(() => {
  for (const pid of running) process.kill(pid, 'SIGKILL');
});

function genhash(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(repoRoot, 'dist', 'cli', 'main.js'), 'genhash', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid !== undefined) running.add(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => {
    const t = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), 20_000);
    child.on('close', (code) => {
      clearTimeout(t);
      if (child.pid !== undefined) running.delete(child.pid);
      resolve({ code, stdout, stderr });
    });
  });
}

const md5sum = (file: string) => execFileSync('md5sum', [join(nginx.root, file)], { encoding: 'utf8' }).split(' ')[0]!;

async function probeDigest(port: number, path: string, tls: boolean): Promise<string | undefined> {
  const dst = destination({ address: '127.0.0.1', port }, {});
  const x = await exchange({
    dst,
    request: buildRequest(path, undefined, dst, undefined),
    tls,
    digest: true,
    maxBodyBytes: 1 << 26,
    maxExchangeMs: 10_000,
    connectTimeoutMs: 2000,
  });
  return x.ok ? x.response.digest : undefined;
}

test('genhash over HTTP prints md5sum of the served file, the same digest the probe computes and accepts', async () => {
  for (const file of ['index.html', 'big.txt']) {
    const r = await genhash(['-s', '127.0.0.1', '-p', String(nginx.httpPort), '-u', `/${file}`]);
    assert.equal(r.code, 0, r.stderr);
    const printed = r.stdout.trim();
    assert.match(printed, /^[0-9a-f]{32}$/);
    assert.equal(printed, md5sum(file));
    assert.equal(printed, await probeDigest(nginx.httpPort, `/${file}`, false));
    const check = await httpProbe({ address: '127.0.0.1', port: nginx.httpPort }, { connectTimeoutMs: 2000, urls: [{ path: `/${file}`, digest: printed }] });
    assert.equal(check.ok, true, JSON.stringify(check));
  }
});

test('genhash --use-ssl (-S) over HTTPS with the self-signed certificate; long options and -P 1.1', async () => {
  const r = await genhash(['--use-ssl', '--server', '127.0.0.1', '--port', String(nginx.httpsPort), '--url', '/big.txt', '-P', '1.1']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), md5sum('big.txt'));
  assert.equal(r.stdout.trim(), await probeDigest(nginx.httpsPort, '/big.txt', true));
});

test('genhash -V sets Host, -I sends it as SNI: the digest of what nginx echoes', async () => {
  const { createHash } = await import('node:crypto');
  const md5 = (s: string) => createHash('md5').update(s).digest('hex');
  const host = await genhash(['-s', '127.0.0.1', '-p', String(nginx.httpPort), '-u', '/host', '-V', 'www.example.test']);
  assert.equal(host.stdout.trim(), md5('host=www.example.test\n'));
  const sni = await genhash(['-S', '-I', '-V', 'sni.example.test', '-s', '127.0.0.1', '-p', String(nginx.httpsPort), '-u', '/sni']);
  assert.equal(sni.stdout.trim(), md5('sni=sni.example.test\n'));
  const noSni = await genhash(['-S', '-V', 'sni.example.test', '-s', '127.0.0.1', '-p', String(nginx.httpsPort), '-u', '/sni']);
  assert.equal(noSni.stdout.trim(), md5('sni=\n'));
});

test('genhash exit codes: 1 when nothing answers, 2 for a wrong command line, 0 for --help', async () => {
  const closed = await freePort();
  const dead = await genhash(['-s', '127.0.0.1', '-p', String(closed), '-u', '/', '-t', '2']);
  assert.equal(dead.code, 1);
  assert.equal(dead.stdout, '');
  assert.match(dead.stderr, /connection refused/);
  const missing = await genhash(['-s', '127.0.0.1', '-u', '/']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^vipflow genhash: required option '-p, --port <port>' not specified/);
  assert.equal((await genhash(['-s', 'not-an-ip', '-p', '80', '-u', '/'])).code, 2);
  assert.equal((await genhash(['--help'])).code, 0);
});

test('parseGenhashArgs: keepalived names and the short aliases', () => {
  assert.deepEqual(parseGenhashArgs(['-S', '-I', '-s', '::1', '-p', '8443', '-u', '/x', '-V', 'h', '-P', '1.0c', '-t', '3']), {
    server: '::1',
    port: 8443,
    url: '/x',
    ssl: true,
    sni: true,
    virtualhost: 'h',
    protocol: '1.0C',
    timeoutMs: 3000,
    verbose: false,
  });
  const alias = parseGenhashArgs(['--ssl', '--sni', '--server=127.0.0.1', '--port=80', '--url=/', '--virtualhost', 'v', '--protocol', '1.1']);
  assert.ok(typeof alias === 'object' && alias.ssl && alias.sni && alias.virtualhost === 'v' && alias.protocol === '1.1');
  assert.match(String(parseGenhashArgs(['-s', '127.0.0.1', '-p', '0', '-u', '/'])), /'-p, --port <port>' argument '0' is invalid/);
  assert.match(
    String(parseGenhashArgs(['-s', '127.0.0.1', '-p', '80', '-u', '/', '-P', '2'])),
    /'-P, --protocol <version>' argument '2' is invalid\. Allowed choices are 1\.0, 1\.0c, 1\.0C, 1\.1/,
  );
  assert.match(String(parseGenhashArgs(['-s', '127.0.0.1', '-p', '80', '-u', '/', 'extra'])), /unexpected argument/);
});
