// Real network: two vipflow daemons in a namespace lab, each serving its HTTP
// endpoint; the test scrapes them with curl inside the namespaces (the test
// process cannot reach the lab's addresses) during a failover, and checks the
// credentials rules end to end: node a listens on loopback without
// credentials, node b on its lab address with a bearer token.
// Starts: a namespace lab, two `vipflow run` processes, curl, and one
// `vipflow run` that must refuse to start.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../core/logger.js';
import { createLab, pollUntil, sweepStaleLabs, type Lab } from '../../lab/index.js';
import { startVipflow, vipflowCommand, type VipflowDaemon } from '../../lab/vipflow.js';
import type { DaemonStatus } from '../../daemon/daemon.js';
import { confFile } from './daemon-conf.js';
import { repoRoot } from '../../core/paths.js';

const logger = silentLogger();
const PREFIX = 'vfmet';
const SUBNET = 171;
const VIP = `198.18.${SUBNET}.100/24`;
const PORT = 9650;
const TOKEN = 'lab-token-9f3c2e';
const conf = (node: string, priority: number) => confFile(node, [{ name: 'VI_met', vrid: 71, version: 3, priority, advertInt: 0.1, vips: [VIP] }]);

interface Reply {
  status: number;
  body: string;
}

describe('metrics and status over HTTP during a failover', () => {
  let lab: Lab;
  const daemons: VipflowDaemon[] = [];
  let tokenFile = '';
  const bAddress = () => lab.node('b').ipv4!;

  /** GET through curl in `from`; the status code is the last line. */
  const get = async (from: string, url: string, token?: string): Promise<Reply> => {
    const args = ['-sS', '--max-time', '3', '-w', '\n%{http_code}', ...(token !== undefined ? ['-H', `Authorization: Bearer ${token}`] : []), url];
    const r = await lab.exec(from, '/usr/bin/curl', args, 5000);
    assert.equal(r.code, 0, `curl ${url}: ${r.stderr}`);
    const i = r.stdout.lastIndexOf('\n');
    return { status: Number(r.stdout.slice(i + 1)), body: r.stdout.slice(0, i) };
  };
  const scrapeA = () => get('a', `http://127.0.0.1:${PORT}/metrics`);
  const scrapeB = () => get('a', `http://${bAddress()}:${PORT}/metrics`, TOKEN);
  /** One sample's value, by its exact name{labels}; undefined when absent. */
  const value = (text: string, series: string): number | undefined => {
    const line = text.split('\n').find((l) => l.startsWith(series + ' '));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };
  const state = (text: string) => value(text, `keepalived_vrrp_state{iname="VI_met",intf="eth0",vrid="71",ip_address="${VIP}"}`);
  const becameMaster = (text: string) => value(text, 'keepalived_become_master_total{iname="VI_met",intf="eth0",vrid="71"}');

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['a', 'b'], subnet: SUBNET, ipv6: false, logger });
    tokenFile = join(lab.dir, 'http-token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  });
  after(async () => {
    for (const d of daemons) await d.kill();
    await lab?.destroy();
  });

  test('off loopback without credentials `vipflow run` refuses to start, before any VRRP', () => {
    const configPath = join(lab.dir, 'refused.conf');
    writeFileSync(configPath, conf('x', 100));
    const r = spawnSync(
      process.execPath,
      [...vipflowCommand(), 'run', '--config', configPath, '--state-dir', join(lab.dir, 'refused'), '--http', `0.0.0.0:${PORT}`],
      {
        encoding: 'utf8',
        timeout: 15_000,
      },
    );
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /refusing to serve HTTP on 0\.0\.0\.0:9650 without credentials/);
  });

  test('scrapes follow a failover: the state gauge flips and become_master counts on the new Master', async () => {
    const a = await startVipflow(lab, 'a', 'a', conf('a', 150), { args: ['--http', `127.0.0.1:${PORT}`] });
    daemons.push(a);
    const b = await startVipflow(lab, 'b', 'b', conf('b', 100), { args: ['--http', `${bAddress()}:${PORT}`, '--http-auth-file', tokenFile] });
    daemons.push(b);
    assert.ok(await a.waitForState('master', 3000), 'a (150) becomes Master');
    assert.ok(await b.waitForState('backup', 3000), 'b (100) stays Backup');

    // Loopback needs no credentials; b's address does.
    const before = await scrapeA();
    assert.equal(before.status, 200);
    assert.equal(state(before.body), 2, 'a: MASTER');
    assert.equal(becameMaster(before.body), 1);
    // b may be scraped before a's first advert reached it: wait until it counted one.
    const received = (text: string) => value(text, 'keepalived_advertisements_received_total{iname="VI_met",intf="eth0",vrid="71"}') ?? 0;
    const bBefore = await pollUntil(
      async () => {
        const r = await scrapeB();
        return state(r.body) === 1 && received(r.body) > 0 ? r : undefined;
      },
      3000,
      100,
    );
    assert.ok(bBefore, "b: BACKUP, counting a's adverts");
    assert.equal(bBefore.status, 200);
    assert.equal(becameMaster(bBefore.body), 0);

    // The failover: a's priority drops below b's (SIGHUP); b preempts.
    const mark = b.transitions.length;
    a.writeConfig(conf('a', 90));
    a.signal('SIGHUP');
    assert.ok(await b.waitForState('master', 3000, mark), 'b takes over');
    const after = await pollUntil(
      async () => {
        const [ra, rb] = await Promise.all([scrapeA(), scrapeB()]);
        return state(ra.body) === 1 && state(rb.body) === 2 ? { a: ra.body, b: rb.body } : undefined;
      },
      3000,
      100,
    );
    assert.ok(after, 'the state gauges flip: a BACKUP, b MASTER');
    assert.equal(becameMaster(after.b), 1, 'become_master counts on the new Master');
    assert.equal(becameMaster(after.a), 1, 'and stays on the old one');
    assert.equal(value(after.a, 'keepalived_release_master_total{iname="VI_met",intf="eth0",vrid="71"}'), 1);
    assert.equal(value(after.b, 'keepalived_vrrp_become_master{name="VI_met",intf="eth0",vrid="71",state="MASTER"}'), 1, "gen2brain's name");
    assert.equal(value(after.b, 'vipflow_instance_state{instance="VI_met",vrid="71",interface="eth0",family="ipv4",state="master"}'), 1);
    const preempt = after.b.split('\n').find((l) => l.startsWith('vipflow_transitions_total{instance="VI_met",from="backup",to="master"'));
    assert.ok(preempt?.endsWith(' 1'), `b's transition to Master counted by reason: ${preempt}`);
    assert.equal(value(after.a, 'vipflow_reloads_total{result="ok"}'), 1);
  });

  test('/api/v1/status is the status document, /healthz answers; credentials: none or wrong 401, right 200', async () => {
    const s = await get('a', `http://127.0.0.1:${PORT}/api/v1/status`);
    assert.equal(s.status, 200);
    const doc = JSON.parse(s.body) as DaemonStatus;
    const cli = await daemons[0]!.status();
    assert.equal(doc.pid, cli.pid);
    assert.deepEqual(Object.keys(doc).sort(), Object.keys(cli).sort(), 'the same document as vipflow status --json');
    assert.equal(doc.instances[0]?.state, 'backup');
    const h = await get('a', `http://127.0.0.1:${PORT}/healthz`);
    assert.equal(h.status, 200);
    assert.equal((JSON.parse(h.body) as { status: string }).status, 'ok');

    const url = `http://${bAddress()}:${PORT}/api/v1/status`;
    const none = await get('a', url);
    assert.equal(none.status, 401);
    const wrong = await get('a', url, 'not-the-token');
    assert.equal(wrong.status, 401);
    assert.ok(!wrong.body.includes(TOKEN));
    const right = await get('a', url, TOKEN);
    assert.equal(right.status, 200);
    assert.ok(!right.body.includes(TOKEN), 'the token is in no answer');
    // b's own loopback is not a way around the token: it listens on its lab address only.
    const viaLoopback = await lab.exec('b', '/usr/bin/curl', ['-sS', '--max-time', '2', `http://127.0.0.1:${PORT}/healthz`], 4000);
    assert.notEqual(viaLoopback.code, 0);
    for (const d of daemons) assert.ok(!d.lines.some((l) => JSON.stringify(l).includes(TOKEN)), 'the token is in no log line');
  });

  test("a typed config's vipflow.http starts the endpoint; its authFile is relative to the config file", async () => {
    for (const d of daemons.splice(1)) await d.stop();
    const keepalivedConf = join(lab.dir, 'typed-b.conf');
    writeFileSync(keepalivedConf, conf('b', 100));
    const typed = join(lab.dir, 'typed-b.config.ts');
    const define = join(repoRoot, 'dist', 'config', 'define.js');
    writeFileSync(
      typed,
      [
        `import { defineConfig, fromKeepalived } from ${JSON.stringify(define)};`,
        `export default defineConfig({ ...fromKeepalived(${JSON.stringify(keepalivedConf)}),`,
        `  vipflow: { http: { listen: '${bAddress()}:${PORT + 1}', authFile: './http-token' } } });`,
        '',
      ].join('\n'),
    );
    const b = await startVipflow(lab, 'b', 'typed-b', '', { args: ['--config', typed] });
    daemons.push(b);
    const url = `http://${bAddress()}:${PORT + 1}/healthz`;
    assert.equal((await get('a', url)).status, 401);
    const ok = await get('a', url, TOKEN);
    assert.equal(ok.status, 200);
    assert.equal((JSON.parse(ok.body) as { instances: number }).instances, 1);
  });
});
