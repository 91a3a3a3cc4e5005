// Real network: HTTP_GET and SSL_GET checkers of a real `vipflow run` daemon
// (node d) against real servers in node rs: nginx processes (plain and TLS with
// a self-signed certificate made here with openssl), and a small Node server
// that misbehaves (garbage bytes, an endless 1 GB body, a TLS listener that
// never answers). Faults are real: nginx stopped by its PID, SYNs dropped by
// nftables in rs, files changed under nginx, a SIGHUP with a new config. The
// daemon is observed through `vipflow status --json`, its JSON log, notify
// scripts that record their argv and its notify_fifo.
// Starts: a namespace lab, nginx, node, openssl, nft, one vipflow daemon.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../core/logger.js';
import { addDropRule, clearDropRules, createLab, isAlive, pollUntil, sweepStaleLabs, type Lab, type SpawnedProcess } from '../../lab/index.js';
import {
  argvRecorder,
  detectionBounds,
  globalDefs,
  ms,
  readFifo,
  rsId,
  selfSignedCert,
  startCheckDaemon,
  type ArgvRecorder,
  type CheckDaemon,
  type FifoReader,
} from './checks-lab.js';

const logger = silentLogger();
const PREFIX = 'chkhttp';
const SUBNET = 244;

// Checker timing: small values keep the file short.
const DL = 1000;
const CT = 1000;
const RETRY = 1;
const DBR = 1000;
/** scheduling, process start-up and status polling on a loaded 2-core machine */
const bounds = detectionBounds({ delayLoopMs: DL, connectTimeoutMs: CT, retry: RETRY, delayBeforeRetryMs: DBR, marginMs: 1000 });
const downBound = bounds.down;
const upBound = bounds.up;

const VIP = `198.18.${SUBNET}.100`;
const RS = `198.18.${SUBNET}.2`;
const VIP6 = `fd00:198:18:${SUBNET.toString(16)}::100`;
const RS6 = `fd00:198:18:${SUBNET.toString(16)}::2`;
const vsOf = (port: number) => `${VIP}:${port}`;
const rsOf = (vsPort: number, rsPort: number) => rsId(vsOf(vsPort), `${RS}:${rsPort}`);

// Real-server ports in rs.
const P_BASIC = 8101; // its own nginx: stopped and started
const P_DROP = 8102; // static nginx, SYNs dropped by nft
const P_STATUS = 8103; // static nginx: /503, /204
const P_PAGE = 8104; // static nginx: /page.html (digest, regex)
const P_KEEP = 8105; // static nginx: reload, unchanged checker
const P_CHANGE = 8106; // static nginx: reload, changed checker
const P_V6 = 8107; // static nginx, IPv4 and IPv6
const P_TLS = 8443; // static nginx, TLS, logs the SNI name
const P_QUORUM = [8201, 8202, 8203]; // one nginx each
const P_SORRY = 8299;
const P_GARBAGE = 8401; // node: bytes that are not HTTP
const P_HUGE = 8402; // node: Content-Length 1e9, zeros streamed while read
const P_STALL = 8403; // node: accepts, never answers
const P_SLOW = 8404; // node: answers each request 700 ms after it came

const PAGE = '<html><body>service healthy</body></html>\n';
const PAGE_CHANGED = '<html><body>service healthy, v2</body></html>\n';
const md5 = (s: string) => createHash('md5').update(s).digest('hex');

interface Url {
  path: string;
  digest?: string;
  statusCode?: string;
  regex?: string;
  regexNoMatch?: boolean;
}

function checker(type: 'HTTP_GET' | 'SSL_GET', urls: Url[], extra: string[] = []): string[] {
  return [
    `${type} {`,
    ...urls.flatMap((u) => [
      '  url {',
      `    path ${u.path}`,
      ...(u.digest !== undefined ? [`    digest ${u.digest}`] : []),
      ...(u.statusCode !== undefined ? [`    status_code ${u.statusCode}`] : []),
      ...(u.regex !== undefined ? [`    regex "${u.regex}"`] : []),
      ...(u.regexNoMatch ? ['    regex_no_match'] : []),
      '  }',
    ]),
    `  connect_timeout ${CT / 1000}`,
    `  retry ${RETRY}`,
    `  delay_before_retry ${DBR / 1000}`,
    ...extra.map((l) => `  ${l}`),
    '}',
  ];
}

function realServer(port: number, check: string[], extra: string[] = [], address = RS): string[] {
  return [`real_server ${address} ${port} {`, '  weight 1', ...extra.map((l) => `  ${l}`), ...check.map((l) => `  ${l}`), '}'];
}

