/**
 * Errors in a vipflow.config.ts name file:line:col, through `vipflow
 * check-config` run as a child process: a type error (reported by the
 * TypeScript compiler, which the daemon's load path does not run), a value
 * out of keepalived's range, and a module that throws while it is imported.
 * Also the keepalived.conf messages: keepalived's bounds, a capped list's
 * counts and a binary file. The config modules are written to a scratch
 * directory (a deliberate type error cannot live in the compiled test tree);
 * their text is here, so the asserted lines can be read off it.
 *
 * Each check-config of a .ts config runs the TypeScript compiler (seconds of
 * CPU): one after another the file took about 56 s. The tests run
 * concurrently, and their child processes go through a pool of two (CI has
 * two cores); every case still asserts on its own child's output.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../../core/paths.js';
import { DiagnosticSink, countDiagnostics } from '../../config/diagnostics.js';
import { looksBinary } from '../../config/binary.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const mainJs = join(here, '..', '..', 'cli', 'main.js');
const main = existsSync(mainJs) ? mainJs : join(here, '..', '..', 'cli', 'main.ts');
const defineModule = JSON.stringify(join(repoRoot, 'config', 'define.ts'));
const scratch = mkdtempSync(join(tmpdir(), 'vipflow-typed-errors-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

interface JsonDiagnostic {
  severity: string;
  file: string;
  line: number;
  column: number;
  message: string;
  omitted?: { errors: number; warnings: number };
}

interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** At most POOL check-config children at once; the rest wait their turn, first come first served. */
const POOL = 2;
let running = 0;
const queued: (() => void)[] = [];

