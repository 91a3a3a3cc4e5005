/**
 * Finding a model path in a config module's source (config/ts-source.ts)
 * in the shapes configs are written in, and the throw site of an import
 * failure from a stack; pure, with the TypeScript compiler installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigSource, loadTypeScript, throwSite } from '../../config/ts-source.js';

const ts = await loadTypeScript();
if (!ts) throw new Error('these tests need the typescript package (a devDependency)');

function at(text: string, path: PropertyKey[], file = '/x/vipflow.config.ts'): [number, number, string, boolean] | undefined {
  const p = new ConfigSource(ts!, file, text).locate(path);
  return p && [p.line, p.column, p.text, p.exact];
}

test('a property inside defineConfig(...) passed to export default, through as/satisfies', () => {
  const text = [
    "import { defineConfig } from 'vipflow/config';",
    'export default defineConfig({',
    '  vrrpInstances: [',
    "    { name: 'VI_1', virtualRouterId: 51 },",
    "    { name: 'VI_2', 'virtualRouterId': 300 } satisfies object,",
    '  ],',
    '});',
  ].join('\n');
  assert.deepEqual(at(text, ['vrrpInstances', 1, 'virtualRouterId']), [5, 21, "'virtualRouterId'", true]);
  assert.deepEqual(at(text, ['vrrpInstances', 1, 'priority']), [5, 5, '{', false]);
  assert.deepEqual(at(text, ['vrrpInstances', 7]), [3, 3, 'vrrpInstances', false]);
});

test('a config held in constants, a shorthand property, export const config, module.exports', () => {
  const consts = [
    "const instances = [{ name: 'VI_1', priority: 300 }];",
    'const vrrpScripts = [];',
    'const cfg = defineConfig({ vrrpInstances: instances, vrrpScripts });',
    'export default cfg;',
  ].join('\n');
  assert.deepEqual(at(consts, ['vrrpInstances', 0, 'priority']), [1, 36, 'priority', true]);
  assert.deepEqual(at(consts, ['vrrpScripts', 0]), [3, 54, 'vrrpScripts', false]);
  assert.deepEqual(at('export const config = { global: { routerId: 7 } };', ['global', 'routerId']), [1, 35, 'routerId', true]);
  assert.deepEqual(at('module.exports = { global: { routerId: 7 } };', ['global', 'routerId'], '/x/c.config.js'), [1, 30, 'routerId', true]);
});

test('after a spread, indices are not trusted: the array is the nearest place', () => {
  const text = "export default { vrrpInstances: [...base, { name: 'VI_9', priority: 0 }] };";
  assert.deepEqual(at(text, ['vrrpInstances', 1, 'priority']), [1, 18, 'vrrpInstances', false]);
  assert.equal(at('const x = 1;', ['a']), undefined);
});

test('throwSite: a plain (source-mapped) frame, and tsx’s CommonJS data: URL found by its tokens', () => {
  const file = '/etc/vipflow/vipflow.config.ts';
  const text = [
    'const n: number = 1;',
    'function peer(): string {',
    "  throw new Error('PEER is not set: ' + String(n));",
    '}',
    'export default { x: peer() };',
  ].join('\n');
  assert.deepEqual(throwSite(ts, file, text, `Error: x\n    at peer (${file}:3:9)\n    at other (/y.js:1:1)`), { line: 3, column: 9 });
  const compiled = 'var n=1;function peer(){throw new Error("PEER is not set: "+String(n))}module.exports={x:peer()};';
  const frame = `data:text/javascript,${encodeURIComponent(compiled)}?filePath=${encodeURIComponent(file)}%3Fnamespace%3D1:1:${compiled.indexOf('new') + 1}`;
  assert.deepEqual(throwSite(ts, file, text, `Error: x\n    at peer (${frame})`), { line: 3, column: 9 });
  assert.equal(throwSite(ts, file, text, 'Error: x\n    at other (/y.js:1:1)'), undefined);
});