function virtualServer(port: number, realServers: string[][], extra: string[] = [], vip = VIP): string {
  return [
    `virtual_server ${vip} ${port} {`,
    `  delay_loop ${DL / 1000}`,
    '  lb_algo rr',
    '  lb_kind NAT',
    '  protocol TCP',
    ...extra.map((l) => `  ${l}`),
    ...realServers.flat().map((l) => `  ${l}`),
    '}',
    '',
  ].join('\n');
}

/** The whole keepalived.conf; `changed` is the reloaded variant (one real server's checker differs). */
function daemonConf(rec: ArgvRecorder, fifo: string, changed: boolean): string {
  const get = (path: string, more: Omit<Url, 'path'> = {}) => checker('HTTP_GET', [{ path, ...more }]);
  return [
    globalDefs({ routerId: 'd', notifyFifo: fifo }),
    virtualServer(1101, [realServer(P_BASIC, get('/'))]),
    virtualServer(1102, [realServer(P_DROP, get('/'))]),
    virtualServer(1103, [realServer(P_STATUS, get('/503'))]),
    virtualServer(1104, [realServer(P_STATUS, get('/204', { statusCode: '200-299' }))]),
    virtualServer(1105, [realServer(P_STATUS, get('/204', { statusCode: '200' }))]),
    virtualServer(1201, [realServer(P_PAGE, get('/page.html', { digest: md5(PAGE) }))]),
    virtualServer(1202, [realServer(P_PAGE, get('/page.html', { regex: 'healthy' }))]),
    virtualServer(1203, [realServer(P_PAGE, get('/page.html', { regex: 'healthy', regexNoMatch: true }))]),
    virtualServer(1204, [realServer(P_PAGE, get('/page.html', { regex: 'absent-word' }))]),
    virtualServer(1301, [realServer(P_TLS, checker('SSL_GET', [{ path: '/' }]))]),
    virtualServer(1302, [realServer(P_TLS, checker('SSL_GET', [{ path: '/' }], ['virtualhost sni.lab.test', 'enable_sni']))]),
    virtualServer(
      1401,
      P_QUORUM.map((p, i) =>
        realServer(p, get('/'), [`notify_up ${rec.command('notify_up', `q${i + 1}`)}`, `notify_down ${rec.command('notify_down', `q${i + 1}`)}`]),
      ),
      ['quorum 2', 'hysteresis 1', `quorum_up ${rec.command('quorum_up')}`, `quorum_down ${rec.command('quorum_down')}`, `sorry_server ${RS} ${P_SORRY}`],
    ),
    virtualServer(1501, [realServer(P_GARBAGE, get('/'))]),
    virtualServer(1502, [realServer(P_HUGE, get('/'))]),
    virtualServer(1503, [realServer(P_HUGE, get('/', { digest: md5('not this') }))]),
    virtualServer(1504, [realServer(P_STALL, checker('SSL_GET', [{ path: '/' }]))]),
    virtualServer(1505, [realServer(P_SLOW, checker('HTTP_GET', [{ path: '/a' }, { path: '/b' }, { path: '/c' }]))]),
    virtualServer(1701, [realServer(P_V6, get('/page.html', { digest: md5(PAGE) }), [], RS6)], [], VIP6),
    virtualServer(1702, [realServer(P_V6, checker('HTTP_GET', [{ path: '/page.html' }], ['http_protocol 1.1']), ['virtualhost rs.lab.test'])]),
    virtualServer(1601, [realServer(P_KEEP, get('/')), realServer(P_CHANGE, get(changed ? '/503' : '/'))]),
  ].join('\n');
}

/** An nginx.conf with every path under `dir` and the given server blocks. */
function nginxConf(dir: string, servers: string[]): string {
  return `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  default_type text/plain;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  log_format sni '$ssl_server_name|$host|$status';
  log_format req '$http_host|$request|$http_user_agent|$http_connection';
${servers.map((s) => `  server {\n${s}\n  }\n`).join('')}}
`;
}

