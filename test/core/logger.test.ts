import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../core/logger.js';

test('logger writes structured JSON lines with child context', async () => {
  const out = new PassThrough();
  const chunks: string[] = [];
  out.on('data', (c: Buffer) => chunks.push(c.toString()));
  const log = createLogger({ level: 'info', destination: out }).child({ instance: 'VI_1', vrid: 51 });
  log.info({ state: 'MASTER' }, 'transition');
  log.debug('not shown at info');
  await new Promise((r) => setImmediate(r));
  const lines = chunks.join('').trim().split('\n');
  assert.equal(lines.length, 1);
  const rec = JSON.parse(lines[0]!);
  assert.equal(rec.instance, 'VI_1');
  assert.equal(rec.vrid, 51);
  assert.equal(rec.state, 'MASTER');
  assert.equal(rec.msg, 'transition');
});
