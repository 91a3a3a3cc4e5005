/**
 * Worker thread that owns the outbox's publishing connection (see WorkerPublisher).
 * Protocol: { id, messages, timeoutMs } in, { id, acked, error? } out; 'close' ends it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { PipelinedPublisher } from './js-publisher.js';
import { classifyConnectError, natsConnectionOptions, readSeed } from './nats-connect.js';
import { eventSigner, type EventSigner } from './event-signature.js';
import type { PublishReply, PublishRequest, PublishWorkerData, PublishWorkerNotice } from './publish-protocol.js';

const data = workerData as PublishWorkerData;
let nc: NatsConnection | null = null;
let publisher: PipelinedPublisher | null = null;
let closing = false;

const notify = (n: PublishWorkerNotice) => parentPort!.postMessage(n);

/** The signer, or a message: the daemon checked the file at start, so this only fails if it changed since. */
function signer(): EventSigner | undefined | string {
  if (!data.signingKeyFile) return undefined;
  const s = readSeed(data.signingKeyFile, 'event signing key');
  return 'problem' in s ? s.problem : eventSigner(s.kp);
}

async function connectLoop(): Promise<void> {
  let last = '';
  while (!closing && !nc) {
    // Settings are read again on each attempt: a fixed file (or a rotated one) is picked up without a restart.
    const o = natsConnectionOptions({ servers: data.servers, name: data.name, ...data.security });
    const sign = signer();
    let failure: PublishWorkerNotice | undefined;
    if (!o.ok || typeof sign === 'string') failure = { notice: 'failed', kind: 'settings', message: o.ok ? (sign as string) : o.message };
    else {
      try {
        nc = await connect(o.options);
        publisher = new PipelinedPublisher(nc, sign);
        notify({ notice: 'connected' });
        return;
      } catch (err) {
        const c = classifyConnectError(err, data.security ?? {});
        failure = { notice: 'failed', kind: c.kind, message: c.message };
      }
    }
    if (failure.message !== last) notify(failure);
    last = failure.message ?? '';
    await new Promise((r) => setTimeout(r, 500));
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