/** The Node server that misbehaves (see P_GARBAGE, P_HUGE, P_STALL). Every loop is bounded. */
const BAD_SERVER = `
import net from 'node:net';
import { randomBytes } from 'node:crypto';
const [host, garbage, huge, stall, slow] = process.argv.slice(2);
const quiet = (s) => s.on('error', () => {});
net.createServer((s) => { quiet(s); s.end(randomBytes(8192)); }).listen(Number(garbage), host);
net.createServer((s) => {
  quiet(s);
  s.once('data', () => {
    s.write('HTTP/1.0 200 OK\\r\\nContent-Type: application/octet-stream\\r\\nContent-Length: 1000000000\\r\\n\\r\\n');
    const chunk = Buffer.alloc(65536);
    let sent = 0;
    const pump = () => { while (!s.destroyed && sent < 1e9 && s.write(chunk)) sent += chunk.length; };
    s.on('drain', pump);
    pump();
  });
}).listen(Number(huge), host);
net.createServer((s) => {
  quiet(s);
  s.once('data', () => setTimeout(() => s.end('HTTP/1.0 200 OK\\r\\nContent-Length: 3\\r\\n\\r\\nok\\n'), 700));
}).listen(Number(slow), host);
net.createServer((s) => { quiet(s); s.setTimeout(120000, () => s.destroy()); }).listen(Number(stall), host, () => process.stdout.write('listening\\n'));
`;

