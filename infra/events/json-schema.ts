/**
 * The `vipflow.event/v1` envelope and every event type's payload as a JSON
 * Schema (draft 2020-12), generated from the zod schemas the daemon itself
 * validates with, so consumers in other languages can validate the same way.
 * Shipped as schemas/vipflow.event.v1.json (a test keeps it equal to this).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { repoRoot } from '../../core/paths.js';
import { EVENT_SCHEMA, eventSchema } from './schema.js';

export function eventJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(eventSchema, { target: 'draft-2020-12', io: 'output' }),
    title: EVENT_SCHEMA,
    description: 'One vipflow event: the envelope (schema, id, cluster, node, seq, time, monoNs), its type and the payload of that type.',
  };
}

/** `npm run schemas`: rewrites the shipped file from the zod schemas. */
export function writeEventJsonSchema(path = join(repoRoot, 'schemas', 'vipflow.event.v1.json')): void {
  writeFileSync(path, JSON.stringify(eventJsonSchema(), null, 2) + '\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) writeEventJsonSchema();