async function cli(...args: string[]): Promise<CliResult> {
  if (running < POOL) running++;
  else await new Promise<void>((resolve) => queued.push(resolve)); // the finishing child hands over its slot
  try {
    return await new Promise<CliResult>((resolve, reject) => {
      const child = spawn(process.execPath, [...process.execArgv.filter((a) => !a.startsWith('--test')), main, 'check-config', '--host-independent', ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 120_000,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      child.on('error', reject);
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
  } finally {
    const next = queued.shift();
    if (next) next();
    else running--;
  }
}

function write(name: string, lines: string[]): string {
  const f = join(scratch, name);
  writeFileSync(f, lines.join('\n') + '\n');
  return f;
}

/** A config whose instance has `priorityLine` on line 9, column 7. */
function instanceConfig(name: string, priorityLine: string): string {
  return write(name, [
    `import { defineConfig } from ${defineModule};`,
    '',
    'export default defineConfig({',
    '  vrrpInstances: [',
    '    {',
    "      name: 'VI_1',",
    "      interface: 'eth0',",
    '      virtualRouterId: 51,',
    `      ${priorityLine}`,
    "      virtualIpaddress: [{ address: '198.18.0.10', prefix: 24 }],",
    '    },',
    '  ],',
    '});',
  ]);
}

function json(r: { stdout: string }): JsonDiagnostic[] {
  return JSON.parse(r.stdout) as JsonDiagnostic[];
}

// concurrency: the cases wait on their children together; cli() bounds how many run.
describe('check-config diagnostics', { concurrency: true }, () => {
  test('a type error is reported by the compiler at its line and column, once', async () => {
    const f = instanceConfig('type-error.config.ts', "priority: 'high',");
    const [r, asJson] = await Promise.all([cli(f), cli(f, '--json')]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /type-error\.config\.ts:9:7: error: TS2322: Type 'string' is not assignable to type 'number'\./);
    assert.match(r.stderr, /type-error\.config\.ts: 1 error\(s\), 0 warning\(s\)/);
    const list = json(asJson);
    // The schema also rejects 'high' at runtime; that echo of the same mistake is not listed.
    assert.equal(list.length, 1, JSON.stringify(list));
    assert.deepEqual([list[0]!.line, list[0]!.column], [9, 7]);
    assert.match(list[0]!.message, /^TS2322: /);
  });

  test('a value out of range names the property and keepalived’s bounds', async () => {
    const f = instanceConfig('bad-value.config.ts', 'priority: 300,');
    const [r, asJson] = await Promise.all([cli(f), cli(f, '--json')]);
    assert.equal(r.status, 1, r.stderr);
    const want = 'vrrpInstances[0].priority: 300 is out of range: keepalived 2.2.7 accepts 1 to 255 (255 is for the address owner)';
    assert.ok(r.stderr.includes(`bad-value.config.ts:9:7: error: ${want}`), r.stderr);
    assert.ok(r.stderr.includes('        priority: 300,\n        ^~~~~~~~\n'), r.stderr);
    const list = json(asJson);
    assert.deepEqual(
      list.map((d) => [d.line, d.column, d.message]),
      [[9, 7, want]],
    );
  });

  test('a missing field, or one spread in from elsewhere, points at the nearest object written in the file', async () => {
    const f = write('missing.config.ts', [
      `import { defineConfig } from ${defineModule};`,
      "const base = { name: 'VI_1', interface: 'eth0', priority: 0 };",
      'export default defineConfig({',
      '  vrrpInstances: [',
      "    { ...base, virtualIpaddress: [{ address: '198.18.0.10', prefix: 24 }] } as never,",
      '  ],',
      "  vrrpScripts: [{ name: 'chk', script: { command: 7 as unknown as string } }],",
      '});',
    ]);
    const list = json(await cli(f, '--json'));
    assert.deepEqual(list.map((d) => [d.line, d.column, d.message]).sort(), [
      [5, 5, 'vrrpInstances[0].priority: 0 is out of range: keepalived 2.2.7 accepts 1 to 255 (255 is for the address owner)'],
      [5, 5, "vrrpInstances[0]: missing 'virtualRouterId'"],
      [7, 42, 'vrrpScripts[0].script.command: Invalid input: expected string, received number'],
    ]);
  });

  test('a module that throws at import names the throwing line', async () => {
    const lines = [
      `import { defineConfig } from ${defineModule};`,
      '',
      'function peerAddress(): string {',
      "  throw new Error('PEER is not set');",
      '}',
      'export default defineConfig({',
      "  vrrpInstances: [{ name: 'VI_1', virtualRouterId: 51, unicastPeers: [{ address: peerAddress() }] }],",
      '});',
    ];
    // tsx compiles a file outside an ESM package as CommonJS (no source map) and one inside as ESM: both are found.
    const cjs = write('throws.config.ts', lines);
    const esmDir = join(scratch, 'esm');
    rmSync(esmDir, { recursive: true, force: true });
    spawnSync('mkdir', ['-p', esmDir]);
    writeFileSync(join(esmDir, 'package.json'), '{ "type": "module" }\n');
    const esm = join(esmDir, 'throws.config.ts');
    copyFileSync(cjs, esm);
    const runs = await Promise.all([cjs, esm].map(async (f) => ({ f, r: await cli(f), asJson: await cli(f, '--json') })));
    for (const { f, r, asJson } of runs) {
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /throws\.config\.ts:4:9: error: loading the config module failed: PEER is not set/, f);
      const list = json(asJson);
      assert.deepEqual(
        list.map((d) => [d.line, d.column]),
        [[4, 9]],
        f,
      );
    }
  });

  test('a keepalived.conf range error states keepalived’s bounds for the instance’s VRRP version', async () => {
    const conf = (name: string, body: string[]) =>
      write(name, ['vrrp_instance VI_1 {', '  interface eth0', ...body, '  virtual_ipaddress {', '    198.18.0.10/24', '  }', '}']);
    const [v2, v3, vrid] = await Promise.all([
      cli(conf('adv-v2.conf', ['  virtual_router_id 51', '  advert_int 256']), '--json').then(json),
      cli(conf('adv-v3.conf', ['  virtual_router_id 51', '  version 3', '  advert_int 50']), '--json').then(json),
      cli(conf('vrid.conf', ['  virtual_router_id 256']), '--json').then(json),
    ]);
    assert.deepEqual(
      v2.map((d) => [d.line, d.column, d.message]),
      // Beyond keepalived's 255 s for every version: keepalived ignores the line and keeps 1 s; so does vipflow, with a warning.
      [
        [
          4,
          14,
          `'advert_int 256' is not a number from 0.01 to 255 s; ignored, the default 1 s stays, as keepalived does ("Advert interval not valid! Must be > 0 - ignoring")`,
        ],
      ],
    );
    assert.deepEqual(
      v3.map((d) => [d.line, d.message]),
      // keepalived caps it and runs: a warning naming the value it uses.
      [[5, "vrrp_instance VI_1: 'advert_int': advert_int 50 is not in hundredths of a second up to 40.95 s for VRRPv3: keepalived uses 40.95"]],
    );
    assert.deepEqual(
      vrid.map((d) => [d.line, d.column, d.message]),
      [[3, 21, "invalid value '256' for 'virtual_router_id': keepalived 2.2.7 accepts 1 to 255"]],
    );
  });

  test('a capped list: the summary counts every diagnostic and says how many are not shown', async () => {
    // 1400 instances with one error each: 1400 errors, 1000 listed.
    const lines: string[] = [];
    for (let k = 0; k < 1400; k++) lines.push(`vrrp_instance VI_${k} {`, '  interface eth0', '  virtual_router_id 0', '}');
    const f = write('many.conf', lines);
    const [r, asJson] = await Promise.all([cli(f), cli(f, '--json')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /many\.conf: error: 400 more diagnostic\(s\) not shown \(400 error\(s\), 0 warning\(s\)\)/);
    assert.match(r.stderr, /many\.conf: 1400 error\(s\), 0 warning\(s\), 400 not shown\n$/);
    const list = json(asJson);
    assert.equal(list.length, 1001);
    assert.deepEqual(list.at(-1)!.omitted, { errors: 400, warnings: 0 });
  });

  test('countDiagnostics counts a capped note by what it stands for, warnings included', () => {
    const sink = new DiagnosticSink(2);
    const at = { file: 'x.conf', line: 1, column: 1 };
    sink.error(at, 'a');
    sink.warning(at, 'b');
    sink.warning(at, 'c');
    sink.error(at, 'd');
    sink.warning(at, 'e');
    assert.deepEqual(countDiagnostics(sink.items), { errors: 2, warnings: 3, notShown: 3 });
    assert.equal(sink.items.length, 3);
  });

  test('a binary file is named as such, not parsed', async () => {
    // The start of an ELF executable: what `check-config /usr/sbin/keepalived` would read.
    const f = join(scratch, 'keepalived.bin');
    const bytes = new Uint8Array(4096).map((_, k) => (k * 37) % 256);
    bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    writeFileSync(f, bytes);
    // The same file reached through an include is named at the include line.
    const including = write('including.conf', ['global_defs {', '  vrrp_version 3', '}', `include ${f}`]);
    const [r, text, included] = await Promise.all([cli(f, '--json'), cli(f), cli(including, '--json')]);
    assert.equal(r.status, 2);
    assert.deepEqual(
      json(r).map((d) => d.message),
      [`${f} is a binary file, not a keepalived.conf`],
    );
    assert.match(text.stderr, /keepalived\.bin: error: .*keepalived\.bin is a binary file, not a keepalived\.conf\n.*1 error\(s\), 0 warning\(s\)\n$/);
    assert.deepEqual(
      json(included).map((d) => [d.line, d.column, d.message]),
      [[4, 9, `included file ${f} is a binary file, not a keepalived.conf`]],
    );
    assert.equal(looksBinary('vrrp_instance VI_1 {\n\tinterface eth0\r\n}\n'), false);
    assert.equal(looksBinary(`global_defs {\n  router_id a\0b\n}\n${'# padding\n'.repeat(10)}`), false, 'one stray NUL is a line problem');
    assert.equal(looksBinary('\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0'), true);
  });
});
