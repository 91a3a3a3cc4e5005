// Real network: one `vipflow run` daemon (node lb) running keepalived's
// MISC_CHECK, DNS_CHECK, SMTP_CHECK, UDP_CHECK, PING_CHECK (IPv4 and IPv6) and
// FILE_CHECK against real servers in other namespaces, observed through its
// JSON log, `vipflow status` (--json and text, and the control socket), the
// files its MISC_CHECK and notify_up / notify_down / quorum_up / quorum_down
// scripts write, its notify_fifo, and a workflows file (`--workflows`) with
// realserver_down and quorum_down workflows. Each fault's detection and
// recovery is timed against keepalived's bound. Also: SIGHUP with the same
// file, and SIGTERM leaving nothing behind.
// Starts: a namespace lab (lb, dns, smtp, udp, ping), the vipflow daemon,
// BIND 9 (named) and a node:dgram fake DNS server in dns, OpenSMTPD (in a
// private mount namespace with tmpfs over /var/spool and /run) and a
// node:net fake SMTP server in smtp, a socat UDP echo in udp, a cat reading
// the FIFO in ping, nft rules inside the server nodes. Everything is stopped
// by PID and the namespaces removed in after(), also when a test fails.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../core/logger.js';
import type { DaemonStatus } from '../../daemon/daemon.js';
import { addDropRule, clearDropRules, createLab, isAlive, pollUntil, sweepStaleLabs, within, type Lab, type SpawnedProcess } from '../../lab/index.js';
import { startBind, type BindServer } from '../../lab/bind.js';
import { namespacePids } from '../../lab/cleanup.js';
import { controlRequest } from '../../infra/control/control-socket.js';
import { startVipflow, type LogLine, type VipflowDaemon } from '../../lab/vipflow.js';

const logger = silentLogger();
const PREFIX = 'chksvc';
const SUBNET = 237;
const NET = `198.18.${SUBNET}`;
const ZONE = 'svc.test';

/** The timings every checker gets (seconds): keepalived's bound follows from them. */
const DELAY_LOOP = 1;
const CONNECT_TIMEOUT = 1;
const RETRY = 1;
const DELAY_BEFORE_RETRY = 1;
/** Timer and event-loop slack on a shared 2-core machine, on top of keepalived's own bound. */
const MARGIN_MS = 1000;
/**
 * keepalived's worst case from a fault to the real server down: the wait for the
 * next probe (delay_loop), then the first failing probe and `retry` more, each
 * taking up to connect_timeout (misc_timeout for MISC_CHECK) and separated by
 * delay_before_retry.
 */
const probeBound = (probeS: number): number => (DELAY_LOOP + (RETRY + 1) * probeS + RETRY * DELAY_BEFORE_RETRY) * 1000 + MARGIN_MS;
const DOWN_BOUND_MS = probeBound(CONNECT_TIMEOUT);
/** SMTP_CHECK's probe may take connect_timeout for the connection and for each of its three reads. */
const SMTP_DOWN_BOUND_MS = probeBound(4 * CONNECT_TIMEOUT);
/** From the checkers' start to down for a real server failing from the start: BOOTSTRAP_DELAY, then one failing probe. */
const START_DOWN_BOUND_MS = 1000 + CONNECT_TIMEOUT * 1000 + MARGIN_MS;
/** From the fault gone to up: a probe in flight may still time out, then the next one comes within delay_loop. */
const UP_BOUND_MS = (CONNECT_TIMEOUT + DELAY_LOOP) * 1000 + MARGIN_MS;

const ADDR = { lb: `${NET}.1`, dns: `${NET}.2`, smtp: `${NET}.3`, udp: `${NET}.4`, ping: `${NET}.5`, ping6: `fd00:198:18:${SUBNET.toString(16)}::5` };
/** Virtual servers (their addresses are never configured: no IPVS, no ha_suspend). */
const VS = {
  misc: `${NET}.101:80`,
  miscMore: `${NET}.102:80`,
  dns: `${NET}.103:53`,
  smtp: `${NET}.104:25`,
  udp: `${NET}.105:9000`,
  ping: `${NET}.106:80`,
  file: `${NET}.107:80`,
};
const rsId = (vs: string, rs: string): string => `${vs}/${rs}`;
const RS = {
  misc: rsId(VS.misc, `${ADDR.ping}:80`),
  dynamic: rsId(VS.miscMore, `${ADDR.ping}:81`),
  hang: rsId(VS.miscMore, `${ADDR.ping}:82`),
  unsafe: rsId(VS.miscMore, `${ADDR.ping}:83`),
  nobody: rsId(VS.miscMore, `${ADDR.ping}:84`),
  bind: rsId(VS.dns, `${ADDR.dns}:53`),
  wrongId: rsId(VS.dns, `${ADDR.dns}:5301`),
  servfail: rsId(VS.dns, `${ADDR.dns}:5302`),
  smtpd: rsId(VS.smtp, `${ADDR.smtp}:25`),
  smtp554: rsId(VS.smtp, `${ADDR.smtp}:2525`),
  udp: rsId(VS.udp, `${ADDR.udp}:9000`),
  /** The same socat through connect_port, without require_reply: silence counts as up. */
  udpSilent: rsId(VS.udp, `${ADDR.udp}:9001`),
  ping: rsId(VS.ping, `${ADDR.ping}:80`),
  ping6: rsId(VS.ping, `${ADDR.ping6}:80`),
  fileWeight: rsId(VS.file, `${ADDR.ping}:80`),
  fileZero: rsId(VS.file, `${ADDR.ping}:81`),
};

