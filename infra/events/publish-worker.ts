/**
 * Worker thread that owns the outbox's publishing connection (see WorkerPublisher).
 * Protocol: { id, messages, timeoutMs } in, { id, acked, error? } out; 'close' ends it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { PipelinedPublisher } from './js-publisher.js';
import type { PublishReply, PublishRequest, PublishWorkerData } from './publish-protocol.js';

const data = workerData as PublishWorkerData;
let nc: NatsConnection | null = null;
let publisher: PipelinedPublisher | null = null;
let closing = false;

async function connectLoop(): Promise<void> {
  while (!closing && !nc) {
    try {
      nc = await connect({ servers: data.servers, name: data.name, reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 250, timeout: 2000 });
      publisher = new PipelinedPublisher(nc);
    } catch {
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

const connecting = connectLoop();

parentPort!.on('message', (m: PublishRequest | 'close') => {
  if (m === 'close') {
    closing = true;
    void connecting.then(() => nc?.close()).finally(() => process.exit(0));
    return;
  }
  const reply = (r: PublishReply) => parentPort!.postMessage(r);
  if (!publisher || nc?.isClosed()) {
    reply({ id: m.id, acked: 0, error: 'publishing connection not ready' });
    return;
  }
  void publisher.publishAll(m.messages, m.timeoutMs).then((r) => {
    reply(r.error ? { id: m.id, acked: r.acked, error: r.error instanceof Error ? r.error.message : String(r.error) } : { id: m.id, acked: r.acked });
  });
});
