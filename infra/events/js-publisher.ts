/**
 * Pipelined JetStream publishing for the outbox.
 *
 * A JetStream publish is a core NATS publish with a reply subject; the stream's
 * leader answers with a PubAck ({stream, seq, duplicate}) or an error, and the
 * server answers 503 (no responders) when no stream captures the subject.
 * nats.js's js.publish() makes a request per message (own inbox routing entry, own
 * timeout timer, own promise chain): ~50 us of CPU per event measured here, which
 * capped one outbox at ~15,000 events/s. This sends a window of messages on one
 * shared reply subscription with one timer per window, and reads the acks itself.
 * Messages leave on one connection in order, so the stream stores them in order.
 */
import { createInbox, headers, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { Worker } from 'node:worker_threads';
import type { SendResult } from './outbox.js';
import type { OutgoingMessage, PublishReply, PublishRequest, PublishWorkerData, PublishWorkerNotice } from './publish-protocol.js';
import { SIGNATURE_HEADER, SIGNER_HEADER, type EventSigner } from './event-signature.js';

export type { OutgoingMessage };

type AckOutcome = { ok: true; duplicate: boolean } | { ok: false; error: Error };

/** Reads a PubAck reply; never throws. */
export function readPubAck(msg: Msg): AckOutcome {
  if (msg.headers?.code === 503) return { ok: false, error: new Error('no responders: no stream captures the subject') };
  if (msg.headers?.hasError) return { ok: false, error: new Error(`publish failed: ${msg.headers.code} ${msg.headers.description}`) };
  try {
    const a = JSON.parse(new TextDecoder().decode(msg.data)) as {
      stream?: string;
      seq?: number;
      duplicate?: boolean;
      error?: { code?: number; description?: string };
    };
    if (a.error) return { ok: false, error: new Error(`JetStream error ${a.error.code ?? ''}: ${a.error.description ?? ''}`) };
    if (typeof a.stream === 'string' && typeof a.seq === 'number') return { ok: true, duplicate: a.duplicate === true };
    return { ok: false, error: new Error('unexpected publish acknowledgement') };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
  }
}

const encoder = new TextEncoder();

export class PipelinedPublisher {
  private readonly prefix = createInbox();
  private nextToken = 0;
  private readonly waiting = new Map<string, (r: AckOutcome) => void>();
  /** The subject of each waiting publish, to match the server's permission refusals to it. */
  private readonly subjects = new Map<string, string>();
  private readonly sub: Subscription;

  /** @param signer signs each payload (event-signature.ts); without it events go unsigned. */
  constructor(
    private readonly nc: NatsConnection,
    private readonly signer?: EventSigner,
  ) {
    this.sub = nc.subscribe(`${this.prefix}.*`, {
      callback: (err, msg) => {
        if (err) return;
        const token = msg.subject.slice(this.prefix.length + 1);
        const done = this.waiting.get(token);
        if (!done) return; // an ack arriving after its window timed out
        this.waiting.delete(token);
        this.subjects.delete(token);
        done(readPubAck(msg));
      },
    });
    void this.watchRefusals();
  }

  /**
   * A publish the user's permissions deny gets no reply: the server answers with an
   * asynchronous -ERR on the connection. Settle the waiting publishes on that subject
   * with it, so the caller learns the reason now instead of a timeout later.
   */
  private async watchRefusals(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type !== 'error' || !s.error) continue;
      const subject = /Permissions Violation for Publish to "([^"]+)"/.exec(s.error.message)?.[1];
      if (subject === undefined) continue;
      for (const [token, subj] of this.subjects) {
        if (subj !== subject) continue;
        const settle = this.waiting.get(token);
        this.waiting.delete(token);
        this.subjects.delete(token);
        settle?.({ ok: false, error: s.error });
      }
    }
  }

  /**
   * Publishes all messages in order and waits for their acknowledgements.
   * @returns how many from the head were stored (a duplicate counts: it is stored already)
   *          and, if fewer than all, the first error. Never rejects.
   */
  async publishAll(messages: readonly OutgoingMessage[], timeoutMs: number): Promise<SendResult> {
    // One promise and one timer per window; each ack fills its slot.
    const outcomes: AckOutcome[] = [];
    const tokens: string[] = [];
    let remaining = 0;
    let allIn!: () => void;
    const done = new Promise<void>((r) => (allIn = r));
    let sendError: Error | undefined;
    for (const m of messages) {
      const token = String(this.nextToken++);
      const slot = tokens.length;
      this.waiting.set(token, (o) => {
        outcomes[slot] = o;
        if (--remaining === 0) allIn();
      });
      try {
        const h = headers();
        h.set('Nats-Msg-Id', m.msgId);
        // Signed and sent as the same bytes: the signature covers exactly what is stored.
        const data = this.signer ? encoder.encode(m.data) : m.data;
        if (this.signer) {
          const s = this.signer.sign(data as Uint8Array);
          h.set(SIGNER_HEADER, s.signer);
          h.set(SIGNATURE_HEADER, s.signature);
        }
        this.subjects.set(token, m.subject);
        this.nc.publish(m.subject, data, { headers: h, reply: `${this.prefix}.${token}` });
      } catch (error) {
        this.waiting.delete(token);
        this.subjects.delete(token);
        sendError = error instanceof Error ? error : new Error(String(error));
        break;
      }
      tokens.push(token);
      remaining++;
    }
    if (remaining === 0) allIn();
    const timer = setTimeout(() => {
      for (const token of tokens) {
        const settle = this.waiting.get(token);
        if (!settle) continue;
        this.waiting.delete(token);
        this.subjects.delete(token);
        settle({ ok: false, error: new Error(`no acknowledgement within ${timeoutMs} ms`) });
      }
    }, timeoutMs);
    await done;
    clearTimeout(timer);
    let acked = 0;
    for (const o of outcomes) {
      if (!o.ok) return { acked, error: o.error };
      acked++;
    }
    return sendError ? { acked, error: sendError } : { acked };
  }

  async close(): Promise<void> {
    this.sub.unsubscribe();
  }
}