describe('HTTP_GET / SSL_GET checkers of a real daemon against nginx and a misbehaving server', () => {
  let lab: Lab;
  let d: CheckDaemon;
  let rec: ArgvRecorder;
  let fifo: FifoReader | undefined;
  let fifoPath: string;
  let www: string;
  let sniLog: string;
  let reqLog: string;
  const nginxes = new Map<string, { conf: string; dir: string; proc: SpawnedProcess }>();
  const figures: string[] = [];

  /** Waits (bounded) until a TCP port accepts in rs. */
  async function listening(port: number, timeoutMs = 5000): Promise<boolean> {
    const ok = await pollUntil(
      async () => ((await lab.exec('rs', 'bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`], 2000)).code === 0 ? true : undefined),
      timeoutMs,
      20,
    );
    return ok === true;
  }

  async function startNginx(name: string, servers: string[] | undefined, ports: number[]): Promise<void> {
    const dir = join(lab.dir, `nginx-${name}`);
    const conf = join(dir, 'nginx.conf');
    if (servers !== undefined) {
      mkdirSync(join(dir, 'tmp'), { recursive: true });
      chmodSync(dir, 0o755);
      writeFileSync(conf, nginxConf(dir, servers));
    }
    const proc = lab.spawn('rs', 'nginx', ['-c', conf, '-p', dir]);
    nginxes.set(name, { conf, dir, proc });
    for (const p of ports)
      assert.ok(
        await listening(p),
        `nginx ${name} not listening on ${p}: ${existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : ''}`,
      );
  }

  async function stopNginx(name: string): Promise<void> {
    const n = nginxes.get(name);
    assert.ok(n);
    process.kill(n.proc.pid, 'SIGTERM');
    assert.notEqual(await Promise.race([n.proc.exited, new Promise((r) => setTimeout(() => r('timeout'), 5000))]), 'timeout');
  }

  const figure = (text: string) => {
    figures.push(text);
    console.log(text);
  };

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['d', 'rs'], subnet: SUBNET, logger });
    // nginx workers (www-data) walk into the lab dir to read the pages.
    chmodSync(lab.dir, 0o711);
    www = join(lab.dir, 'www');
    mkdirSync(www, { mode: 0o755 });
    writeFileSync(join(www, 'page.html'), PAGE);
    writeFileSync(join(www, 'index.html'), 'ok\n');
    const certs = join(lab.dir, 'certs');
    mkdirSync(certs, { mode: 0o700 });
    const { cert, key } = await selfSignedCert(certs, 'rs.lab.test');
    sniLog = join(lab.dir, 'nginx-static', 'sni.log');
    reqLog = join(lab.dir, 'nginx-static', 'requests.log');

    const ok = '    location / { return 200 "ok\\n"; }';
    await startNginx('basic', [`    listen ${P_BASIC};\n${ok}`], [P_BASIC]);
    for (const [i, p] of P_QUORUM.entries()) await startNginx(`q${i + 1}`, [`    listen ${p};\n${ok}`], [p]);
    await startNginx(
      'static',
      [
        [P_DROP, P_STATUS, P_PAGE, P_KEEP, P_CHANGE, P_V6].map((p) => `    listen ${p};`).join('\n') +
          `\n    listen [::]:${P_V6};\n    access_log ${reqLog} req;\n    root ${www};\n    location = /503 { return 503; }\n    location = /204 { return 204; }`,
        `    listen ${P_TLS} ssl;\n    ssl_certificate ${cert};\n    ssl_certificate_key ${key};\n    access_log ${sniLog} sni;\n${ok}`,
      ],
      [P_DROP, P_STATUS, P_PAGE, P_KEEP, P_CHANGE, P_V6, P_TLS],
    );
    const bad = join(lab.dir, 'bad-server.mjs');
    writeFileSync(bad, BAD_SERVER);
    const proc = lab.spawn('rs', process.execPath, [bad, RS, String(P_GARBAGE), String(P_HUGE), String(P_STALL), String(P_SLOW)]);
    proc.child.stdout?.setEncoding('utf8');
    const up = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 5000);
      proc.child.stdout?.on('data', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    assert.ok(up, 'the bad server did not start');

    rec = argvRecorder(lab, 'notes');
    fifoPath = join(lab.dir, 'notify.fifo');
    d = await startCheckDaemon(lab, 'd', 'd', daemonConf(rec, fifoPath, false));
    fifo = readFifo(fifoPath);
  });

  after(async () => {
    fifo?.close();
    await d?.daemon.kill();
    await lab?.destroy();
    if (figures.length > 0) console.log(`figures:\n  ${figures.join('\n  ')}`);
  });

  test('HTTP_GET: up; nginx stopped -> down (refused) within the bound; started again -> up within the bound', async () => {
    const id = rsOf(1101, P_BASIC);
    // The first probe comes 1 s (BOOTSTRAP_DELAY) plus up to warmup (delay_loop) after start.
    const first = await d.waitForRealServer(id, (r) => r.checkers[0]!.probes >= 1 && r.alive, 5000);
    assert.ok(first, 'real server not probed and up');
    assert.equal(first.rs.checkers[0]!.state, 'up');
    assert.equal(first.rs.weight, 1);

    const m = d.mark();
    const t0 = performance.now();
    await stopNginx('basic');
    const down = await d.waitForRs('down', id, m, downBound(false) + 2000);
    assert.ok(down, 'no real server down');
    assert.equal(down.line.reason, 'refused');
    assert.match(String(down.line.detail), /connection refused/);
    assert.equal(down.line.checker, `${id}/HTTP_GET#0`);
    const latency = down.at - t0;
    figure(`refused: fault -> down ${ms(latency)} ms (bound ${downBound(false)} ms)`);
    assert.ok(latency <= downBound(false), `${ms(latency)} ms > ${downBound(false)} ms`);
    const st = await d.realServer(id);
    assert.equal(st?.alive, false);
    assert.equal(st?.checkers[0]?.state, 'down');
    assert.equal(st?.checkers[0]?.lastFailure?.reason, 'refused');
    assert.ok(!Number.isNaN(Date.parse(st?.checkers[0]?.lastFailure?.time ?? '')));

    const m2 = d.mark();
    const t1 = performance.now();
    await startNginx('basic', undefined, [P_BASIC]);
    const started = performance.now() - t1;
    const upLine = await d.waitForRs('up', id, m2, upBound(false) + started + 2000);
    assert.ok(upLine, 'no real server up');
    const upLatency = upLine.at - t1;
    figure(`refused: nginx start -> up ${ms(upLatency)} ms (bound ${ms(upBound(false) + started)} ms incl. ${ms(started)} ms nginx start-up)`);
    assert.ok(upLatency <= upBound(false) + started, `${ms(upLatency)} ms`);
    assert.equal((await d.realServer(id))?.alive, true);
  });

  test('HTTP_GET: SYNs dropped by nftables in rs -> down (timeout) within the bound; rule removed -> up', async () => {
    const id = rsOf(1102, P_DROP);
    assert.ok(await d.waitForRealServer(id, (r) => r.alive && r.checkers[0]!.probes >= 1, 5000));
    const m = d.mark();
    const t0 = performance.now();
    assert.equal(await addDropRule(lab, 'rs', 'input', `tcp dport ${P_DROP}`), undefined);
    try {
      const down = await d.waitForRs('down', id, m, downBound(true) + 2000);
      assert.ok(down, 'no real server down');
      assert.equal(down.line.reason, 'timeout', String(down.line.detail));
      assert.match(String(down.line.detail), /no answer within 1000 ms/);
      const latency = down.at - t0;
      figure(`dropped: fault -> down ${ms(latency)} ms (bound ${downBound(true)} ms)`);
      assert.ok(latency <= downBound(true), `${ms(latency)} ms > ${downBound(true)} ms`);
      // The other real servers on the same nginx are unaffected.
      assert.equal((await d.realServer(rsOf(1202, P_PAGE)))?.alive, true);
    } finally {
      assert.equal(await clearDropRules(lab, 'rs'), undefined);
    }
    const m2 = d.mark();
    const t1 = performance.now();
    const upLine = await d.waitForRs('up', id, m2, upBound(true) + 2000);
    assert.ok(upLine, 'no real server up');
    const upLatency = upLine.at - t1;
    figure(`dropped: rule removed -> up ${ms(upLatency)} ms (bound ${upBound(true)} ms)`);
    assert.ok(upLatency <= upBound(true), `${ms(upLatency)} ms`);
  });

  test('HTTP_GET status: 503 -> down (status); a 204 passes the default 200-299 and "200-299", fails "200"', async () => {
    const s503 = await d.waitForRealServer(rsOf(1103, P_STATUS), (r) => !r.alive, 5000);
    assert.ok(s503, '503 not down');
    assert.equal(s503.rs.checkers[0]!.lastFailure?.reason, 'status');
    assert.match(s503.rs.checkers[0]!.lastFailure!.detail, /status 503 not in 200-299/);
    const range = await d.waitForRealServer(rsOf(1104, P_STATUS), (r) => r.checkers[0]!.probes >= 2, 5000);
    assert.ok(range);
    assert.equal(range.rs.alive, true);
    assert.equal(range.rs.checkers[0]!.lastFailure, undefined);
    const only200 = await d.waitForRealServer(rsOf(1105, P_STATUS), (r) => !r.alive, 5000);
    assert.ok(only200, '204 against status_code 200 not down');
    assert.equal(only200.rs.checkers[0]!.lastFailure?.reason, 'status');
    assert.match(only200.rs.checkers[0]!.lastFailure!.detail, /status 204 not in 200$/);
    // Logged with the reason too.
    const line = d.linesSince(0, (l) => l.msg === 'real server down' && l.realServer === rsOf(1103, P_STATUS))[0];
    assert.equal(line?.reason, 'status');
  });

  test('HTTP_GET digest (as genhash computes it): file changed -> down (digest), restored -> up; regex / regex_no_match', async () => {
    const id = rsOf(1201, P_PAGE);
    // vipflow genhash, run in d against the real server, agrees with the MD5 of the file.
    const gh = await d.daemon.cli(['genhash', '-s', RS, '-p', String(P_PAGE), '-u', '/page.html']);
    assert.equal(gh.code, 0, gh.stderr);
    assert.match(gh.stdout, new RegExp(md5(PAGE)));
    assert.ok(await d.waitForRealServer(id, (r) => r.alive && r.checkers[0]!.probes >= 1, 5000));

    const m = d.mark();
    const t0 = performance.now();
    writeFileSync(join(www, 'page.html'), PAGE_CHANGED);
    try {
      const down = await d.waitForRs('down', id, m, downBound(false) + 2000);
      assert.ok(down, 'no real server down');
      assert.equal(down.line.reason, 'digest');
      assert.match(String(down.line.detail), new RegExp(`got ${md5(PAGE_CHANGED)}, want ${md5(PAGE)}`));
      figure(`digest: file changed -> down ${ms(down.at - t0)} ms (bound ${downBound(false)} ms)`);
      assert.ok(down.at - t0 <= downBound(false));
      // regex "healthy" still matches the changed page.
      assert.equal((await d.realServer(rsOf(1202, P_PAGE)))?.alive, true);
    } finally {
      writeFileSync(join(www, 'page.html'), PAGE);
    }
    const m2 = d.mark();
    const t1 = performance.now();
    const upLine = await d.waitForRs('up', id, m2, upBound(false) + 2000);
    assert.ok(upLine);
    figure(`digest: file restored -> up ${ms(upLine.at - t1)} ms (bound ${upBound(false)} ms)`);
    assert.ok(upLine.at - t1 <= upBound(false));

    const noMatch = await d.realServer(rsOf(1203, P_PAGE));
    assert.equal(noMatch?.alive, false);
    assert.equal(noMatch?.checkers[0]?.lastFailure?.reason, 'regex');
    assert.match(noMatch!.checkers[0]!.lastFailure!.detail, /body matches \/healthy\/ \(regex_no_match\)/);
    const absent = await d.realServer(rsOf(1204, P_PAGE));
    assert.equal(absent?.alive, false);
    assert.equal(absent?.checkers[0]?.lastFailure?.reason, 'regex');
    assert.match(absent!.checkers[0]!.lastFailure!.detail, /body does not match \/absent-word\//);
    assert.equal((await d.realServer(rsOf(1202, P_PAGE)))?.alive, true);
  });

  test('SSL_GET against nginx with a self-signed certificate: up; with enable_sni nginx sees the virtualhost as the SNI name', async () => {
    for (const vs of [1301, 1302]) {
      const r = await d.waitForRealServer(rsOf(vs, P_TLS), (x) => x.checkers[0]!.probes >= 2, 6000);
      assert.ok(r, `SSL_GET ${vs} not probed twice`);
      assert.equal(r.rs.alive, true);
      assert.equal(r.rs.checkers[0]!.lastFailure, undefined, JSON.stringify(r.rs.checkers[0]!.lastFailure));
    }
    const log = readFileSync(sniLog, 'utf8').split('\n').filter(Boolean);
    // nginx logs an absent SNI name as "-"; the Host: header is address:port without a virtualhost.
    assert.ok(log.includes(`-|${RS}|200`), log.slice(0, 5).join(' / '));
    assert.ok(log.includes('sni.lab.test|sni.lab.test|200'), log.slice(0, 5).join(' / '));
  });

  test("keepalived's request on the wire, over IPv4 and IPv6 (Host: [address]:port), the real server's virtualhost, http_protocol 1.1", async () => {
    const v6 = await d.waitForRealServer(rsId(`${VIP6}:1701`, `${RS6}:${P_V6}`), (r) => r.checkers[0]!.probes >= 1, 5000);
    assert.ok(v6, 'IPv6 real server not probed');
    assert.equal(v6.rs.alive, true, JSON.stringify(v6.rs.checkers[0]!.lastFailure));
    const log = readFileSync(reqLog, 'utf8').split('\n').filter(Boolean);
    // http_request_thread: GET path HTTP/1.0, User-Agent KeepAliveClient, Host address:port (RFC 2732 brackets for IPv6).
    assert.ok(log.includes(`${RS}:${P_STATUS}|GET /503 HTTP/1.0|KeepAliveClient|-`), log.slice(0, 5).join(' / '));
    assert.ok(log.includes(`[${RS6}]:${P_V6}|GET /page.html HTTP/1.0|KeepAliveClient|-`), log.slice(0, 5).join(' / '));
    // The real server's virtualhost is sent alone (no port); 1.1 asks the server to close.
    assert.equal((await d.realServer(rsOf(1702, P_V6)))?.alive, true);
    assert.ok(log.includes('rs.lab.test|GET /page.html HTTP/1.1|KeepAliveClient|close'), log.slice(0, 5).join(' / '));
  });

  test('notify_up/notify_down as written, notify_fifo RS lines, quorum up/down once each with hysteresis, sorry server', async () => {
    // quorum 2, hysteresis 1 (keepalived's update_quorum_state): quorum is gained at
    // live weight >= quorum + hysteresis = 3 and lost below quorum - hysteresis = 1,
    // so three real servers of weight 1: all three are needed to gain it, and it is
    // lost only when none is left.
    const vs = vsOf(1401);
    const ids = P_QUORUM.map((p) => rsOf(1401, p));
    const atStart = await rec.waitForRuns(1, 5000);
    assert.deepEqual(atStart, [`${rec.script} quorum_up`], 'quorum_up runs at start, as keepalived does');
    let v = await d.virtualServer(vs);
    assert.equal(v?.quorumUp, true);
    assert.equal(v?.sorryActive, false);
    for (const id of ids) assert.ok(await d.waitForRealServer(id, (r) => r.alive && r.checkers[0]!.probes >= 1, 5000));
    const fifoBefore = fifo!.lines().length;

    const m = d.mark();
    await Promise.all([stopNginx('q1'), stopNginx('q2')]);
    for (const id of ids.slice(0, 2)) assert.ok(await d.waitForRs('down', id, m, downBound(false) + 2000), `${id} not down`);
    v = await d.virtualServer(vs);
    assert.equal(v?.liveWeight, 1);
    assert.equal(v?.quorumUp, true, 'live weight 1 is not below quorum - hysteresis');
    assert.equal(v?.sorryActive, false);

    await stopNginx('q3');
    assert.ok(await d.waitForRs('down', ids[2]!, m, downBound(false) + 2000));
    const qdown = await d.waitForLine((l) => l.msg === 'quorum down' && l.virtualServer === vs, m, 2000);
    assert.ok(qdown);
    assert.equal(qdown.line.liveWeight, 0);
    v = await d.virtualServer(vs);
    assert.equal(v?.quorumUp, false);
    assert.equal(v?.sorryActive, true);
    assert.ok(d.linesSince(m, (l) => l.msg === 'sorry server in' && l.virtualServer === vs).length === 1);

    const m2 = d.mark();
    await Promise.all([startNginx('q1', undefined, [P_QUORUM[0]!]), startNginx('q2', undefined, [P_QUORUM[1]!])]);
    for (const id of ids.slice(0, 2)) assert.ok(await d.waitForRs('up', id, m2, upBound(false) + 3000), `${id} not up`);
    v = await d.virtualServer(vs);
    assert.equal(v?.liveWeight, 2);
    assert.equal(v?.quorumUp, false, 'live weight 2 has not reached quorum + hysteresis');
    assert.equal(v?.sorryActive, true);

    await startNginx('q3', undefined, [P_QUORUM[2]!]);
    assert.ok(await d.waitForRs('up', ids[2]!, m2, upBound(false) + 3000));
    assert.ok(await d.waitForLine((l) => l.msg === 'quorum up' && l.virtualServer === vs, m2, 2000));
    v = await d.virtualServer(vs);
    assert.equal(v?.quorumUp, true);
    assert.equal(v?.sorryActive, false);
    assert.equal(v?.liveWeight, 3);
    assert.equal(d.linesSince(m2, (l) => l.msg === 'sorry server out' && l.virtualServer === vs).length, 1);

    // Each crossing once (besides the quorum up at start); the scripts ran with exactly the words written in the config.
    assert.equal(d.linesSince(m, (l) => l.msg === 'quorum down' && l.virtualServer === vs).length, 1);
    assert.equal(d.linesSince(m, (l) => l.msg === 'quorum up' && l.virtualServer === vs).length, 1);
    assert.equal(d.linesSince(0, (l) => l.msg === 'quorum up' && l.virtualServer === vs).length, 2);
    const runs = await rec.waitForRuns(8, 3000);
    assert.ok(runs, `runs: ${rec.runs().join(' / ')}`);
    const s = rec.script;
    assert.deepEqual(runs.slice(1, 3).sort(), [`${s} notify_down q1`, `${s} notify_down q2`]);
    assert.deepEqual(runs.slice(3, 5).sort(), [`${s} notify_down q3`, `${s} quorum_down`]);
    assert.deepEqual(runs.slice(5, 7).sort(), [`${s} notify_up q1`, `${s} notify_up q2`]);
    assert.deepEqual(runs.slice(7).sort(), [`${s} notify_up q3`, `${s} quorum_up`]);

    const rsLine = (port: number, state: string) => `RS [${RS}]:tcp:${port} [${VIP}]:tcp:1401 ${state}`;
    const lines = await fifo!.waitForLines(fifoBefore + 8, 3000);
    assert.ok(lines, `fifo: ${fifo!.lines().join(' / ')}`);
    const ours = lines.slice(fifoBefore).filter((l) => l.includes(`[${VIP}]:tcp:1401`));
    for (const [i, p] of P_QUORUM.entries()) {
      assert.ok(ours.includes(rsLine(p, 'DOWN')), `${i}: ${ours.join(' / ')}`);
      assert.ok(ours.includes(rsLine(p, 'UP')), `${i}: ${ours.join(' / ')}`);
    }
    assert.ok(ours.includes(`VS [${VIP}]:tcp:1401 DOWN`), ours.join(' / '));
    assert.ok(ours.includes(`VS [${VIP}]:tcp:1401 UP`), ours.join(' / '));
  });

  test('bad responses: garbage, an endless 1 GB body, a stalled TLS handshake fail with clear reasons; the daemon stays small and alive', async () => {
    const garbage = await d.waitForRealServer(rsOf(1501, P_GARBAGE), (r) => !r.alive, 6000);
    assert.ok(garbage, 'garbage server not down');
    assert.equal(garbage.rs.checkers[0]!.lastFailure?.reason, 'protocol');
    assert.match(garbage.rs.checkers[0]!.lastFailure!.detail, /no end of HTTP header within the first 4095 bytes/);

    // Status only: 200 is all keepalived checks, and vipflow stops reading after its cap.
    const huge = await d.waitForRealServer(rsOf(1502, P_HUGE), (r) => r.checkers[0]!.probes >= 3, 8000);
    assert.ok(huge);
    assert.equal(huge.rs.alive, true, JSON.stringify(huge.rs.checkers[0]!.lastFailure));
    // A digest over a body larger than the cap fails at once instead of hashing 1 GB.
    const hugeDigest = await d.waitForRealServer(rsOf(1503, P_HUGE), (r) => !r.alive, 6000);
    assert.ok(hugeDigest);
    assert.equal(hugeDigest.rs.checkers[0]!.lastFailure?.reason, 'protocol');
    assert.match(hugeDigest.rs.checkers[0]!.lastFailure!.detail, /body larger than the 16777216-byte cap/);

    const stall = await d.waitForRealServer(rsOf(1504, P_STALL), (r) => !r.alive, 6000);
    assert.ok(stall);
    assert.equal(stall.rs.checkers[0]!.lastFailure?.reason, 'timeout');
    assert.match(stall.rs.checkers[0]!.lastFailure!.detail, /TLS handshake not complete within/);

    // Three urls, each answered 700 ms after its request: every step is within connect_timeout,
    // so keepalived keeps this real server up, however long the three urls take together.
    const slow = await d.waitForRealServer(rsOf(1505, P_SLOW), (r) => r.checkers[0]!.probes >= 2, 10_000);
    assert.ok(slow);
    assert.equal(slow.rs.alive, true, JSON.stringify(slow.rs.checkers[0]!.lastFailure));
    assert.equal(slow.rs.checkers[0]!.lastFailure, undefined, JSON.stringify(slow.rs.checkers[0]!.lastFailure));

    // A few more rounds of 16 MiB reads, then the memory.
    await d.waitForRealServer(rsOf(1502, P_HUGE), (r) => r.checkers[0]!.probes >= huge.rs.checkers[0]!.probes + 3, 8000);
    const mem = d.memory();
    figure(`daemon memory after the huge-body probes: RSS ${Math.round(mem.rssKiB / 1024)} MiB, peak ${Math.round(mem.peakKiB / 1024)} MiB`);
    assert.ok(mem.peakKiB < 300 * 1024, `peak RSS ${mem.peakKiB} KiB`);
    assert.ok(isAlive(d.daemon.pid));
    const s = await d.daemon.status();
    assert.equal(s.pid > 0, true);
    assert.equal(d.linesSince(0, (l) => l.level >= 60).length, 0, 'no fatal log line');
  });

  test("SIGHUP changing one real server's checker keeps the other's checker state, probes and silence", async () => {
    const keep = rsOf(1601, P_KEEP);
    const change = rsOf(1601, P_CHANGE);
    const before = await d.waitForRealServer(keep, (r) => r.alive && r.checkers[0]!.probes >= 3, 6000);
    assert.ok(before);
    const changeBefore = (await d.realServer(change))!;
    assert.equal(changeBefore.alive, true);
    const m = d.mark();
    d.daemon.writeConfig(daemonConf(rec, fifoPath, true));
    d.daemon.signal('SIGHUP');
    const reloaded = await d.waitForLine((l) => l.msg === 'checkers reloaded', m, 5000);
    assert.ok(reloaded, 'no checkers reloaded line');
    assert.deepEqual(reloaded.line.removed, { virtualServers: 0, realServers: 0, checkers: 1 });
    assert.deepEqual(reloaded.line.added, { virtualServers: 0, realServers: 0, checkers: 1 });
    const down = await d.waitForRs('down', change, m, 6000);
    assert.ok(down, 'the changed checker did not take its new url');
    assert.equal(down.line.reason, 'status');
    const after = await d.waitForRealServer(keep, (r) => r.checkers[0]!.probes >= before.rs.checkers[0]!.probes + 2, 5000);
    assert.ok(after, 'the kept checker stopped probing');
    assert.equal(after.rs.alive, true);
    assert.ok(after.rs.checkers[0]!.probes > before.rs.checkers[0]!.probes);
    const changed = (await d.realServer(change))!;
    assert.ok(changed.checkers[0]!.probes < changeBefore.checkers[0]!.probes + 2, 'the changed checker restarted its count');
    assert.equal(d.linesSince(m, (l) => (l.msg === 'real server down' || l.msg === 'real server up') && l.realServer === keep).length, 0);
    // The rest of the daemon did not move either: real servers down before the reload (503, regex,
    // garbage, stalled TLS ...) stay down with no 'up (reload)', live ones stay up.
    assert.equal((await d.realServer(rsOf(1103, P_STATUS)))?.alive, false);
    assert.equal((await d.realServer(rsOf(1504, P_STALL)))?.alive, false);
    assert.equal(d.linesSince(m, (l) => l.msg === 'real server up' || (l.msg === 'real server down' && l.realServer !== change)).length, 0);
  });

  test('SIGTERM while probing the misbehaving servers (stalled handshakes, an endless body, slow urls): the daemon exits 0 promptly', async () => {
    const t0 = performance.now();
    const code = await d.daemon.stop(10_000);
    const took = performance.now() - t0;
    figure(`SIGTERM -> exit ${String(code)} in ${ms(took)} ms`);
    assert.equal(code, 0, d.daemon.stderr());
    assert.ok(took < 5000, `${ms(took)} ms`);
    assert.equal(isAlive(d.daemon.pid), false);
  });
});