/** A fake DNS server on two ports: 5301 answers with another id, 5302 answers SERVFAIL; each answer is a stdout line. */
const FAKE_DNS = `
const dgram = require('node:dgram');
const serve = (port, answer) => {
  const s = dgram.createSocket('udp4');
  s.on('message', (m, r) => { if (m.length < 12) return; const b = answer(Buffer.from(m)); s.send(b, r.port, r.address); console.log(port); });
  s.bind(port, process.argv[1]);
};
serve(5301, (b) => { b.writeUInt16BE((b.readUInt16BE(0) + 1) & 0xffff, 0); b[2] |= 0x80; return b; });
serve(5302, (b) => { b[2] |= 0x80; b[3] = (b[3] & 0xf0) | 2; return b; });
`;
/** A fake SMTP server refusing service in its banner; each connection is a stdout line. */
const FAKE_SMTP = `
require('node:net').createServer((s) => { console.log('conn'); s.on('error', () => {}); s.end('554 5.3.2 no service here\\r\\n'); }).listen(2525, process.argv[1]);
`;

const UDP_PAYLOAD = '76 69 70 66 6c 6f 77'; // "vipflow"

describe('vipflow run with MISC, DNS, SMTP, UDP, PING and FILE checkers against real servers', () => {
  let lab: Lab;
  let daemon: VipflowDaemon;
  let bind: BindServer | undefined;
  let smtpd: SpawnedProcess | undefined;
  let socat: SpawnedProcess | undefined;
  let fakeDns: SpawnedProcess;
  let fakeSmtp: SpawnedProcess;
  let fakeDnsOut = '';
  let fakeSmtpOut = '';
  let smtpdLog = '';
  let fifoReader: SpawnedProcess;
  let fifoOut = '';
  let dir: string;
  const figures: string[] = [];

  const path = (name: string): string => join(dir, name);

  /** A root-owned script, mode 0755 unless told. */
  function script(name: string, body: string, mode = 0o755): string {
    const p = path(name);
    writeFileSync(p, `#!/bin/sh\n${body}\n`);
    chmodSync(p, mode);
    return p;
  }

  function config(): string {
    const timings = `    delay_loop ${DELAY_LOOP}\n    connect_timeout ${CONNECT_TIMEOUT}\n    retry ${RETRY}\n    delay_before_retry ${DELAY_BEFORE_RETRY}\n    warmup 0`;
    const misc = (name: string, extra = ''): string => `MISC_CHECK {\n      misc_path "${path(name)}"\n      misc_timeout 1\n${extra}    }`;
    const vs = (id: string, body: string, extra = ''): string => {
      const [address, port] = id.split(':');
      // protocol TCP: without it keepalived (and vipflow) run the service as UDP.
      return `virtual_server ${address} ${port} {\n    protocol TCP\n${timings}\n${extra}${body}}\n`;
    };
    const rs = (id: string, weight: number, checker: string, extra = ''): string => {
      const [address, port] = id.split('/')[1]!.split(':');
      return `  real_server ${address} ${port} {\n    weight ${weight}\n${extra}    ${checker}\n  }\n`;
    };
    const note = (what: string): string => `"${path('note.sh')} ${what}"`;
    return [
      `global_defs {\n  router_id chksvc\n  enable_script_security\n  script_user root\n  notify_fifo ${path('notify.fifo')}\n}`,
      `track_file tf {\n  file ${path('tf.value')}\n  weight 1\n}`,
      vs(
        VS.misc,
        rs(RS.misc, 1, misc('misc.sh'), `    notify_up ${note('rs-up')}\n    notify_down ${note('rs-down')}\n`),
        `    quorum 1\n    quorum_up ${note('quorum-up')}\n    quorum_down ${note('quorum-down')}\n`,
      ),
      vs(
        VS.miscMore,
        [
          rs(RS.dynamic, 5, misc('dynamic.sh', '      misc_dynamic\n')),
          rs(RS.hang, 1, misc('hang.sh')),
          rs(RS.unsafe, 1, misc('unsafe.sh')),
          rs(RS.nobody, 1, misc('nobody.sh', '      user nobody\n')),
        ].join(''),
      ),
      vs(
        VS.dns,
        [
          rs(RS.bind, 1, `DNS_CHECK {\n      type SOA\n      name ${ZONE}\n    }`),
          rs(RS.wrongId, 1, `DNS_CHECK {\n      name ${ZONE}\n    }`),
          rs(RS.servfail, 1, `DNS_CHECK {\n      name ${ZONE}\n    }`),
        ].join(''),
        '    protocol UDP\n',
      ),
      vs(
        VS.smtp,
        [rs(RS.smtpd, 1, 'SMTP_CHECK {\n      helo_name lb.svc.test\n    }'), rs(RS.smtp554, 1, 'SMTP_CHECK {\n      helo_name lb.svc.test\n    }')].join(''),
      ),
      vs(
        VS.udp,
        [
          rs(RS.udp, 1, `UDP_CHECK {\n      payload ${UDP_PAYLOAD}\n      require_reply ${UDP_PAYLOAD}\n    }`),
          rs(RS.udpSilent, 1, `UDP_CHECK {\n      connect_port 9000\n    }`),
        ].join(''),
        '    protocol UDP\n',
      ),
      vs(VS.ping, [rs(RS.ping, 1, 'PING_CHECK {\n    }'), `  real_server ${ADDR.ping6} 80 {\n    PING_CHECK {\n    }\n  }\n`].join('')),
      vs(
        VS.file,
        [
          rs(RS.fileWeight, 10, 'FILE_CHECK {\n      track_file tf\n      weight 2\n    }'),
          rs(RS.fileZero, 10, 'FILE_CHECK {\n      track_file tf\n      weight 0\n    }'),
        ].join(''),
      ),
    ].join('\n');
  }

  async function startSmtpd(): Promise<SpawnedProcess> {
    const conf = path('smtpd.conf');
    writeFileSync(conf, `listen on ${ADDR.smtp} port 25 hostname mx.svc.test\naction "local" mbox\nmatch from local for local action "local"\n`, {
      mode: 0o644,
    });
    // smtpd's queue (/var/spool/smtpd) and control socket (/run) are compiled in: give it its own tmpfs for both.
    const p = lab.spawn('smtp', 'unshare', [
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      `mount -t tmpfs tmpfs /var/spool && mount -t tmpfs tmpfs /run && exec /usr/sbin/smtpd -d -f ${conf}`,
    ]);
    p.child.stdout?.setEncoding('utf8').on('data', (d: string) => (smtpdLog += d));
    p.child.stderr?.setEncoding('utf8').on('data', (d: string) => (smtpdLog += d));
    assert.ok(await listening('smtp', 'tcp', 25, true), 'smtpd listens on port 25');
    return p;
  }

  async function startSocat(): Promise<SpawnedProcess> {
    const p = lab.spawn('udp', 'socat', [`UDP4-RECVFROM:9000,bind=${ADDR.udp},fork`, 'PIPE']);
    assert.ok(await listening('udp', 'udp', 9000, true), 'socat listens on UDP 9000');
    return p;
  }

  /** Whether a node has (or no longer has) a socket bound to `port`, within 10 s. */
  async function listening(node: string, proto: 'tcp' | 'udp', port: number, want: boolean): Promise<boolean> {
    const r = await pollUntil(
      async () => {
        const ss = await lab.exec(node, 'ss', [proto === 'tcp' ? '-ltnH' : '-lunH'], 3000);
        const has = ss.stdout.split('\n').some((l) => l.split(/\s+/)[3]?.endsWith(`:${port}`));
        return has === want ? true : undefined;
      },
      10_000,
      50,
    );
    return r === true;
  }

  /** Ends a process this test started (SIGTERM, then SIGKILL after 5 s). */
  async function stopProcess(p: SpawnedProcess | undefined): Promise<void> {
    if (p === undefined || !isAlive(p.pid)) return;
    process.kill(p.pid, 'SIGTERM');
    if ((await within(p.exited, 5000)) === 'timeout' && isAlive(p.pid)) {
      process.kill(p.pid, 'SIGKILL');
      await within(p.exited, 2000);
    }
  }

  const rsLine = (msg: string, rs: string) => (l: LogLine) => l.msg === msg && l.realServer === rs;

  /** The first line after `mark` matching, and when this process saw it (polled every 10 ms). */
  async function lineAfter(mark: number, match: (l: LogLine) => boolean, timeoutMs: number): Promise<{ line: LogLine; at: number } | undefined> {
    return pollUntil(
      () => {
        const line = daemon.lines.slice(mark).find(match);
        return line === undefined ? undefined : { line, at: performance.now() };
      },
      timeoutMs,
      10,
    );
  }

  /**
   * Applies `fault` and waits for the real server's 'real server down' line within `boundMs` of it.
   * @returns the line and the latency
   */
  async function downAfter(rs: string, fault: () => Promise<void>, boundMs: number, what: string): Promise<{ line: LogLine; ms: number }> {
    const mark = daemon.lines.length;
    await fault();
    const t0 = performance.now();
    const seen = await lineAfter(mark, rsLine('real server down', rs), boundMs + 3000);
    assert.ok(seen, `${what}: no 'real server down' for ${rs}: ${tail()}`);
    const ms = seen.at - t0;
    figures.push(`${what}: down after ${Math.round(ms)} ms (bound ${boundMs} ms), reason ${String(seen.line.reason)}`);
    assert.ok(ms <= boundMs, `${what}: down after ${Math.round(ms)} ms, bound ${boundMs} ms`);
    await daemonAnswers(false);
    return { line: seen.line, ms };
  }

  async function upAfter(rs: string, repair: () => Promise<void>, boundMs: number, what: string): Promise<{ line: LogLine; ms: number }> {
    const mark = daemon.lines.length;
    await repair();
    const t0 = performance.now();
    const seen = await lineAfter(mark, rsLine('real server up', rs), boundMs + 3000);
    assert.ok(seen, `${what}: no 'real server up' for ${rs}: ${tail()}`);
    const ms = seen.at - t0;
    figures.push(`${what}: up after ${Math.round(ms)} ms (bound ${boundMs} ms)`);
    assert.ok(ms <= boundMs, `${what}: up after ${Math.round(ms)} ms, bound ${boundMs} ms`);
    await daemonAnswers(false);
    return { line: seen.line, ms };
  }

  /**
   * After every fault: the daemon still runs and answers `vipflow status --json` (a node process per call), or,
   * with `cli` false, the same request on its control socket from this process (cheaper on a loaded machine).
   */
  async function daemonAnswers(cli = true): Promise<DaemonStatus> {
    assert.ok(isAlive(daemon.pid), `daemon ${daemon.pid} alive`);
    let st: DaemonStatus;
    if (cli) st = await daemon.status();
    else {
      const r = await controlRequest(join(daemon.stateDir, 'control.sock'), 'status');
      assert.ok(r.ok, r.error);
      st = r.status as DaemonStatus;
    }
    assert.equal(st.pid, daemon.pid);
    return st;
  }

  function realServer(st: DaemonStatus, rs: string) {
    const vs = st.checks.virtualServers.find((v) => v.realServers.some((r) => r.id === rs));
    const r = vs?.realServers.find((x) => x.id === rs);
    assert.ok(r, `${rs} in status: ${JSON.stringify(st.checks.virtualServers.map((v) => v.realServers.map((x) => x.id)))}`);
    return r;
  }

  function tail(): string {
    return daemon.lines
      .slice(-15)
      .map((l) => `${l.msg} ${JSON.stringify({ realServer: l.realServer, reason: l.reason, detail: l.detail, err: l.err })}`)
      .join('\n');
  }

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['lb', 'dns', 'smtp', 'udp', 'ping'], subnet: SUBNET, logger });
    dir = join(lab.dir, 'svc');
    // The lab dir is root's 0700: open it so `user nobody` can reach its script.
    chmodSync(lab.dir, 0o755);
    mkdirSync(dir, { mode: 0o755 });
    mkdirSync(path('out'), { mode: 0o777 });
    chmodSync(path('out'), 0o777);
    writeFileSync(path('misc.code'), '0\n');
    writeFileSync(path('dynamic.code'), '0\n');
    writeFileSync(path('tf.value'), '0\n');
    script('misc.sh', `exit $(cat ${path('misc.code')})`);
    script('note.sh', `echo "$*" >> ${path('notes.log')}`);
    // keepalived's notify_fifo, read by a cat in another node (a FIFO is a file: namespaces do not matter).
    execFileSync('mkfifo', ['-m', '0600', path('notify.fifo')]);
    fifoReader = lab.spawn('ping', 'cat', [path('notify.fifo')]);
    fifoReader.child.stdout?.setEncoding('utf8').on('data', (d: string) => (fifoOut += d));
    script('dynamic.sh', `exit $(cat ${path('dynamic.code')})`);
    // Each run notes its own PID and its child's, then waits on a child that outlives misc_timeout.
    script('hang.sh', `sleep 30 &\necho "$$ $!" >> ${path('hang.pids')}\nwait`);
    script('unsafe.sh', 'exit 0', 0o777);
    chmodSync(path('unsafe.sh'), 0o777);
    script('nobody.sh', `id -u > ${path('out')}/nobody.uid\nexit 0`);

    bind = await startBind({ address: ADDR.dns, port: 53, zone: ZONE, keyName: 'chksvc-key', lab: { lab, node: 'dns' } });
    fakeDns = lab.spawn('dns', process.execPath, ['-e', FAKE_DNS, ADDR.dns]);
    fakeDns.child.stdout?.setEncoding('utf8').on('data', (d: string) => (fakeDnsOut += d));
    fakeSmtp = lab.spawn('smtp', process.execPath, ['-e', FAKE_SMTP, ADDR.smtp]);
    fakeSmtp.child.stdout?.setEncoding('utf8').on('data', (d: string) => (fakeSmtpOut += d));
    smtpd = await startSmtpd();
    socat = await startSocat();
    assert.ok(await listening('dns', 'udp', 5302, true), 'the fake DNS server listens');
    assert.ok(await listening('smtp', 'tcp', 2525, true), 'the fake SMTP server listens');

    // The workflows: a checker event's data appended to a file as one JSON line.
    const workflows = path('workflows.mjs');
    writeFileSync(
      workflows,
      `import { appendFileSync } from 'node:fs';
import { defineWorkflow } from 'vipflow/workflows';
const note = (file) => ({ name: 'note', run: (ctx) => appendFileSync(file, JSON.stringify({ type: ctx.event.type, data: ctx.event.data }) + '\\n') });
export default [
  defineWorkflow({ name: 'misc-down', on: { to: 'realserver_down', virtualServer: ${JSON.stringify(VS.misc)}, realServer: ${JSON.stringify(RS.misc.split('/')[1])} }, steps: [note(${JSON.stringify(path('wf-down.jsonl'))})] }),
  defineWorkflow({ name: 'misc-quorum-down', on: { to: 'quorum_down', virtualServer: ${JSON.stringify(VS.misc)} }, steps: [note(${JSON.stringify(path('wf-quorum.jsonl'))})] }),
];
`,
    );
    // Checkers only (--lb none): one virtual server here mixes IPv4 and IPv6 real servers, which no NAT rule can
    // serve; the load-balancer rules have their own tests (lb-nft, lb-daemon).
    daemon = await startVipflow(lab, 'lb', 'lb', config(), { args: ['--workflows', workflows, '--lb', 'none'] });
  });

  after(async () => {
    if (figures.length > 0) console.log(figures.map((f) => `# ${f}`).join('\n'));
    await daemon?.kill();
    await bind?.stop();
    await stopProcess(smtpd);
    await stopProcess(socat);
    await lab?.destroy();
  });

  test('at start: the healthy real servers are up; the fakes and the unsafe script go down with the reason of each', async () => {
    // Every checker has probed at least once (first probe 1 s after start, warmup 0).
    const st = await pollUntil(
      async () => {
        const s = await daemonAnswers(false);
        const all = s.checks.virtualServers.flatMap((v) => v.realServers.flatMap((r) => r.checkers));
        return all.length > 0 && all.every((c) => c.probes > 0 || c.type === 'FILE_CHECK') ? s : undefined;
      },
      DOWN_BOUND_MS + 3000,
      100,
    );
    assert.ok(st, `every checker probed: ${tail()}`);
    assert.equal(st.checks.issues.length, 0, JSON.stringify(st.checks.issues));
    // Probes that fail from the start: one failure is enough before the first success (retry_it starts at retry).
    const downs = await pollUntil(() => {
      const want = [RS.wrongId, RS.servfail, RS.smtp554, RS.hang, RS.unsafe];
      const got = want.map((rs) => daemon.lines.find(rsLine('real server down', rs)));
      return got.every((l) => l !== undefined) ? got : undefined;
    }, DOWN_BOUND_MS + 2000);
    assert.ok(downs, `the failing real servers are down: ${tail()}`);
    const [wrongId, servfail, smtp554, hang, unsafe] = downs as LogLine[];
    // From the checkers' start (the daemon's own clock): the first probe comes after keepalived's
    // 1 s BOOTSTRAP_DELAY (warmup 0) and fails within connect_timeout / misc_timeout. The line is
    // written just after the timers start, hence a little less than 1 s as the lower bound.
    const running = daemon.lines.find((l) => l.msg === 'checkers running');
    assert.ok(running, 'checkers running logged');
    assert.equal(running.checkers, 16);
    for (const l of downs as LogLine[]) {
      const ms = Date.parse(l.time) - Date.parse(running.time);
      figures.push(`from the checkers' start to ${String(l.realServer)} down (${String(l.reason)}): ${ms} ms (bound ${START_DOWN_BOUND_MS} ms)`);
      assert.ok(ms >= 900 && ms <= START_DOWN_BOUND_MS, `${String(l.realServer)}: ${ms} ms`);
    }

    // A reply with another id is skipped: the probe waits its connect_timeout out.
    assert.equal(wrongId!.reason, 'timeout', JSON.stringify(wrongId));
    assert.match(String(wrongId!.detail), /no reply within 1000 ms; skipped: reply id 0x[0-9a-f]{4} is not the query's 0x[0-9a-f]{4}/);
    assert.match(fakeDnsOut, /^5301$/m, 'the fake server did answer (with the wrong id)');
    assert.equal(servfail!.reason, 'dns');
    assert.match(String(servfail!.detail), new RegExp(`dns ${ADDR.dns.replaceAll('.', '\\.')}:5302: ${ZONE.replace('.', '\\.')} SOA: SERVFAIL \\(rcode 2\\)`));
    assert.equal(smtp554!.reason, 'smtp');
    assert.match(String(smtp554!.detail), /bad greeting banner: "554 5\.3\.2 no service here"/);
    assert.match(fakeSmtpOut, /conn/);
    assert.equal(hang!.reason, 'timeout');
    assert.match(String(hang!.detail), /no exit within 1000 ms: process group killed/);
    assert.equal(unsafe!.reason, 'spawn');
    assert.match(String(unsafe!.detail), /not run: unsafe permissions: .*unsafe\.sh writable by everybody \(enable_script_security\)/);
    for (const l of [wrongId, servfail, smtp554, hang, unsafe]) assert.match(String(l!.checker), /#0$/);

    // The healthy ones never went down, and the status agrees with the log.
    const now = await daemonAnswers();
    for (const rs of [RS.misc, RS.dynamic, RS.nobody, RS.bind, RS.smtpd, RS.udp, RS.udpSilent, RS.ping, RS.ping6, RS.fileWeight, RS.fileZero]) {
      assert.equal(daemon.lines.find(rsLine('real server down', rs)), undefined, `${rs} never down: ${tail()}`);
      assert.equal(realServer(now, rs).alive, true, rs);
    }
    for (const rs of [RS.wrongId, RS.servfail, RS.smtp554, RS.hang, RS.unsafe]) {
      const r = realServer(now, rs);
      assert.equal(r.alive, false, rs);
      assert.equal(r.checkers[0]!.state, 'down');
      assert.ok(r.checkers[0]!.lastFailure !== undefined && r.checkers[0]!.lastFailure.time.length > 0);
    }
    assert.equal(realServer(now, RS.smtp554).checkers[0]!.lastFailure!.reason, 'smtp');
    // user nobody: the script ran as uid 65534.
    const uid = await pollUntil(() => (existsSync(path('out/nobody.uid')) ? readFileSync(path('out/nobody.uid'), 'utf8').trim() : undefined), 3000);
    assert.equal(uid, '65534');
  });

  test('MISC_CHECK: exit 1 is down (exit-code), exit 0 up again; the realserver_down and quorum_down workflows get the events', async () => {
    const quorumMark = daemon.lines.length;
    const notes = (): string[] => (existsSync(path('notes.log')) ? readFileSync(path('notes.log'), 'utf8').trim().split('\n') : []);
    const notesBefore = notes().length;
    const fifoBefore = fifoOut.length;
    const down = await downAfter(RS.misc, async () => writeFileSync(path('misc.code'), '1\n'), probeBound(1), 'MISC_CHECK exit 1');
    assert.equal(down.line.reason, 'exit-code');
    assert.equal(down.line.detail, 'exit 1');
    const quorum = await lineAfter(quorumMark, (l) => l.msg === 'quorum down' && l.virtualServer === VS.misc, 2000);
    assert.ok(quorum, `quorum down for ${VS.misc}: ${tail()}`);
    assert.equal(quorum.line.liveWeight, 0);
    const st = await daemonAnswers();
    const vs = st.checks.virtualServers.find((v) => v.id === VS.misc)!;
    assert.equal(vs.quorumUp, false);
    // The same changes went out on the event bus.
    const types = st.events.recent.map((e) => e.type);
    assert.ok(types.includes('realserver.down') && types.includes('virtualserver.quorum'), JSON.stringify(types));
    assert.equal(realServer(st, RS.misc).checkers[0]!.lastFailure?.reason, 'exit-code');

    // The workflow steps ran with the events' data.
    const read = (f: string): { type: string; data: Record<string, unknown> }[] | undefined =>
      existsSync(path(f))
        ? readFileSync(path(f), 'utf8')
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l) as { type: string; data: Record<string, unknown> })
        : undefined;
    const ran = await pollUntil(() => read('wf-down.jsonl'), 5000);
    assert.ok(ran, `the realserver_down workflow ran: ${tail()}`);
    assert.equal(ran.length, 1, JSON.stringify(ran));
    assert.equal(ran[0]!.type, 'realserver.down');
    assert.equal(ran[0]!.data.realServer, RS.misc);
    assert.equal(ran[0]!.data.virtualServer, VS.misc);
    assert.equal(ran[0]!.data.reason, 'exit-code');
    assert.equal(ran[0]!.data.detail, 'exit 1');
    const q = await pollUntil(() => read('wf-quorum.jsonl'), 5000);
    assert.ok(q, 'the quorum_down workflow ran');
    assert.equal(q[0]!.type, 'virtualserver.quorum');
    assert.equal(q[0]!.data.up, false);
    assert.equal(q[0]!.data.virtualServer, VS.misc);
    // Only the misc real server's down reached the filtered workflow (the other real servers went down at start).
    assert.ok(!readFileSync(path('wf-down.jsonl'), 'utf8').includes(RS.wrongId));

    // keepalived's notify_down and quorum_down scripts ran (with no arguments of their own), and the FIFO got its lines.
    const downNotes = await pollUntil(() => {
      const n = notes().slice(notesBefore).sort();
      return n.length >= 2 ? n : undefined;
    }, 3000);
    assert.deepEqual(downNotes, ['quorum-down', 'rs-down']);
    const rsFifo = `RS [${ADDR.ping}]:tcp:80 [${NET}.101]:tcp:80`;
    const vsFifo = `VS [${NET}.101]:tcp:80`;
    const fifoLines = await pollUntil(() => {
      const lines = fifoOut.slice(fifoBefore).trim().split('\n');
      return lines.includes(`${rsFifo} DOWN`) && lines.includes(`${vsFifo} DOWN`) ? lines : undefined;
    }, 3000);
    assert.ok(fifoLines, `notify_fifo lines: ${fifoOut.slice(fifoBefore)}`);

    await upAfter(RS.misc, async () => writeFileSync(path('misc.code'), '0\n'), UP_BOUND_MS, 'MISC_CHECK exit 0');
    const upNotes = await pollUntil(() => {
      const n = notes()
        .slice(notesBefore + 2)
        .sort();
      return n.length >= 2 ? n : undefined;
    }, 3000);
    assert.deepEqual(upNotes, ['quorum-up', 'rs-up']);
    assert.ok(
      await pollUntil(
        () => (fifoOut.slice(fifoBefore).includes(`${rsFifo} UP`) && fifoOut.slice(fifoBefore).includes(`${vsFifo} UP`) ? true : undefined),
        3000,
      ),
      fifoOut,
    );
    assert.ok(await lineAfter(quorumMark, (l) => l.msg === 'quorum up' && l.virtualServer === VS.misc, 2000), 'quorum up again');
    // quorum_down fired once, the realserver_down workflow once: the up events trigger neither.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(read('wf-quorum.jsonl')!.length, 1);
    assert.equal(read('wf-down.jsonl')!.length, 1);
  });

  test('MISC_CHECK misc_dynamic: exits 2..255 set the weight to code - 2; 0 restores it; 1 is down', async () => {
    const weights: [string, number][] = [
      ['12', 10],
      ['2', 0],
      ['255', 253],
      ['0', 5],
    ];
    for (const [code, weight] of weights) {
      const mark = daemon.lines.length;
      writeFileSync(path('dynamic.code'), `${code}\n`);
      const t0 = performance.now();
      const seen = await lineAfter(mark, rsLine('real server weight', RS.dynamic), UP_BOUND_MS + 2000);
      assert.ok(seen, `exit ${code}: no 'real server weight': ${tail()}`);
      assert.equal(seen.line.weight, weight, `exit ${code}`);
      figures.push(`misc_dynamic exit ${code}: weight ${weight} after ${Math.round(seen.at - t0)} ms`);
      const r = realServer(await daemonAnswers(false), RS.dynamic);
      assert.equal(r.weight, weight);
      assert.equal(r.alive, true);
    }
    const down = await downAfter(RS.dynamic, async () => writeFileSync(path('dynamic.code'), '1\n'), probeBound(1), 'misc_dynamic exit 1');
    assert.equal(down.line.reason, 'exit-code');
    await upAfter(RS.dynamic, async () => writeFileSync(path('dynamic.code'), '0\n'), UP_BOUND_MS, 'misc_dynamic exit 0');
  });

  test("MISC_CHECK misc_timeout: every timed-out run's process group is killed (the script and its child)", async () => {
    const runs = (): number[][] =>
      readFileSync(path('hang.pids'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(' ').map(Number));
    // Each run is killed at misc_timeout (1 s); the next starts a delay_loop after the last one started.
    const seen = await pollUntil(() => (runs().length >= 3 ? runs() : undefined), 6000, 100);
    assert.ok(seen, 'the hanging script ran three times');
    const ended = seen.slice(0, -1);
    const alive = await pollUntil(() => {
      const left = ended.flat().filter((pid) => isAlive(pid));
      return left.length === 0 ? left : undefined;
    }, 2000);
    assert.deepEqual(alive, [], `no script or child of a timed-out run left: ${JSON.stringify(ended)}`);
    const c = realServer(await daemonAnswers(), RS.hang).checkers[0]!;
    assert.equal(c.lastFailure?.reason, 'timeout');
    assert.ok(c.probes >= 3);
  });

  test('DNS_CHECK against BIND 9: named stopped (ICMP port unreachable) and queries dropped (timeout) are down; each recovers', async () => {
    const c = realServer(await daemonAnswers(), RS.bind).checkers[0]!;
    assert.equal(c.state, 'up');
    assert.ok(c.probes >= 1);
    const refused = await downAfter(RS.bind, () => bind!.stop(), DOWN_BOUND_MS, 'DNS_CHECK named stopped');
    assert.equal(refused.line.reason, 'refused', JSON.stringify(refused.line));
    bind = undefined;
    await upAfter(
      RS.bind,
      async () => {
        bind = await startBind({ address: ADDR.dns, port: 53, zone: ZONE, keyName: 'chksvc-key', lab: { lab, node: 'dns' } });
      },
      UP_BOUND_MS,
      'DNS_CHECK named restarted',
    );
    const dropped = await downAfter(
      RS.bind,
      async () => assert.equal(await addDropRule(lab, 'dns', 'input', 'udp dport 53'), undefined),
      DOWN_BOUND_MS,
      'DNS_CHECK queries dropped',
    );
    assert.equal(dropped.line.reason, 'timeout');
    assert.match(String(dropped.line.detail), /no reply within 1000 ms$/);
    await upAfter(RS.bind, async () => assert.equal(await clearDropRules(lab, 'dns'), undefined), UP_BOUND_MS, 'DNS_CHECK drop removed');
  });

  test('SMTP_CHECK against OpenSMTPD: up with its banner; smtpd stopped is down (refused); restarted, up again', async () => {
    const c = realServer(await daemonAnswers(), RS.smtpd).checkers[0]!;
    assert.equal(c.state, 'up');
    assert.ok(c.probes >= 1);
    assert.equal(c.lastFailure, undefined);
    // smtpd saw the checker's whole conversation: HELO with the configured name, then QUIT.
    assert.match(smtpdLog, /smtp connected address=198\.18\.237\.1 /);
    assert.match(smtpdLog, /smtp disconnected reason=quit/);
    const down = await downAfter(RS.smtpd, () => stopProcess(smtpd), SMTP_DOWN_BOUND_MS, 'SMTP_CHECK smtpd stopped');
    assert.equal(down.line.reason, 'refused', JSON.stringify(down.line));
    assert.ok(await listening('smtp', 'tcp', 25, false));
    smtpd = undefined;
    await upAfter(
      RS.smtpd,
      async () => {
        smtpd = await startSmtpd();
      },
      UP_BOUND_MS,
      'SMTP_CHECK smtpd restarted',
    );
  });

  test('UDP_CHECK against socat: echo up; socat stopped is down (ICMP port unreachable: refused); dropped is down with require_reply (timeout), up without', async () => {
    const stopMark = daemon.lines.length;
    const down = await downAfter(
      RS.udp,
      async () => {
        await stopProcess(socat);
        assert.ok(await listening('udp', 'udp', 9000, false), 'no socat child left on the port');
      },
      DOWN_BOUND_MS,
      'UDP_CHECK socat stopped',
    );
    assert.equal(down.line.reason, 'refused', JSON.stringify(down.line));
    assert.match(String(down.line.detail), new RegExp(`udp ${ADDR.udp.replaceAll('.', '\\.')}:9000`));
    // The port unreachable fails the checker without require_reply too.
    const silentDown = await lineAfter(stopMark, rsLine('real server down', RS.udpSilent), DOWN_BOUND_MS);
    assert.equal(silentDown?.line.reason, 'refused', tail());
    socat = undefined;
    await upAfter(
      RS.udp,
      async () => {
        socat = await startSocat();
      },
      UP_BOUND_MS,
      'UDP_CHECK socat restarted',
    );
    assert.ok(await lineAfter(stopMark, rsLine('real server up', RS.udpSilent), UP_BOUND_MS), `${RS.udpSilent} up again: ${tail()}`);
    const dropMark = daemon.lines.length;
    const dropped = await downAfter(
      RS.udp,
      async () => assert.equal(await addDropRule(lab, 'udp', 'input', 'udp dport 9000'), undefined),
      DOWN_BOUND_MS,
      'UDP_CHECK datagrams dropped',
    );
    assert.equal(dropped.line.reason, 'timeout');
    assert.match(String(dropped.line.detail), /no reply within 1000 ms \(require_reply\)/);
    // Without require_reply, silence is up (keepalived: nobody said no): it probed through the drop and stayed up.
    const silent = realServer(await daemonAnswers(), RS.udpSilent);
    assert.equal(silent.alive, true);
    assert.equal(daemon.lines.slice(dropMark).find(rsLine('real server down', RS.udpSilent)), undefined);
    await upAfter(RS.udp, async () => assert.equal(await clearDropRules(lab, 'udp'), undefined), UP_BOUND_MS, 'UDP_CHECK drop removed');
  });

  test('PING_CHECK over IPv4 and IPv6: echo requests dropped in the host are down (timeout); back up once the rule is gone', async () => {
    const mark = daemon.lines.length;
    const down = await downAfter(
      RS.ping,
      async () => {
        assert.equal(await addDropRule(lab, 'ping', 'input', 'icmp type echo-request'), undefined);
        assert.equal(await addDropRule(lab, 'ping', 'input', 'icmpv6 type echo-request'), undefined);
      },
      DOWN_BOUND_MS,
      'PING_CHECK echo dropped',
    );
    assert.equal(down.line.reason, 'timeout');
    assert.equal(down.line.detail, `ping ${ADDR.ping}: no echo reply within 1000 ms`);
    const down6 = await lineAfter(mark, rsLine('real server down', RS.ping6), DOWN_BOUND_MS);
    assert.ok(down6, `${RS.ping6} down: ${tail()}`);
    assert.equal(down6.line.detail, `ping ${ADDR.ping6}: no echo reply within 1000 ms`);
    const upMark = daemon.lines.length;
    await upAfter(RS.ping, async () => assert.equal(await clearDropRules(lab, 'ping'), undefined), UP_BOUND_MS, 'PING_CHECK drop removed');
    assert.ok(await lineAfter(upMark, rsLine('real server up', RS.ping6), UP_BOUND_MS), `${RS.ping6} up: ${tail()}`);
  });

  test('FILE_CHECK: the track_file value times the weight is added; with weight 0 a non-zero value is down', async () => {
    let st = await daemonAnswers();
    assert.equal(realServer(st, RS.fileWeight).weight, 10);
    assert.equal(realServer(st, RS.fileZero).weight, 10);
    const weightMark = daemon.lines.length;
    const down = await downAfter(RS.fileZero, async () => writeFileSync(path('tf.value'), '3\n'), 500, 'FILE_CHECK weight 0, value 3');
    assert.equal(down.line.reason, 'file');
    assert.equal(down.line.detail, 'track_file tf is 3');
    const w = await lineAfter(weightMark, rsLine('real server weight', RS.fileWeight), 1000);
    assert.ok(w, `weight changed: ${tail()}`);
    assert.equal(w.line.weight, 16);
    st = await daemonAnswers();
    assert.equal(realServer(st, RS.fileWeight).weight, 16);
    assert.equal(realServer(st, RS.fileWeight).alive, true);
    assert.equal(realServer(st, RS.fileZero).alive, false);
    const fc = realServer(st, RS.fileZero).checkers[0]!;
    assert.equal(fc.state, 'down');
    assert.equal(fc.lastFailure?.detail, 'track_file tf is 3');

    const mark = daemon.lines.length;
    await upAfter(RS.fileZero, async () => writeFileSync(path('tf.value'), '0\n'), 500, 'FILE_CHECK value 0');
    const back = await lineAfter(mark, rsLine('real server weight', RS.fileWeight), 1000);
    assert.equal(back?.line.weight, 10);
    // A value whose product reaches keepalived's fault weight (INT_MIN) is down even with a non-zero weight.
    await downAfter(RS.fileWeight, async () => writeFileSync(path('tf.value'), '-2147483648\n'), 500, 'FILE_CHECK value INT_MIN');
    await upAfter(RS.fileWeight, async () => writeFileSync(path('tf.value'), '0\n'), 500, 'FILE_CHECK value 0 again');
    assert.equal(realServer(await daemonAnswers(), RS.fileWeight).weight, 10);
  });

  test('SIGHUP with the same file: every checker kept with its verdict, misc_dynamic and FILE_CHECK weights; no health event', async () => {
    // A non-default state to keep: a misc_dynamic weight, a track_file value, real servers down.
    let mark = daemon.lines.length;
    writeFileSync(path('dynamic.code'), '12\n');
    assert.ok(await lineAfter(mark, (l) => rsLine('real server weight', RS.dynamic)(l) && l.weight === 10, UP_BOUND_MS), tail());
    mark = daemon.lines.length;
    writeFileSync(path('tf.value'), '3\n');
    assert.ok(await lineAfter(mark, rsLine('real server down', RS.fileZero), 1000), tail());
    const before = await daemonAnswers(false);
    const view = (st: DaemonStatus) =>
      st.checks.virtualServers.map((v) => ({
        id: v.id,
        quorumUp: v.quorumUp,
        liveWeight: v.liveWeight,
        realServers: v.realServers.map((r) => ({ id: r.id, alive: r.alive, weight: r.weight, checkers: r.checkers.map((c) => `${c.id} ${c.state}`) })),
      }));
    mark = daemon.lines.length;
    daemon.signal('SIGHUP');
    const reloaded = await lineAfter(mark, (l) => l.msg === 'checkers reloaded', 5000);
    assert.ok(reloaded, tail());
    assert.deepEqual(reloaded.line.added, { virtualServers: 0, realServers: 0, checkers: 0 });
    assert.deepEqual(reloaded.line.removed, { virtualServers: 0, realServers: 0, checkers: 0 });
    assert.equal(reloaded.line.kept, 16);
    // Two delay_loops later nothing has changed and no health event was logged.
    await new Promise((r) => setTimeout(r, 2 * DELAY_LOOP * 1000 + 300));
    const after = await daemonAnswers();
    assert.deepEqual(view(after), view(before));
    assert.equal(realServer(after, RS.dynamic).weight, 10);
    assert.equal(realServer(after, RS.fileWeight).weight, 16);
    assert.equal(realServer(after, RS.fileZero).alive, false);
    const health = daemon.lines.slice(mark).filter((l) => /^(real server (up|down|weight)|quorum (up|down))$/.test(l.msg));
    assert.deepEqual(
      health.map((l) => `${l.msg} ${String(l.realServer ?? l.virtualServer)}`),
      [],
    );
    // Probes went on through the reload.
    const probes = (st: DaemonStatus, rs: string) => realServer(st, rs).checkers[0]!.probes;
    assert.ok(probes(after, RS.bind) > probes(before, RS.bind), 'DNS_CHECK kept probing');
    // Back to the defaults for the tests that follow.
    mark = daemon.lines.length;
    writeFileSync(path('tf.value'), '0\n');
    writeFileSync(path('dynamic.code'), '0\n');
    assert.ok(await lineAfter(mark, rsLine('real server up', RS.fileZero), 1000), tail());
    assert.ok(await lineAfter(mark, (l) => rsLine('real server weight', RS.dynamic)(l) && l.weight === 5, UP_BOUND_MS), tail());
  });

  test('the daemon ran every fault without an error line (but the refusals of the unsafe script) and still answers', async () => {
    const refusals = daemon.lines.filter((l) => l.level >= 50 && l.msg === 'MISC_CHECK script refused' && String(l.reason).includes('unsafe.sh'));
    assert.ok(refusals.length >= 2, 'the unsafe script is refused at every probe');
    const errors = daemon.lines.filter((l) => l.level >= 50 && !refusals.includes(l));
    assert.deepEqual(
      errors.map((l) => `${l.msg} ${JSON.stringify(l)}`),
      [],
    );
    const st = await daemonAnswers();
    assert.ok(st.uptimeMs > 0);
    // The filtered workflow saw one event in all: the same address:port went down under other virtual servers since.
    const wf = readFileSync(path('wf-down.jsonl'), 'utf8').trim().split('\n');
    assert.ok(
      daemon.lines.some((l) => rsLine('real server down', RS.ping)(l)),
      'the ping real server (same address:port, other virtual server) went down',
    );
    assert.equal(wf.length, 1, wf.join('\n'));
    assert.equal(readFileSync(path('wf-quorum.jsonl'), 'utf8').trim().split('\n').length, 1);
    // The text status shows the virtual servers, real servers and checkers too.
    const text = await daemon.cli(['status', '--state-dir', daemon.stateDir]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`virtual_server ${VS.misc.replaceAll('.', '\\.')} quorum UP live weight 1`));
    assert.match(text.stdout, /real_server 198\.18\.237\.2:5302 +DOWN weight 1\n +DNS_CHECK#0 +DOWN +probes \d+ last failure dns at /);
    // MISC_CHECK runs every delay_loop: each run's start and exit are debug lines, not info.
    const miscRoutine = daemon.lines.filter((l) => /^MISC_CHECK script (started|exited|failed)$/.test(l.msg));
    assert.deepEqual(
      miscRoutine.map((l) => l.msg),
      [],
    );
    figures.push(`log: ${daemon.lines.length} lines at info and above in all`);
  });

  test('SIGTERM: the daemon exits 0 and leaves no process in its namespace (no MISC_CHECK script or child)', async () => {
    const hangRuns = readFileSync(path('hang.pids'), 'utf8').trim().split('\n').length;
    assert.ok(hangRuns >= 5, `${hangRuns} runs of the hanging script`);
    const t0 = performance.now();
    const code = await daemon.stop(10_000);
    figures.push(`SIGTERM to exit: ${Math.round(performance.now() - t0)} ms`);
    assert.equal(code, 0, daemon.stderr());
    assert.ok(daemon.lines.some((l) => l.msg === 'vipflow stopped'));
    const pids = readFileSync(path('hang.pids'), 'utf8')
      .trim()
      .split('\n')
      .flatMap((l) => l.split(' ').map(Number));
    const left = await pollUntil(() => {
      const alive = pids.filter((p) => isAlive(p));
      return alive.length === 0 ? alive : undefined;
    }, 2000);
    assert.deepEqual(left, [], `hang.sh runs or their sleep children still alive: ${JSON.stringify(pids.filter((p) => isAlive(p)))}`);
    const ns = await pollUntil(() => {
      const pidsIn = namespacePids(lab.node('lb').ns).filter((p) => isAlive(p));
      return pidsIn.length === 0 ? pidsIn : undefined;
    }, 3000);
    assert.deepEqual(ns, [], 'nothing left running in the daemon node');
  });
});
