/**
 * The vipflow command line as a user meets it: `node dist/cli/main.js ...`
 * spawned for real (no network: a fake control socket in a temp dir at most).
 * Help and version on stdout, usage errors as one line with exit 2, the
 * documented exit codes for a closed stdout (141), missing permissions (3) and
 * a missing state directory (4), --log-level and VIPFLOW_LOG_LEVEL, --pretty,
 * and shell completion generated from the definitions. The unprivileged cases
 * run as uid 65534 through lab/as-user.ts (root is needed to drop to it).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../core/paths.js';
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { buildProgram } from '../../cli/program.js';
import { commandPath } from '../../cli/usage-errors.js';
import { unexpectedErrorLine } from '../../cli/main.js';
import { vipflowAsUser, type AsUser } from '../../lab/as-user.js';

const main = join(repoRoot, 'dist', 'cli', 'main.js');
const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs argv[0] with the rest (bounded: 20 s), with extra environment; VIPFLOW_* variables of the caller are dropped. */
function exec(argv: readonly string[], env: Record<string, string> = {}): Promise<Result> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VIPFLOW_') && k !== 'NO_COLOR'));
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { env: { ...clean, ...env }, encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}
const vipflow = (args: readonly string[], env: Record<string, string> = {}) => exec([process.execPath, main, ...args], env);

/** One line on stderr, no stack trace. */
function oneLine(r: Result, what: string): void {
  assert.equal(r.stderr.split('\n').filter((l) => l !== '').length, 1, `${what}: one line expected:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: a stack trace`);
}

let scratch: string;
before(() => {
  scratch = mkdtempSync(join(tmpdir(), 'vipflow-cli-'));
  chmodSync(scratch, 0o755);
});
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Every command in the tree, the root first. */
function allCommands(cmd: CommandUnknownOpts): CommandUnknownOpts[] {
  return [cmd, ...cmd.commands.flatMap(allCommands)];
}

test('help of every command lists every option with its default, and the exit codes; on stdout, exit 0', async () => {
  const program = buildProgram(() => undefined);
  const commands = allCommands(program);
  assert.ok(commands.length >= 12, 'every subcommand is in the tree');
  for (const cmd of commands) {
    // commander wraps long lines at 80 columns.
    const help = cmd.helpInformation().replace(/\s+/g, ' ');
    const where = commandPath(cmd);
    for (const o of cmd.options) {
      if (o.hidden) continue;
      assert.ok(help.includes(o.flags), `${where} --help lacks ${o.flags}`);
      if (o.defaultValue !== undefined && !(Array.isArray(o.defaultValue) && o.defaultValue.length === 0))
        assert.ok(help.includes(`default: ${JSON.stringify(o.defaultValue)}`), `${where} --help lacks the default of ${o.flags}:\n${help}`);
      if (o.envVar) assert.ok(help.includes(`env: ${o.envVar}`), `${where} --help lacks ${o.envVar}`);
    }
  }
  // addHelpText is printed by the spawned command, not by helpInformation().
  const spawned = await Promise.all(commands.map((c) => vipflow([...commandPath(c).split(' ').slice(1), '--help'])));
  commands.forEach((c, k) => {
    const r = spawned[k]!;
    const where = commandPath(c);
    assert.equal(r.code, 0, `${where} --help: ${r.stderr}`);
    assert.equal(r.stderr, '', where);
    assert.ok(r.stdout.startsWith(`Usage: ${where}`), `${where}:\n${r.stdout}`);
    assert.match(r.stdout, /\nExit codes:\n(.*\n)*\s+2 {2}/, `${where} --help lacks the exit codes`);
  });
  assert.match(spawned[0]!.stdout, /\s141 {2}stdout was closed early/);
  const viaHelp = await vipflow(['help', 'status']);
  assert.equal(viaHelp.code, 0);
  assert.match(viaHelp.stdout, /^Usage: vipflow status/);
});

