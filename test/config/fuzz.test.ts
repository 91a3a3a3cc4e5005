/**
 * The loader on hostile input: random text, keepalived-flavoured token soup,
 * and mutations of the shared samples (tokens deleted, duplicated, swapped).
 * It must return diagnostics, never throw, and finish each input quickly.
 * Inputs are read as files in an empty temporary folder so that a generated
 * `include *` cannot wander into the repository.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { sharedDir } from '../../core/paths.js';
import { loadKeepalivedText } from '../../config/keepalived/index.js';

const scratch = mkdtempSync(join(tmpdir(), 'vipflow-fuzz-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const file = join(scratch, 'fuzz.conf');
const PER_INPUT_MS = 2000;

function loadsSafely(text: string, limitMs = PER_INPUT_MS): void {
  const t0 = performance.now();
  const r = loadKeepalivedText(text, file, { configIds: ['high'] });
  const ms = performance.now() - t0;
  assert.ok(Array.isArray(r.diagnostics));
  for (const d of r.diagnostics) {
    assert.ok(d.severity === 'error' || d.severity === 'warning');
    assert.equal(typeof d.message, 'string');
    assert.ok(Number.isInteger(d.line) && d.line >= 0);
  }
  // Either a model or at least one error explaining why not.
  assert.ok(r.model !== undefined || r.diagnostics.some((d) => d.severity === 'error'), 'no model and no error');
  assert.ok(ms < limitMs, `took ${ms.toFixed(0)} ms`);
}

const samples = readdirSync(join(sharedDir, 'keepalived-samples'))
  .sort()
  .map((f) => readFileSync(join(sharedDir, 'keepalived-samples', f), 'utf8'));

const vocabulary = [
  '{',
  '}',
  '"',
  "'",
  '#',
  '!',
  '\\',
  '\n',
  ' ',
  '\t',
  '@high',
  '@^high',
  '@',
  '$X=',
  '$X',
  '${X}',
  '${_RANDOM 1 3}',
  '$Y= \\\n',
  '~SEQ(I, 1, 3)',
  '~SEQx(I, 1, 2)',
  '~SEQ(',
  '~LST(A, 1)',
  'include',
  'include *',
  'includea x',
  'vrrp_instance',
  'VI_1',
  'virtual_ipaddress',
  '198.18.0.1/24',
  'fd00:198:18::1',
  'priority',
  '255',
  '-1',
  '0.5',
  'virtual_router_id',
  'interface',
  'eth0',
  'global_defs',
  'vrrp_script',
  'script',
  'track_script',
  'virtual_server',
  'real_server',
  'HTTP_GET',
  'url',
  'path',
  'vrrp_sync_group',
  'group',
  'authentication',
  'auth_type',
  'PASS',
  'version',
  '3',
  'advert_int',
  'state',
  'MASTER',
  'dev',
];

test('random text never throws', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 400, unit: 'binary' }), (t) => loadsSafely(t)),
    { numRuns: 300 },
  );
});

test('keepalived-flavoured token soup never throws', () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...vocabulary), { maxLength: 200 }), (words) => loadsSafely(words.join(' '))),
    { numRuns: 400 },
  );
});

test('mutated samples never throw', () => {
  const mutation = fc.oneof(
    fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('duplicate' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('swap' as const), at: fc.nat(), with: fc.nat() }),
  );
  fc.assert(
    fc.property(fc.nat(samples.length - 1), fc.array(mutation, { minLength: 1, maxLength: 8 }), (k, ops) => {
      // Tokens keep their separators so line structure survives mutation.
      const toks = samples[k]!.split(/(?<=\s)(?=\S)/);
      for (const o of ops) {
        if (toks.length === 0) break;
        const i = o.at % toks.length;
        if (o.op === 'delete') toks.splice(i, 1);
        else if (o.op === 'duplicate') toks.splice(i, 0, toks[i]!);
        else {
          const j = o.with % toks.length;
          [toks[i], toks[j]] = [toks[j]!, toks[i]!];
        }
      }
      loadsSafely(toks.join(''));
    }),
    { numRuns: 400 },
  );
});

test('pathological nesting and expansion stay bounded', () => {
  loadsSafely('{'.repeat(20000));
  loadsSafely('}'.repeat(20000));
  loadsSafely('vrrp_instance V {\n'.repeat(5000));
  loadsSafely('$A=$A $A\n$A\n');
  loadsSafely('$A= \\\n$A\n$A\n');
  loadsSafely('~SEQ(I, 1, 99999999999) x\n');
  // 27 million lines asked for: expansion stops at one million with an error (measured ~2 s here).
  loadsSafely('~SEQ(A, 1, 300) ~SEQ(B, 1, 300) ~SEQ(C, 1, 300) x\n', 15_000);
  loadsSafely(`${'x'.repeat(2_000_000)}\n`);
});
