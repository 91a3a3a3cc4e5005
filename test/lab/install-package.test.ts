// The operator's install paths, end to end: `npm pack` of this build, then
// `npm install -g --omit=dev` into a fresh prefix with the compiler disabled;
// from there `vipflow check-config` and a two-node failover in namespaces, one
// daemon as an unprivileged user holding only the unit's capabilities, both
// sending sd_notify datagrams to sockets socat listens on (an abstract one in
// the node's namespace, a socket file). Then the Debian package built from the
// same tarball: its contents and maintainer scripts, `systemd-analyze verify`
// on the unit, and an install into a throwaway root (dpkg --root) that leaves
// the host's users and services alone.
// Starts: npm (the registry or its cache), a namespace lab, two installed
// vipflow daemons, three socat receivers, dpkg-deb, dpkg.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../core/paths.js';
import { silentLogger } from '../../core/logger.js';
import { createLab, pollUntil, run, sweepStaleLabs, type Lab, type SpawnedProcess } from '../../lab/index.js';
import { startVipflow, waitForHolder, type VipflowDaemon } from '../../lab/vipflow.js';
import { confFile } from './daemon-conf.js';

const logger = silentLogger();
const PREFIX = 'vfpk';
const SUBNET = 147;
const VIP = `198.18.${SUBNET}.100`;
const NOBODY = 65534;
// WatchdogSec=0.3 s: WATCHDOG=1 every 150 ms.
const WATCHDOG_USEC = 300_000;
// The unit's User= and AmbientCapabilities=/CapabilityBoundingSet=/NoNewPrivileges=, as setpriv sets them.
const AS_SERVICE_USER = [
  'setpriv',
  `--reuid=${NOBODY}`,
  `--regid=${NOBODY}`,
  '--clear-groups',
  '--inh-caps=-all,+net_raw,+net_admin',
  '--ambient-caps=-all,+net_raw,+net_admin',
  '--bounding-set=-all,+net_raw,+net_admin',
  '--no-new-privs',
];
const CAP_NET_ADMIN_AND_RAW = (1n << 12n) | (1n << 13n);

const conf = (node: string, priority: number) => confFile(node, [{ name: 'VI_pk', vrid: 47, version: 3, priority, advertInt: 0.1, vips: [`${VIP}/24`] }]);

/** socat printing the datagrams it receives; `text()` is everything so far (datagrams are not separated). */
function datagrams(proc: SpawnedProcess) {
  let out = '';
  proc.child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  return { text: () => out };
}

