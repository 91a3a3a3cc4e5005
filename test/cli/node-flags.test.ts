// The node flags the installed `vipflow` runs with, and how the benchmarks read them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../core/paths.js';
import { shebangNodeFlags } from '../../bench/lib/vipflow-build.js';

test('a shebang line gives its node flags, a plain one none', () => {
  assert.deepEqual(shebangNodeFlags('#!/usr/bin/env -S node --max-semi-space-size=1 --foo\nrest'), ['--max-semi-space-size=1', '--foo']);
  assert.deepEqual(shebangNodeFlags('#!/usr/bin/env node\n'), []);
  assert.deepEqual(shebangNodeFlags('// no shebang\n'), []);
  assert.deepEqual(shebangNodeFlags(''), []);
});

test("the command caps V8's semi-space and its helper threads (the daemon's RSS at many instances) and turns its memory reducer off (a long compaction early in the daemon's life)", () => {
  const flags = shebangNodeFlags(readFileSync(join(repoRoot, 'cli', 'main.ts'), 'utf8'));
  assert.ok(flags.includes('--max-semi-space-size=1'), `cli/main.ts shebang flags: ${flags.join(' ')}`);
  assert.ok(flags.includes('--v8-pool-size=1'), `cli/main.ts shebang flags: ${flags.join(' ')}`);
  assert.ok(flags.includes('--no-memory-reducer'), `cli/main.ts shebang flags: ${flags.join(' ')}`);
});
