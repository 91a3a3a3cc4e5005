/**
 * Messages between the outbox's WorkerPublisher (js-publisher.ts) and the
 * worker thread that owns the publishing connection (publish-worker.ts).
 */
import type { NatsSecurity } from './nats-connect.js';

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
  security?: NatsSecurity;
  /** The daemon's event signing key (an nkey seed file): the worker signs every event it sends. */
  signingKeyFile?: string;
}
/** The worker's connection changed: up, or a failed attempt (once per distinct failure). */
export interface PublishWorkerNotice {
  notice: 'connected' | 'failed';
  kind?: 'auth' | 'tls' | 'unreachable' | 'settings';
  message?: string;
}