describe('installed from the npm tarball and the Debian package', () => {
  let work: string;
  let tarball: string;
  let prefix: string;
  let lab: Lab | undefined;
  const daemons: VipflowDaemon[] = [];
  const figures: Record<string, string> = {};

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    work = mkdtempSync(join(tmpdir(), 'vipflow-pkg-'));
    // The unprivileged daemon reads its prefix and writes to a socket under here.
    chmodSync(work, 0o755);
    prefix = join(work, 'prefix');
  });

  after(async () => {
    for (const d of daemons) await d.kill();
    await lab?.destroy();
    rmSync(work, { recursive: true, force: true });
    process.stdout.write(`# package figures: ${JSON.stringify(figures)}\n`);
  });

  test('npm pack: the build, the schemas and the prebuilt addon, no tests or benchmarks', async () => {
    const packed = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], 60_000);
    assert.equal(packed.code, 0, packed.stderr);
    const [info] = JSON.parse(packed.stdout) as { filename: string; size: number; unpackedSize: number; files: { path: string }[] }[];
    assert.ok(info);
    tarball = join(work, info.filename);
    const files = info.files.map((f) => f.path);
    for (const f of [
      'dist/cli/main.js',
      'dist/daemon/systemd-service.js',
      'schemas/vipflow.event.v1.json',
      'wire/native/prebuilds/linux-x64/node.node',
      'wire/native/binding.gyp',
      'wire/native/src/sd_notify.c',
      'infra/systemd/vipflow.service',
      'infra/package/vipflow.8',
    ])
      assert.ok(files.includes(f), `${f} in the tarball`);
    assert.deepEqual(
      files.filter((f) => /^(test|bench|dist\/test|dist\/bench|wire\/native\/build|node_modules)\//.test(f)),
      [],
    );
    figures.tarball = `${(info.size / 1024).toFixed(0)} KiB (${(info.unpackedSize / 1024 / 1024).toFixed(1)} MiB unpacked)`;
  });

  test('npm install -g --omit=dev into a fresh prefix needs no compiler; check-config runs from there', async () => {
    const t0 = performance.now();
    // CC/CXX that always fail: a source build of the addon would end the install.
    const installed = await run(
      'env',
      ['CC=/bin/false', 'CXX=/bin/false', 'npm', 'install', '-g', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', '--prefix', prefix, tarball],
      180_000,
    );
    figures.npmInstall = `${((performance.now() - t0) / 1000).toFixed(1)} s`;
    assert.equal(installed.code, 0, installed.stderr);
    const app = join(prefix, 'lib', 'node_modules', 'vipflow');
    assert.equal(readlinkSync(join(prefix, 'bin', 'vipflow')), '../lib/node_modules/vipflow/dist/cli/main.js');
    assert.ok(existsSync(join(prefix, 'share', 'man', 'man8', 'vipflow.8')), 'the man page linked by npm');
    assert.ok(!existsSync(join(app, 'wire', 'native', 'build')), 'no source build: the prebuild is used');
    for (const dev of ['typescript', 'eslint', 'prettier', 'prebuildify', 'pino-pretty'])
      assert.ok(!existsSync(join(app, 'node_modules', dev)), `${dev} (dev) left out`);
    const du = await run('du', ['-sk', app]);
    figures.npmInstalledSize = `${(Number(du.stdout.split('\t')[0]) / 1024).toFixed(1)} MiB`;

    const sample = await run(join(prefix, 'bin', 'vipflow'), ['check-config', join(app, 'infra', 'package', 'keepalived.conf.sample')], 30_000);
    assert.equal(sample.code, 0, sample.stderr);
    assert.match(sample.stdout, /configuration is valid/);
    const broken = join(work, 'broken.conf');
    writeFileSync(broken, 'vrrp_instance VI_x {\n  virtual_router_id 300\n}\n');
    const refused = await run(join(prefix, 'bin', 'vipflow'), ['check-config', broken], 30_000);
    assert.equal(refused.code, 1, 'a config with errors');
    assert.match(refused.stdout + refused.stderr, /broken\.conf:2/);
  });

  test('two-node failover with the installed vipflow; sd_notify READY after Initialize, WATCHDOG, STOPPING', async () => {
    assert.ok(existsSync(join(prefix, 'bin', 'vipflow')), 'installed by the previous test');
    lab = await createLab({ prefix: PREFIX, nodes: ['a', 'b'], subnet: SUBNET, ipv6: false, logger });
    // The unprivileged daemon reads its config under the lab dir.
    chmodSync(lab.dir, 0o755);
    const vipflow = [join(prefix, 'bin', 'vipflow')];
    writeFileSync(join(lab.dir, 'check.conf'), conf('a', 150));
    const check = await lab.exec('a', vipflow[0]!, ['check-config', join(lab.dir, 'check.conf')], 30_000);
    assert.equal(check.code, 0, check.stderr);

    // a: root, NOTIFY_SOCKET abstract (abstract sockets belong to a network namespace: socat listens in a's).
    const abstractName = `vfpk-notify-${process.pid}`;
    const notifyA = datagrams(lab.spawn('a', 'socat', ['-u', `ABSTRACT-RECV:${abstractName}`, 'STDOUT']));
    // b: the service user, NOTIFY_SOCKET a socket file it may write to.
    const socketB = join(work, 'notify-b.sock');
    const notifyB = datagrams(lab.spawn('b', 'socat', ['-u', `UNIX-RECV:${socketB},perm=0666`, 'STDOUT']));
    assert.ok(await pollUntil(() => (existsSync(socketB) ? true : undefined), 3000, 10), 'socat bound');
    const stateB = join(lab.dir, 'vipflow-b-state');
    mkdirSync(stateB, { mode: 0o750 });
    chownSync(stateB, NOBODY, NOBODY);

    const a = await startVipflow(lab, 'a', 'a', conf('a', 150), {
      command: vipflow,
      prefix: ['env', `NOTIFY_SOCKET=@${abstractName}`, `WATCHDOG_USEC=${WATCHDOG_USEC}`],
    });
    daemons.push(a);
    const b = await startVipflow(lab, 'b', 'b', conf('b', 100), {
      command: vipflow,
      prefix: ['env', `NOTIFY_SOCKET=${socketB}`, `WATCHDOG_USEC=${WATCHDOG_USEC}`, ...AS_SERVICE_USER],
    });
    daemons.push(b);

    const procStatus = readFileSync(`/proc/${b.pid}/status`, 'utf8');
    assert.match(procStatus, new RegExp(`^Uid:\\s+${NOBODY}\\s`, 'm'), 'b runs as the unprivileged user');
    assert.equal(BigInt('0x' + /^CapEff:\s+([0-9a-f]+)/m.exec(procStatus)![1]!), CAP_NET_ADMIN_AND_RAW, 'with CAP_NET_RAW and CAP_NET_ADMIN only');

    assert.ok(await a.waitForState('master', 5000, 0, 'VI_pk'), 'a (150) becomes Master');
    assert.ok(await b.waitForState('backup', 5000, 0, 'VI_pk'), 'b (100) is Backup');
    assert.ok(await waitForHolder(lab, ['a', 'b'], VIP, 'a', 3000), 'a holds the VIP');

    for (const [node, n] of [
      ['a', notifyA],
      ['b', notifyB],
    ] as const) {
      const ready = await pollUntil(() => (n.text().includes('READY=1') ? n.text() : undefined), 5000, 20);
      assert.ok(ready, `${node} sent READY=1: ${JSON.stringify(n.text())}`);
      // STATUS is computed when READY goes out: each instance already out of Initialize.
      assert.match(ready, /READY=1\nSTATUS=VI_pk (backup|master)\nMAINPID=\d+/, `${node}: ${JSON.stringify(ready)}`);
      assert.equal(/MAINPID=(\d+)/.exec(ready)![1], String(node === 'a' ? a.pid : b.pid));
      const pings = await pollUntil(() => ((n.text().match(/WATCHDOG=1/g)?.length ?? 0) >= 3 ? true : undefined), 3000, 20);
      assert.ok(pings, `${node} feeds the watchdog every 150 ms: ${JSON.stringify(n.text())}`);
      assert.ok(n.text().indexOf('READY=1') < n.text().indexOf('WATCHDOG=1'), 'READY before the first ping');
    }

    // Failover: a stops gracefully, b (the unprivileged one) takes the VIP.
    const stopped = await a.stop(8000);
    assert.equal(stopped, 0);
    assert.ok(await b.waitForState('master', 3000, 0, 'VI_pk'), 'b becomes Master');
    assert.ok(await waitForHolder(lab, ['a', 'b'], VIP, 'b', 3000), 'b holds the VIP, added with its ambient CAP_NET_ADMIN');
    assert.ok(await pollUntil(() => (notifyA.text().includes('STOPPING=1') ? true : undefined), 2000, 20), 'a sent STOPPING=1');
    assert.equal(await b.stop(8000), 0);
    assert.ok(notifyB.text().includes('STOPPING=1'));
  });

  test('the Debian package: contents, maintainer scripts, the unit verified, installed into a throwaway root', async (t) => {
    assert.ok(tarball, 'packed by the first test');
    const t0 = performance.now();
    const built = await run(join(repoRoot, 'infra', 'package', 'build-deb.sh'), ['--tarball', tarball, '--compress', 'gzip', join(work, 'deb')], 240_000);
    figures.debBuild = `${((performance.now() - t0) / 1000).toFixed(1)} s (gzip)`;
    assert.equal(built.code, 0, built.stderr);
    const deb = built.stdout.trim().split('\n').pop()!;
    assert.match(deb, /vipflow_0\.1\.0-1_amd64\.deb$/);
    figures.deb = `${(statSync(deb).size / 1024 / 1024).toFixed(1)} MiB (gzip; xz is smaller)`;

    const info = await run('dpkg-deb', ['-I', deb]);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, /^ Package: vipflow$/m);
    assert.match(info.stdout, /^ Architecture: amd64$/m);
    assert.match(info.stdout, /^ Depends: nodejs \(>= 20\)/m);
    figures.debInstalledSize = `${(Number(/Installed-Size: (\d+)/.exec(info.stdout)![1]) / 1024).toFixed(1)} MiB`;
    const contents = (await run('dpkg-deb', ['-c', deb], 30_000)).stdout;
    for (const path of [
      './usr/lib/vipflow/dist/cli/main.js',
      './usr/lib/vipflow/wire/native/prebuilds/linux-x64/node.node',
      './usr/lib/vipflow/node_modules/pino/package.json',
      './usr/bin/vipflow -> ../lib/vipflow/dist/cli/main.js',
      './etc/vipflow/keepalived.conf',
      './etc/default/vipflow',
      './lib/systemd/system/vipflow.service',
      './usr/share/man/man8/vipflow.8.gz',
      './usr/share/doc/vipflow/copyright',
    ])
      assert.ok(contents.includes(` ${path}\n`), `${path} in the package`);
    assert.doesNotMatch(contents, /\/node_modules\/(typescript|eslint|prettier|prebuildify)\//, 'no dev dependencies');
    assert.doesNotMatch(contents, /\/usr\/lib\/vipflow\/(test|bench|dist\/test)\//, 'no tests');
    assert.match(contents, /^-rw-r--r-- root\/root .* \.\/etc\/vipflow\/keepalived\.conf$/m);

    const control = join(work, 'control');
    assert.equal((await run('dpkg-deb', ['-e', deb, control])).code, 0);
    assert.deepEqual(readFileSync(join(control, 'conffiles'), 'utf8').trim().split('\n').sort(), ['/etc/default/vipflow', '/etc/vipflow/keepalived.conf']);
    for (const script of ['postinst', 'prerm', 'postrm']) {
      // The commands, without comments and messages to the operator.
      const text = readFileSync(join(control, script), 'utf8')
        .split('\n')
        .filter((l) => !/^\s*(#|echo )/.test(l))
        .join('\n');
      assert.equal((await run('sh', ['-n', join(control, script)])).code, 0, `${script} parses`);
      assert.ok(statSync(join(control, script)).mode & 0o100, `${script} executable`);
      // Never another service; vipflow's own is only stopped on removal.
      assert.doesNotMatch(text, /systemctl\s+(start|restart|enable|try-restart|reload)\b/, `${script} starts nothing`);
      for (const m of text.matchAll(/(?:systemctl|deb-systemd-invoke)\s+stop\s+(\S+)/g)) assert.equal(m[1], 'vipflow.service', `${script} stops only vipflow`);
    }
    assert.match(readFileSync(join(control, 'postinst'), 'utf8'), /useradd .*--system/);

    // The unit, as systemd parses it: any warning names the file on stderr (a bad value is "ignoring", exit 0).
    const hasAnalyze = (await run('sh', ['-c', 'command -v systemd-analyze'])).code === 0;
    if (!hasAnalyze) t.diagnostic('systemd-analyze is not installed: the unit is not verified');
    else {
      const unitDir = join(work, 'unit');
      mkdirSync(unitDir);
      // systemd checks that ExecStart's program exists; this host has no /usr/bin/vipflow (the
      // package is only installed into a throwaway root below), so the copy points at the
      // vipflow npm installed into the prefix. Nothing else in the unit changes.
      const unit = readFileSync(join(repoRoot, 'infra', 'systemd', 'vipflow.service'), 'utf8');
      assert.match(unit, /^ExecStart=\/usr\/bin\/vipflow /m);
      const program = existsSync('/usr/bin/vipflow') ? '/usr/bin/vipflow' : join(prefix, 'bin', 'vipflow');
      writeFileSync(join(unitDir, 'vipflow.service'), unit.replace(/^ExecStart=\/usr\/bin\/vipflow /m, `ExecStart=${program} `));
      const verified = await run('systemd-analyze', ['verify', '--man=no', join(unitDir, 'vipflow.service')], 30_000);
      assert.equal(verified.code, 0, verified.stderr);
      assert.equal(verified.stderr.trim(), '', 'no warning about the unit');
    }

    // A throwaway root with an empty dpkg database and a root-only user table; the scripts run
    // outside it (--force-script-chrootless) and change only DPKG_ROOT's files.
    const root = join(work, 'root');
    for (const d of ['var/lib/dpkg/info', 'var/lib/dpkg/updates', 'etc']) mkdirSync(join(root, d), { recursive: true });
    writeFileSync(join(root, 'var/lib/dpkg/status'), '');
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\n');
    writeFileSync(join(root, 'etc/shadow'), 'root:*:19000:0:99999:7:::\n', { mode: 0o640 });
    writeFileSync(join(root, 'etc/gshadow'), 'root:*::\n', { mode: 0o640 });
    const hostPasswd = readFileSync('/etc/passwd', 'utf8');
    const dpkg = (args: string[]) => run('dpkg', [`--root=${root}`, '--force-script-chrootless', '--force-depends', '--log=/dev/null', ...args], 120_000);
    const t1 = performance.now();
    const installed = await dpkg(['-i', deb]);
    figures.dpkgInstall = `${((performance.now() - t1) / 1000).toFixed(1)} s`;
    assert.equal(installed.code, 0, installed.stderr);
    const user = readFileSync(join(root, 'etc/passwd'), 'utf8')
      .split('\n')
      .find((l) => l.startsWith('vipflow:'));
    assert.ok(user, 'postinst created the vipflow user in the root');
    const [, , uid, gid, , home, shell] = user.split(':');
    assert.ok(Number(uid) < 1000, `a system uid (${uid})`);
    assert.deepEqual([home, shell], ['/nonexistent', '/usr/sbin/nologin']);
    const confStat = statSync(join(root, 'etc/vipflow/keepalived.conf'));
    assert.equal(confStat.mode & 0o777, 0o640);
    assert.equal(confStat.gid, Number(gid), 'the config is readable by the vipflow group');
    assert.equal(readFileSync('/etc/passwd', 'utf8'), hostPasswd, "the host's users are unchanged");
    assert.ok(lstatSync(join(root, 'usr/bin/vipflow')).isSymbolicLink());
    // The packaged tree runs: its addon prebuild and production dependencies load.
    const fromDeb = await run(
      process.execPath,
      [join(root, 'usr/lib/vipflow/dist/cli/main.js'), 'check-config', join(root, 'etc/vipflow/keepalived.conf')],
      30_000,
    );
    assert.equal(fromDeb.code, 0, fromDeb.stderr);
    const addon = await run(process.execPath, [
      '-e',
      `const a = require(${JSON.stringify(join(root, 'usr/lib/vipflow/node_modules/node-gyp-build'))})(${JSON.stringify(join(root, 'usr/lib/vipflow/wire/native'))}); process.stdout.write(typeof a.sdNotify)`,
    ]);
    assert.equal(addon.stdout, 'function', addon.stderr);

    const purged = await dpkg(['--purge', 'vipflow']);
    assert.equal(purged.code, 0, purged.stderr);
    assert.ok(!existsSync(join(root, 'usr/lib/vipflow')) && !existsSync(join(root, 'etc/vipflow')), 'purge removes the files and the conffiles');
    const units = join(root, 'lib/systemd/system');
    assert.deepEqual(existsSync(units) ? readdirSync(units).filter((f) => f.startsWith('vipflow')) : [], []);
  });
});
