import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchesProcess, processMatcher, type ProcessSample } from '../../../actors/track-process/index.js';

const proc = (comm: string, argv: string[], zombie = false): ProcessSample => ({ pid: 10, ppid: 1, comm, cmdline: argv.map((a) => `${a}\0`).join(''), zombie });
const def = (process: string, parameters: string[] = [], extra: { paramMatch?: 'exact' | 'partial' | 'initial'; fullCommand?: boolean } = {}) =>
  processMatcher({ process, parameters, fullCommand: extra.fullCommand ?? false, paramMatch: extra.paramMatch });

test('a bare name matches comm, not argv[0]', () => {
  assert.equal(matchesProcess(def('nginx'), proc('nginx', ['nginx: master process'])), true);
  assert.equal(matchesProcess(def('/usr/sbin/nginx'), proc('nginx', ['/usr/sbin/nginx'])), false);
  assert.equal(matchesProcess(def('nginx'), proc('nginx', ['nginx'], true)), false, 'zombies never count');
});

test('full_command matches argv[0] exactly, whatever the arguments', () => {
  const m = def('/usr/sbin/nginx', [], { fullCommand: true });
  assert.equal(matchesProcess(m, proc('nginx', ['/usr/sbin/nginx', '-g', 'daemon off;'])), true);
  assert.equal(matchesProcess(m, proc('nginx', ['nginx'])), false);
});

test('parameters imply exact matching of the whole argument list', () => {
  const m = def('sleep', ['3001']);
  assert.equal(m.fullCommand, true);
  assert.equal(matchesProcess(m, proc('sleep', ['sleep', '3001'])), true);
  assert.equal(matchesProcess(m, proc('sleep', ['sleep', '30011'])), false);
  assert.equal(matchesProcess(m, proc('sleep', ['sleep', '3001', 'x'])), false);
  assert.equal(matchesProcess(m, proc('sleep', ['sleep'])), false);
});

test('partial: the configured arguments come first; initial: the last one may be a prefix', () => {
  const p = def('sleep', ['300'], { paramMatch: 'partial' });
  assert.equal(matchesProcess(p, proc('sleep', ['sleep', '300', 'x'])), true);
  assert.equal(matchesProcess(p, proc('sleep', ['sleep', '3001'])), false);
  const i = def('sleep', ['300'], { paramMatch: 'initial' });
  assert.equal(matchesProcess(i, proc('sleep', ['sleep', '3001'])), true);
  assert.equal(matchesProcess(i, proc('sleep', ['sleep', '30'])), false);
});

test('param_match without parameters: exact means no arguments, partial and initial anything', () => {
  assert.equal(matchesProcess(def('sleep', [], { paramMatch: 'exact' }), proc('sleep', ['sleep'])), true);
  assert.equal(matchesProcess(def('sleep', [], { paramMatch: 'exact' }), proc('sleep', ['sleep', '1'])), false);
  assert.equal(matchesProcess(def('sleep', [], { paramMatch: 'partial' }), proc('sleep', ['sleep', '1'])), true);
});
