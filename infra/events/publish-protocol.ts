/**
 * Messages between the outbox's WorkerPublisher (js-publisher.ts) and the
 * worker thread that owns the publishing connection (publish-worker.ts).
 */
export interface OutgoingMessage {
  subject: string;
  data: string;
  /** JetStream deduplication id (Nats-Msg-Id header). */
  msgId: string;
}

export interface PublishRequest {
  id: number;
  messages: OutgoingMessage[];
  timeoutMs: number;
}
export interface PublishReply {
  id: number;
  acked: number;
  error?: string;
}
export interface PublishWorkerData {
  servers: string | string[];
  name: string;
}
