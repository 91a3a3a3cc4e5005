/**
 * Reader features as keepalived documents them: definitions (also multi-line
 * and nested), conditionals, ~SEQ, include globs, quoting and comment escapes,
 * braces anywhere on a line. Values are checked on the resulting model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { repoRoot } from '../../core/paths.js';
import { loadKeepalivedFile, loadKeepalivedText } from '../../config/keepalived/index.js';
import { DiagnosticSink } from '../../config/diagnostics.js';
import { KeepalivedReader } from '../../config/keepalived/reader.js';

const good = join(repoRoot, 'test', 'config', 'fixtures', 'good');

function tokens(text: string, configIds: string[] = []): string[][] {
  const sink = new DiagnosticSink();
  const r = new KeepalivedReader(sink, { configIds, env: { HOME_NET: '198.18.7' } });
  r.readText(text, 'mem.conf');
  assert.deepEqual(sink.items, []);
  return r.statements.map((s) => s.map((t) => t.text));
}

test('features.conf: multi-line definitions, conditionals, ~SEQ, include glob', () => {
  const r = loadKeepalivedFile(join(good, 'features.conf'), { configIds: ['high'] });
  assert.deepEqual(
    r.diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
  const m = r.model!;
  assert.equal(m.global.routerId, 'router one');
  assert.deepEqual(m.global.notificationEmail, ['ops#1@example.org']);
  const [vi1, vi2, seq] = m.vrrpInstances;
  assert.deepEqual([vi1!.name, vi1!.interface, vi1!.virtualRouterId, vi1!.priority], ['VI_1', 'eth0.1', 1, 130]);
  assert.deepEqual([vi2!.name, vi2!.interface, vi2!.virtualRouterId], ['VI_2', 'eth0.2', 2]);
  assert.deepEqual(vi1!.virtualIpaddress, [{ address: '198.18.0.1', prefix: 24 }]);
  assert.deepEqual(
    seq!.virtualIpaddress.map((v) => v.address),
    ['198.18.9.10', '198.18.9.12', '198.18.9.14'],
  );
  // ~SEQx expanded too; keepalived 2.2.7 drops addresses of the other family from an IPv4 instance.
  assert.deepEqual(
    r.diagnostics.filter((d) => /is IPv6 but vrrp_instance VI_SEQ is IPv4; ignored/.test(d.message)).map((d) => d.message.split(' ')[1]),
    ['fd00:198:18::a', 'fd00:198:18::b'],
  );
  assert.equal(seq!.virtualIpaddress[0]!.dev, 'eth9');
  assert.deepEqual(
    m.vrrpScripts.map((s) => [s.name, s.weight, s.reverse]),
    [['chk', -5, true]],
  );
  assert.deepEqual(
    m.trackProcesses.map((p) => p.name),
    ['nginx'],
  );
  assert.deepEqual(
    m.trackFiles.map((f) => [f.name, f.file]),
    [['maint', '/run/maint']],
  );
  const low = loadKeepalivedFile(join(good, 'features.conf'), { configIds: ['low'] }).model!;
  assert.equal(low.vrrpInstances[0]!.priority, 120);
});

test('substituted tokens point at the $ that produced them', () => {
  const r = loadKeepalivedText('$P=300\nvrrp_instance V { interface e\n virtual_router_id 1\n priority $P\n virtual_ipaddress { 198.18.0.1 } }\n');
  const d = r.diagnostics.find((x) => x.message.startsWith("priority '300'"));
  assert.ok(d);
  assert.deepEqual([d.line, d.column], [4, 11]);
});

test('brace on the next line and several blocks on one line', () => {
  const r = loadKeepalivedFile(join(good, 'brace-next-line.conf'));
  assert.deepEqual(r.diagnostics, []);
  const i = r.model!.vrrpInstances[0]!;
  assert.deepEqual(i.trackInterfaces, [{ name: 'eth1', weight: 5, reverse: false }]);
  assert.equal(i.virtualIpaddress.length, 1);
});

test('comments, escapes and quotes follow keepalived', () => {
  assert.deepEqual(tokens('a b # comment\nc ! other\nd "e # f" g\nh \\#i'), [['a', 'b'], ['c'], ['d', 'e # f', 'g'], ['h', '#i']]);
  assert.deepEqual(tokens('x{y}z'), [['x'], ['{'], ['y'], ['}'], ['z']]);
  assert.deepEqual(tokens('s "{ not a block }"'), [['s', '{ not a block }']]);
  assert.deepEqual(tokens('crlf line\r\nnext\r\n'), [['crlf', 'line'], ['next']]);
});

test('definitions: recursive at use time, builtins, nested multi-line', () => {
  assert.deepEqual(tokens('$A=10.2.${B}\n$B=0\n${A}.100/32\n$B=10\n${A}.100/32'), [['10.2.0.100/32'], ['10.2.10.100/32']]);
  assert.deepEqual(tokens('x ${_HASH} ${_BANG} ${_ENV HOME_NET}.1'), [['x', '#', '!', '198.18.7.1']]);
  assert.deepEqual(tokens('$IN= \\\n  b ${N} \\\n  c\n$OUT= \\\n  a \\\n  $IN\n$N=7\n$OUT'), [['a'], ['b', '7'], ['c']]);
  assert.deepEqual(tokens('$X=@main\n$X keep\n@^main other', ['main']), [['keep']]);
});

test('~SEQ forms: end only, start/end, hex, nested', () => {
  assert.deepEqual(tokens('~SEQ(I, 3) v$I'), [['v1'], ['v2'], ['v3']]);
  assert.deepEqual(tokens('~SEQ(I, 5, 3) v$I'), [['v5'], ['v4'], ['v3']]);
  assert.deepEqual(tokens('~SEQx(I, 9, 11) v${I}'), [['v9'], ['va'], ['vb']]);
  assert.deepEqual(tokens('~SEQ(A, 1, 2) ~SEQ(B, 1, 2) ${A}.${B}'), [['1.1'], ['1.2'], ['2.1'], ['2.2']]);
});
