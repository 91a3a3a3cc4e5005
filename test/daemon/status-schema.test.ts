// The published JSON Schema of the status document: kept equal to what the
// zod schema generates, and checked with a standard validator (Ajv, draft
// 2020-12) against a full status document and broken ones. A live daemon's
// document is validated in test/lab/cluster-view.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { repoRoot } from '../../core/paths.js';
import { statusJsonSchema } from '../../daemon/status-schema.js';
import { status } from './status-fixture.js';
import { transitionRecord } from './fixtures.js';

const published = JSON.parse(readFileSync(join(repoRoot, 'schemas', 'vipflow.status.v1.json'), 'utf8')) as Record<string, unknown>;

test('schemas/vipflow.status.v1.json is what the zod schema generates (npm run schemas when it changes)', () => {
  assert.deepEqual(published, JSON.parse(JSON.stringify(statusJsonSchema())));
});

test('a full status document validates with Ajv; broken ones and unknown fields do not', () => {
  const validate = new Ajv2020({ strict: false }).compile(published);
  const member = {
    instance: 'VI_1',
    node: 'n2',
    vrid: 51,
    family: 'ipv4',
    state: 'backup',
    effectivePriority: 100,
    basePriority: 100,
    masterSeen: '198.18.0.1',
    reason: 'higher-priority-advert',
    lastChange: new Date(0).toISOString(),
    eventId: 'e1',
    heartbeatAt: new Date(0).toISOString(),
    stale: true,
  };
  const s = status({ recentTransitions: [{ ...transitionRecord(), time: new Date(0).toISOString() }] });
  const doc = JSON.parse(
    JSON.stringify({ ...s, events: { ...s.events, members: [member], recent: [{ type: 'instance.transition', id: 'x', time: 't' }] } }),
  ) as Record<string, unknown>;
  assert.ok(validate(doc), JSON.stringify(validate.errors));
  const instances = doc.instances as Record<string, unknown>[];
  for (const broken of [
    { ...doc, pid: 'one' },
    { ...doc, instances: [{ ...instances[0], state: 'leader' }] },
    { ...doc, instances: [{ ...instances[0], vrid: 256 }] },
    { ...doc, events: { ...(doc.events as object), recent: [{ type: 'no.such', id: 'x', time: 't' }] } },
    { ...doc, surprise: 1 },
  ])
    assert.equal(validate(broken), false, JSON.stringify(broken).slice(0, 100));
});
