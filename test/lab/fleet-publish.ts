// Helper program (not a test): publishes one vipflow event to a cluster's stream,
// as a worker or daemon would (a NatsBus with an outbox). Runs inside a lab namespace.
// usage: fleet-publish URL CLUSTER NODE TYPE DATA_JSON
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatsBus } from '../../infra/events/nats-bus.js';
import { createEventSource, memorySeq } from '../../infra/events/index.js';
import { EVENT_TYPES, type EventData, type EventType, type VipflowEvent } from '../../infra/events/schema.js';
import { silentLogger } from '../../core/logger.js';

const [url = '', cluster = 'default', node = 'worker', type = '', data = '{}'] = process.argv.slice(2);
const stateDir = mkdtempSync(join(tmpdir(), 'vipflow-fleet-publish-'));
const bus = new NatsBus({ servers: url, cluster, log: silentLogger(), manageStream: false, stateDir, publishInWorker: false });
try {
  if (!(EVENT_TYPES as readonly string[]).includes(type)) throw new Error(`unknown event type ${type}`);
  const source = createEventSource({ cluster, node, seq: memorySeq() });
  bus.publish(source.make(type as EventType, JSON.parse(data) as EventData<EventType>) as VipflowEvent);
  if (!(await bus.flush(10_000))) throw new Error('not acknowledged within 10 s');
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  await bus.close();
  rmSync(stateDir, { recursive: true, force: true });
}