/**
 * The same contract as PipelinedPublisher, with the NATS connection, protocol
 * encoding and ack handling on a worker thread: the calling thread (the VRRP
 * core's) only serialises events and posts strings. Measured here: ~20 us of
 * main-thread CPU per event in-thread, most of it nats.js.
 */
export class WorkerPublisher {
  private readonly worker: Worker;
  private nextId = 0;
  private readonly waiting = new Map<number, (r: SendResult) => void>();
  private readonly exited: Promise<void>;
  /** The worker's connection problems (refused credentials, unreadable files), for the bus to log and show. */
  onNotice?: (n: PublishWorkerNotice) => void;

  /** @param connection where and how the worker connects (plain data: it builds its own authenticator and signer). */
  constructor(connection: PublishWorkerData) {
    const workerData: PublishWorkerData = connection;
    if (import.meta.url.endsWith('.ts')) {
      // Running from sources under tsx: a worker does not inherit tsx's loader, so register it first.
      const entry = new URL('./publish-worker.ts', import.meta.url).href;
      const tsx = import.meta.resolve('tsx/esm/api');
      const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
      this.worker = new Worker(boot, { eval: true, workerData });
    } else this.worker = new Worker(new URL('./publish-worker.js', import.meta.url), { workerData });
    this.worker.on('message', (r: PublishReply | PublishWorkerNotice) => {
      if ('notice' in r) {
        this.onNotice?.(r);
        return;
      }
      const done = this.waiting.get(r.id);
      if (!done) return;
      this.waiting.delete(r.id);
      done(r.error === undefined ? { acked: r.acked } : { acked: r.acked, error: new Error(r.error) });
    });
    this.worker.on('error', (err) => this.failAll(err));
    this.exited = new Promise((r) => this.worker.once('exit', () => r()));
    this.worker.on('exit', () => this.failAll(new Error('publish worker exited')));
  }

  private failAll(error: Error): void {
    for (const done of this.waiting.values()) done({ acked: 0, error });
    this.waiting.clear();
  }

  publishAll(messages: readonly OutgoingMessage[], timeoutMs: number): Promise<SendResult> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      const req: PublishRequest = { id, messages: [...messages], timeoutMs };
      this.worker.postMessage(req);
    });
  }

  /** Closes the worker's connection and ends it (terminated after 3 s if it hangs). Idempotent. */
  async close(): Promise<void> {
    this.worker.postMessage('close');
    const t = setTimeout(() => void this.worker.terminate(), 3000);
    await this.exited;
    clearTimeout(t);
  }
}