test('--version and -V print the package version', async () => {
  for (const flag of ['--version', '-V']) {
    const r = await vipflow([flag]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${version}\n`);
  }
});

test('bad usage: one line naming the command and the problem, exit 2; no command prints help on stdout, exit 2', async () => {
  const cases: [string[], RegExp, Record<string, string>?][] = [
    [['bogus'], /^vipflow: unknown command 'bogus'/],
    [['--bogus'], /^vipflow: unknown option '--bogus'/],
    [['status', '--bogus'], /^vipflow status: unknown option '--bogus'/],
    [['status', 'extra'], /^vipflow status: unexpected argument 'extra'/],
    [['check-config', 'a.conf', 'b.conf'], /^vipflow check-config: unexpected argument 'b\.conf'/],
    [['check-config'], /^vipflow check-config: missing required argument 'file'/],
    [['run'], /^vipflow run: required option '-f, --config <file>' not specified/],
    [
      ['run', '-f', 'x.conf', '--log-level', 'loud'],
      /^vipflow run: option '--log-level <level>' argument 'loud' is invalid\. Allowed choices are fatal, error, warn, info, debug, trace, silent\./,
    ],
    [
      ['run', '-f', 'x.conf'],
      /^vipflow run: option '--log-level <level>' value 'loud' from env 'VIPFLOW_LOG_LEVEL' is invalid\. Allowed choices are fatal, error/,
      { VIPFLOW_LOG_LEVEL: 'loud' },
    ],
    [['run', '--config=x.conf', '--lb=keepalived'], /^vipflow run: option '--lb <backend>' argument 'keepalived' is invalid/],
    [['run', '-f', 'x.conf', '--split-brain-grace', '0'], /--split-brain-grace <n>' argument '0' is invalid\. Expected a positive number/],
    [['events', '-f'], /^vipflow events: unknown option '-f': -f is --config in every command; write --follow/],
    [['events', '--since=yesterday'], /^vipflow events: --since needs an ISO time or a duration like 15m \(got 'yesterday'\)/],
    [['events', '--type', 'bogus'], /^vipflow events: unknown event type 'bogus' \(one of: instance\.transition/],
    [['workflows', 'nope'], /^vipflow workflows: unknown command 'nope'/],
    [['workflows', 'test', '--event', 'e.json'], /^vipflow workflows test: missing --workflows FILE or --config CONFIG/],
    [
      ['worker', '--workflows=w.ts', '--concurrency=0'],
      /^vipflow worker: option '--concurrency <n>' argument '0' is invalid\. Expected an integer from 1 to 1000/,
    ],
    [
      ['worker', '--workflows=w.ts', '--cluster', 'dc1', '--http-auth-file', 'token'],
      /^vipflow worker: --http-auth-file needs --http \(see 'vipflow worker --help'\)$/m,
    ],
    [['fleet', '--http-auth-file', 'token'], /^vipflow fleet: --http-auth-file needs --http \(see 'vipflow fleet --help'\)$/m],
    [['genhash', '-s', '127.0.0.1', '-u', '/'], /^vipflow genhash: required option '-p, --port <port>' not specified/],
    [['genhash', '--server=127.0.0.1', '--port=0', '--url=/'], /^vipflow genhash: option '-p, --port <port>' argument '0' is invalid/],
    [['demo', '--vrrp-version', '4'], /^vipflow demo: option '--vrrp-version <n>' argument '4' is invalid/],
    [['completion', 'fish'], /^vipflow completion: .*'fish' is invalid .*Allowed choices are bash, zsh/],
  ];
  const results = await Promise.all(cases.map(([args, , env]) => vipflow(args, env)));
  cases.forEach(([args, message], k) => {
    const r = results[k]!;
    const what = `vipflow ${args.join(' ')}`;
    assert.equal(r.code, 2, `${what}: exit ${r.code}: ${r.stderr}`);
    assert.match(r.stderr, message, what);
    assert.match(r.stderr, /\(see 'vipflow[a-z -]*--help'\)\n$/, what);
    oneLine(r, what);
    assert.equal(r.stdout, '', what);
  });
  for (const args of [[], ['workflows']]) {
    const r = await vipflow(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.stderr, '');
    assert.match(r.stdout, new RegExp(`^Usage: vipflow${args.length ? ' workflows' : ''} `));
    if (args.length) assert.match(r.stdout, /\n {2}test /);
  }
});

test('--opt=value is read as --opt value, for long options of every kind', async () => {
  const conf = join(scratch, 'ok.conf');
  writeFileSync(
    conf,
    'vrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  virtual_ipaddress {\n    198.18.7.1/24\n  }\n}\n',
  );
  const [spaced, joined, status] = await Promise.all([
    vipflow(['check-config', conf, '--host-independent', '--lb', 'none', '--config-id', 'x', '--json']),
    vipflow(['check-config', conf, '--host-independent', '--lb=none', '--config-id=x', '--json']),
    vipflow(['status', `--state-dir=${join(scratch, 'no-such-dir')}`]),
  ]);
  assert.equal(joined.code, 0, joined.stderr);
  assert.deepEqual(JSON.parse(joined.stdout), JSON.parse(spaced.stdout));
  assert.equal(status.code, 4);
  assert.ok(status.stderr.includes(join(scratch, 'no-such-dir')), status.stderr);
});

test('the daemon honours VIPFLOW_LOG_LEVEL, a --log-level given wins; --pretty prints human lines, coloured only on a terminal', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root (run checks its capabilities before logging)');
  // A config that cannot be read: the daemon logs one fatal line and exits 1, before any socket.
  const args = ['run', '--config', join(scratch, 'missing.conf'), '--state-dir', join(scratch, 'state')];
  const [silentEnv, flagWins, pretty] = await Promise.all([
    vipflow(args, { VIPFLOW_LOG_LEVEL: 'silent' }),
    vipflow([...args, '--log-level', 'fatal'], { VIPFLOW_LOG_LEVEL: 'silent' }),
    vipflow([...args, '--pretty']),
  ]);
  for (const r of [silentEnv, flagWins, pretty]) assert.equal(r.code, 1, r.stderr);
  assert.equal(silentEnv.stdout, '', 'silent from the environment');
  assert.match(JSON.parse(flagWins.stdout.trim()).msg as string, /cannot read/);
  assert.match(pretty.stdout, /^\d\d:\d\d:\d\d\.\d{3} FATAL cannot read \S*missing\.conf config=\S*missing\.conf\n$/);
  assert.ok(!pretty.stdout.includes('\u001b['), 'no colour into a pipe');
  // script(1) gives the daemon a terminal for stdout.
  const command = [process.execPath, main, ...args, '--pretty'].map((a) => `'${a}'`).join(' ');
  const [tty, ttyNoColour] = await Promise.all([
    exec(['script', '-qec', command, '/dev/null']),
    exec(['script', '-qec', command, '/dev/null'], { NO_COLOR: '1' }),
  ]);
  assert.ok(tty.stdout.includes('\u001b[41;97mFATAL'), JSON.stringify(tty.stdout));
  assert.match(ttyNoColour.stdout, /FATAL cannot read/);
  assert.ok(!ttyNoColour.stdout.includes('\u001b['), 'NO_COLOR');
});

/** A fake daemon's control socket answering `status` with a large reply after `delayMs`. */
function fakeControlSocket(dir: string, delayMs: number): Promise<Server> {
  mkdirSync(dir, { recursive: true });
  const status = { pid: 1, filler: 'x'.repeat(400_000) };
  const server = createServer((c) => {
    c.on('error', () => c.destroy());
    c.once('data', () => setTimeout(() => c.end(JSON.stringify({ ok: true, status }) + '\n'), delayMs));
  });
  return new Promise((resolve) => server.listen(join(dir, 'control.sock'), () => resolve(server)));
}

test('stdout closed early (| head): quiet exit 141, nothing on stderr', async () => {
  const dir = join(scratch, 'epipe');
  const server = await fakeControlSocket(dir, 200);
  try {
    const closedEarly = (args: string[]) =>
      new Promise<Result>((resolve) => {
        const child = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        // The reader goes away before the command writes anything.
        child.stdout.destroy();
        let stderr = '';
        child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code, stdout: '', stderr });
        });
      });
    const [status, completion] = await Promise.all([closedEarly(['status', '--json', '--state-dir', dir]), closedEarly(['completion', 'bash'])]);
    for (const r of [status, completion]) {
      assert.equal(r.code, 141, r.stderr);
      assert.equal(r.stderr, '');
    }
  } finally {
    server.close();
  }
});

test('an unexpected error is one line (the stack only at debug); a permission error exits 3', () => {
  const denied = Object.assign(new Error("EACCES: permission denied, mkdir '/run/vipflow'"), { code: 'EACCES' });
  assert.deepEqual(unexpectedErrorLine(denied, false), { line: "vipflow: not permitted: EACCES: permission denied, mkdir '/run/vipflow'", code: 3 });
  const other = unexpectedErrorLine(new Error('boom'), false);
  assert.deepEqual(other, { line: 'vipflow: boom', code: 1 });
  assert.match(unexpectedErrorLine(new Error('boom'), true).line, /^vipflow: boom\nError: boom\n\s+at /);
});

test('shell completion: generated from the definitions, valid bash and zsh, completing commands, options and values', async (t) => {
  const [bash, zsh] = await Promise.all([vipflow(['completion', 'bash']), vipflow(['completion', 'zsh'])]);
  assert.equal(bash.code, 0, bash.stderr);
  assert.equal(zsh.code, 0, zsh.stderr);
  const bashFile = join(scratch, 'vipflow.bash');
  writeFileSync(bashFile, bash.stdout);
  const syntax = spawnSync('bash', ['-n', bashFile], { encoding: 'utf8' });
  assert.equal(syntax.status, 0, syntax.stderr);
  for (const cmd of allCommands(buildProgram(() => undefined)))
    for (const o of cmd.options) if (!o.hidden && o.long) assert.ok(bash.stdout.includes(o.long) && zsh.stdout.includes(o.long), `${o.long} not completed`);
  // What bash would offer, with the words typed so far.
  const offer = (...words: string[]) => {
    const script = `source '${bashFile}'; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _vipflow; echo "\${COMPREPLY[*]}"`;
    return spawnSync('bash', ['-c', script], { encoding: 'utf8', cwd: scratch }).stdout.trim();
  };
  assert.match(offer('vipflow', ''), /^run demo status check-config convert events fleet workflows genhash worker simulate completion help$/);
  assert.equal(offer('vipflow', 'run', '--log-l'), '--log-level');
  assert.equal(offer('vipflow', 'run', '--lb', 'n'), 'nftables none');
  assert.equal(offer('vipflow', 'run', '--lb', '=', 'i'), 'ipvs');
  assert.equal(offer('vipflow', 'workflows', 'test', '--ev'), '--event');
  assert.equal(offer('vipflow', 'completion', ''), 'bash zsh');
  const hasZsh = spawnSync('zsh', ['--version']).status === 0;
  if (!hasZsh) return t.diagnostic('zsh not installed: its script was not parsed');
  const zshFile = join(scratch, '_vipflow');
  writeFileSync(zshFile, zsh.stdout);
  const zsyntax = spawnSync('zsh', ['-n', zshFile], { encoding: 'utf8' });
  assert.equal(zsyntax.status, 0, zsyntax.stderr);
});

test('an unprivileged user: one line naming what is needed, exit 3 (capabilities, state dir, control socket) or 4 (no state dir)', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root to drop to uid 65534');
  // Readable by uid 65534: the checkout is used in place, or a readable copy when it is not (lab/as-user.ts).
  let asNobody: AsUser | undefined;
  try {
    asNobody = await vipflowAsUser(65534, 65534);
    const [setpriv, ...rest] = asNobody.argv;
    const node = rest.indexOf(process.execPath);
    const drop = rest.slice(0, node);
    const tail = rest.slice(node);
    const withCaps = [setpriv!, ...drop, '--inh-caps=+net_raw,+net_admin', '--ambient-caps=+net_raw,+net_admin', ...tail];
    // A root-owned 0755 directory: uid 65534 may enter it but not create the state dir inside.
    const rootOnly = join(scratch, 'root-owned');
    mkdirSync(rootOnly, { mode: 0o755 });
    const socketDir = join(scratch, 'daemon-state');
    const server = await fakeControlSocket(socketDir, 0);
    chmodSync(join(socketDir, 'control.sock'), 0o600);
    try {
      const [noCaps, noStateDir, socket, missing] = await Promise.all([
        exec([...asNobody.argv, 'run', '--config', join(scratch, 'any.conf')]),
        exec([...withCaps, 'run', '--config', join(scratch, 'any.conf'), '--state-dir', join(rootOnly, 'state')]),
        exec([...asNobody.argv, 'status', '--state-dir', socketDir]),
        exec([...asNobody.argv, 'status', '--state-dir', join(scratch, 'never-created')]),
      ]);
      assert.equal(noCaps.code, 3, noCaps.stderr);
      assert.match(noCaps.stderr, /^vipflow run: not permitted: user \S+ \(uid 65534\) lacks CAP_NET_RAW and CAP_NET_ADMIN/);
      assert.match(noCaps.stderr, /AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN/);
      assert.doesNotMatch(noCaps.stderr, /setcap cap_/);
      assert.equal(noStateDir.code, 3, noStateDir.stderr);
      assert.match(
        noStateDir.stderr,
        /^vipflow run: not permitted: user \S+ \(uid 65534\) cannot create the state directory \S+root-owned\/state \(\S+root-owned is not writable\)/,
      );
      assert.match(noStateDir.stderr, /RuntimeDirectory=vipflow/);
      assert.equal(socket.code, 3, socket.stderr);
      assert.match(socket.stderr, /^vipflow status: not permitted: user \S+ \(uid 65534\) cannot use \S+control\.sock; run as root or as the daemon's user/);
      assert.equal(missing.code, 4, missing.stderr);
      assert.match(missing.stderr, /^vipflow status: state directory \S+never-created does not exist: no vipflow daemon runs with it/);
      for (const [what, r] of Object.entries({ noCaps, noStateDir, socket, missing })) oneLine(r, what);
    } finally {
      server.close();
    }
  } finally {
    asNobody?.cleanup();
  }
});
