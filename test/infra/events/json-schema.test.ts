// The published JSON Schema of vipflow.event/v1: kept equal to what the zod
// schemas generate, and checked with a standard validator (Ajv, draft
// 2020-12) against an event of every type, and against broken ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { repoRoot } from '../../../core/paths.js';
import { eventJsonSchema } from '../../../infra/events/json-schema.js';
import { EVENT_TYPES, parseEvent, type EventType } from '../../../infra/events/schema.js';
import { samplePayloads, testSource } from './fixtures.js';

const published = JSON.parse(readFileSync(join(repoRoot, 'schemas', 'vipflow.event.v1.json'), 'utf8')) as Record<string, unknown>;

test('schemas/vipflow.event.v1.json is what the zod schemas generate (regenerate it when they change)', () => {
  assert.deepEqual(published, JSON.parse(JSON.stringify(eventJsonSchema())));
});

test('an event of every type validates with Ajv; broken ones do not, as parseEvent says', () => {
  const validate = new Ajv2020({ strict: false }).compile(published);
  const src = testSource();
  for (const type of EVENT_TYPES) {
    const event = JSON.parse(JSON.stringify(src.make(type, samplePayloads[type as EventType] as never))) as Record<string, unknown>;
    assert.ok(parseEvent(event).ok, `${type}: zod accepts it`);
    assert.ok(validate(event), `${type}: ${JSON.stringify(validate.errors)}`);
    for (const broken of [
      { ...event, type: 'no.such.type' },
      { ...event, seq: -1 },
      { ...event, cluster: 'has space' },
      { ...event, data: 'not an object' },
    ]) {
      assert.equal(validate(broken), false, `${type}: ${JSON.stringify(broken).slice(0, 80)}`);
      assert.equal(parseEvent(broken).ok, false);
    }
  }
});
