/**
 * The built-in --pretty formatter: one human line per pino record, colour only
 * when asked (a terminal without NO_COLOR), an error's stack below its line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../core/logger.js';
import { prettyLine, wantsColour } from '../../core/pretty-log.js';

const ESC = '\u001b[';

test('prettyLine: time, level, message and the other fields; escape codes only with colour', () => {
  const rec = JSON.stringify({ level: 40, time: '2026-12-02T08:01:02.345Z', pid: 7, name: 'vipflow', msg: 'link down', instance: 'VI_1', detail: 'a b' });
  assert.equal(prettyLine(rec, false), '08:01:02.345 WARN  link down instance=VI_1 detail="a b"\n');
  const coloured = prettyLine(rec, true);
  assert.ok(coloured.includes(`${ESC}33mWARN `), coloured);
  assert.equal(coloured.replace(new RegExp(`${ESC.replace('[', '\\[')}[0-9;]*m`, 'g'), ''), prettyLine(rec, false));
  assert.equal(prettyLine('not json', false), 'not json\n');
  const err = JSON.stringify({ level: 50, time: '2026-12-02T08:01:02.345Z', msg: 'reload failed', err: { message: 'boom', stack: 'Error: boom\n    at x' } });
  assert.equal(prettyLine(err, false), '08:01:02.345 ERROR reload failed\n    Error: boom\n        at x\n');
});

test('wantsColour: a terminal, unless NO_COLOR is set', () => {
  assert.equal(wantsColour({ isTTY: true }, {}), true);
  assert.equal(wantsColour({ isTTY: true }, { NO_COLOR: '1' }), false);
  assert.equal(wantsColour({ isTTY: false }, {}), false);
  assert.equal(wantsColour({}, {}), false);
});

test('createLogger({ pretty }) writes pretty lines to a non-terminal stream without colour, at the level asked', async () => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  const log = createLogger({ level: 'warn', pretty: true, destination: out });
  log.info('hidden at warn');
  log.warn({ vrid: 51 }, 'shown');
  await new Promise((r) => setImmediate(r));
  assert.match(text, /^\d\d:\d\d:\d\d\.\d{3} WARN {2}shown vrid=51\n$/);
});
