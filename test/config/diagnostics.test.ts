/**
 * The broken-config corpus: each fixture under fixtures/broken/ states the
 * diagnostics it must produce in `# expect:` comment lines:
 *   # expect: error [FILE:]LINE[:COL] "message substring" [hint "hint substring"]
 * Every expected diagnostic must appear at exactly that place, and the
 * fixture must produce no error beyond those expected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { repoRoot } from '../../core/paths.js';
import { loadKeepalivedFile } from '../../config/keepalived/index.js';
import type { Diagnostic } from '../../config/diagnostics.js';

const dir = join(repoRoot, 'test', 'config', 'fixtures', 'broken');

interface Expectation {
  severity: 'error' | 'warning';
  file: string;
  line: number;
  column?: number;
  message: string;
  hint?: string;
}

const EXPECT = /^# expect: (error|warning) (?:([^\s:]*[A-Za-z][^\s:]*):)?(\d+)(?::(\d+))? "(.*?)"(?: hint "(.*?)")?\s*$/;

function expectations(file: string): Expectation[] {
  const out: Expectation[] = [];
  for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
    const m = EXPECT.exec(line);
    if (!m) continue;
    const e: Expectation = { severity: m[1] as 'error' | 'warning', file: m[2] ?? file, line: Number(m[3]), message: m[5]! };
    if (m[4] !== undefined) e.column = Number(m[4]);
    if (m[6] !== undefined) e.hint = m[6];
    out.push(e);
  }
  return out;
}

function matches(d: Diagnostic, e: Expectation): boolean {
  return (
    d.severity === e.severity &&
    relative(dir, d.file.startsWith('/') ? d.file : join(dir, d.file)) === e.file &&
    d.line === e.line &&
    (e.column === undefined || d.column === e.column) &&
    d.message.includes(e.message) &&
    (e.hint === undefined || (d.hint ?? '').includes(e.hint))
  );
}

const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith('.conf'))
  .sort()
  .filter((f) => expectations(f).length > 0);

test('the corpus is there', () => {
  assert.ok(fixtures.length >= 30, `only ${fixtures.length} fixtures`);
});

for (const f of fixtures) {
  test(`broken config ${f}`, () => {
    const want = expectations(f);
    const r = loadKeepalivedFile(join(dir, f), { configIds: ['high'] });
    const show = r.diagnostics.map((d) => `${basename(d.file)}:${d.line}:${d.column} ${d.severity}: ${d.message}${d.hint ? ` (${d.hint})` : ''}`).join('\n');
    for (const e of want) {
      assert.ok(
        r.diagnostics.some((d) => matches(d, e)),
        `expected ${e.severity} at ${e.file}:${e.line}${e.column ? `:${e.column}` : ''} "${e.message}"; got:\n${show}`,
      );
    }
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    const expectedErrors = want.filter((e) => e.severity === 'error');
    assert.equal(errors.length, expectedErrors.length, `unexpected extra errors:\n${show}`);
    // Some fixtures only warn: keepalived runs them (an unknown keyword, an undefined reference), and so does vipflow.
    if (expectedErrors.length > 0) assert.equal(r.model, undefined, 'no model is returned when there are errors');
    else assert.ok(r.model, 'a model is returned when keepalived would run the file');
  });
}
