/**
 * The outbox between event producers (the VRRP core) and a remote bus.
 *
 * Promise to the producer: enqueue() appends to memory (or, past the memory bound,
 * to the spill buffer) and returns; it never awaits the network, never throws.
 * Promise to consumers: every event is delivered, in enqueue order, once.
 *
 * Order is kept by one invariant: memory holds the oldest events, the spill file
 * the newer ones. Once anything is spilled, new events go to the spill file too
 * until the drain has emptied it, so the drain sends memory, then file, in order.
 *
 * A single drain loop sends a window of events at a time (pipelined on one
 * connection, so the server stores them in send order) and removes what the bus
 * acknowledged. After a failure it resends from the first unacknowledged event;
 * events the server had stored but not acknowledged come back as duplicates of
 * their id and are dropped by JetStream's duplicate window. Assumption: a resend
 * happens within that window (2 minutes by default) of the lost acknowledgement;
 * beyond it a consumer may see an id twice, and ids are stable so it can dedupe.
 *
 * Restarts: close() writes what is still in memory in front of the spill file,
 * and the next Outbox on the same state dir sends that before anything new. A
 * crash (no close) loses the in-memory part only; the spilled part survives.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../core/logger.js';
import type { VipflowEvent } from './schema.js';
import type { SeqSource } from './source.js';
import { SpillFile, type FsyncPolicy, type SpillLine } from './spill.js';

export interface SendResult {
  /** How many events from the head of the batch the bus acknowledged. */
  acked: number;
  error?: unknown;
}

export interface OutboxTransport {
  /** False while disconnected: the drain waits for transportChanged() instead of trying. */
  readonly ready: boolean;
  /** Sends in order; never rejects (failures are reported in the result). */
  send(events: readonly VipflowEvent[]): Promise<SendResult>;
}

export interface OutboxOptions {
  stateDir: string;
  log: Logger;
  transport: OutboxTransport;
  /** Events held in memory before spilling to disk. Default 10,000. */
  memoryLimit?: number;
  /** Events in flight per send. Default 256. */
  window?: number;
  fsync?: FsyncPolicy;
  retryMinMs?: number;
  retryMaxMs?: number;
  /** How often an outage is re-logged with the queue size. Default 10 s. */
  reportEveryMs?: number;
}

export interface OutboxStats {
  inMemory: number;
  spilled: number;
  delivered: number;
  /** Lines of the spill file that could not be read back (torn by a crash). */
  corrupt: number;
  failures: number;
}

interface OutboxState {
  version: 1;
  /** Sequence numbers below this may have been used: the next process starts here. */
  seqReserved: number;
  spillOffset: number;
}

/** Sequence numbers are reserved in blocks so that persisting them is rare and off the hot path. */
const SEQ_BLOCK = 100_000;

function writeFileDurable(path: string, data: string | Buffer): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, data);
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export class Outbox {
  readonly seq: SeqSource;
  private mem: VipflowEvent[] = [];
  private head = 0;
  private readonly spill: SpillFile;
  private readonly statePath: string;
  private readonly memoryLimit: number;
  private readonly window: number;
  private readonly log: Logger;
  private nextSeq: number;
  private seqReserved: number;
  /** State writes run one after another; a request made before a queued write starts joins it. */
  private stateChain: Promise<void> = Promise.resolve();
  private stateQueued: Promise<void> | null = null;
  private stopping = false;
  private closed = false;
  private wakeUp: (() => void) | null = null;
  /** False during a retry back-off: new events must not turn a back-off into a retry storm. */
  private wakeOnWork = true;
  private loop: Promise<void>;
  private downSince: number | null = null;
  private lastReport = 0;
  private readonly statsCounters = { delivered: 0, corrupt: 0, failures: 0 };

  /** Opens the state dir synchronously (startup): reloads undelivered events and the sequence. */
  constructor(private readonly o: OutboxOptions) {
    this.log = o.log.child({ component: 'outbox' });
    this.memoryLimit = o.memoryLimit ?? 10_000;
    this.window = o.window ?? 256;
    mkdirSync(o.stateDir, { recursive: true });
    this.statePath = join(o.stateDir, 'outbox-state.json');
    const state = this.readState();
    this.nextSeq = state.seqReserved;
    this.seqReserved = this.nextSeq + SEQ_BLOCK;
    this.spill = new SpillFile(join(o.stateDir, 'outbox.spill.jsonl'), state.spillOffset, o.fsync ?? 'batch', this.log, () => this.saveState());
    writeFileDurable(this.statePath, JSON.stringify(this.state()));
    if (this.spill.pending > 0)
      this.log.info({ events: this.spill.pending, file: this.spill.path }, 'outbox: undelivered events from a previous run will be sent first');
    this.seq = { next: () => this.takeSeq() };
    this.loop = this.drainLoop();
  }

  private readState(): OutboxState {
    try {
      const s = JSON.parse(readFileSync(this.statePath, 'utf8')) as Partial<OutboxState>;
      return {
        version: 1,
        seqReserved: Number.isSafeInteger(s.seqReserved) && s.seqReserved! > 0 ? s.seqReserved! : 1,
        spillOffset: Number.isSafeInteger(s.spillOffset) && s.spillOffset! >= 0 ? s.spillOffset! : 0,
      };
    } catch {
      return { version: 1, seqReserved: 1, spillOffset: 0 };
    }
  }

  private state(): OutboxState {
    return { version: 1, seqReserved: this.seqReserved, spillOffset: this.spill.offset };
  }

  private takeSeq(): number {
    const n = this.nextSeq++;
    if (this.seqReserved - this.nextSeq < SEQ_BLOCK / 2) {
      this.seqReserved += SEQ_BLOCK;
      void this.saveState();
    }
    return n;
  }

  /**
   * Persists the state (tmp file + rename) off the caller's path. The state is read
   * when the write starts, so a resolved promise means the state as of the request is on disk.
   */
  private saveState(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.stateQueued) return this.stateQueued;
    const tmp = `${this.statePath}.tmp`;
    const p = this.stateChain.then(async () => {
      this.stateQueued = null;
      try {
        await writeFile(tmp, JSON.stringify(this.state()));
        await rename(tmp, this.statePath);
      } catch (err) {
        this.log.error({ err }, 'outbox: cannot save state');
      }
    });
    this.stateQueued = p;
    this.stateChain = p;
    return p;
  }

  get queued(): number {
    return this.mem.length - this.head + this.spill.pending;
  }

  stats(): OutboxStats {
    return { inMemory: this.mem.length - this.head, spilled: this.spill.pending, ...this.statsCounters };
  }

  /** Queues an event for delivery. Returns at once; never throws. */
  enqueue(event: VipflowEvent): void {
    try {
      if (this.closed) {
        // After close() only the spill file remains: append synchronously (shutdown path).
        writeFileSync(this.spill.path, JSON.stringify(event) + '\n', { flag: 'a' });
        return;
      }
      if (this.spill.pending > 0) this.spill.append(JSON.stringify(event));
      else if (this.mem.length - this.head >= this.memoryLimit) {
        this.log.warn({ memoryLimit: this.memoryLimit, file: this.spill.path }, 'outbox: memory bound reached; spilling events to disk');
        this.spill.append(JSON.stringify(event));
      } else this.mem.push(event);
      if (this.wakeOnWork) this.wake();
    } catch (err) {
      this.log.error({ err, eventId: event.id }, 'outbox: enqueue failed');
    }
  }

  /** Tells the drain that the transport's readiness changed (connected or reconnected). */
  transportChanged(): void {
    this.wake();
  }

  private wake(): void {
    const w = this.wakeUp;
    if (w) {
      this.wakeUp = null;
      w();
    }
  }

  private sleep(ms: number | null, wakeOnWork = true): Promise<void> {
    this.wakeOnWork = wakeOnWork;
    return new Promise((resolve) => {
      const timer = ms === null ? undefined : setTimeout(() => this.wake(), ms);
      this.wakeUp = () => {
        if (timer) clearTimeout(timer);
        this.wakeOnWork = true;
        resolve();
      };
    });
  }

  private async drainLoop(): Promise<void> {
    let backoff = this.o.retryMinMs ?? 100;
    while (!this.stopping) {
      if (this.queued === 0 || !this.o.transport.ready) {
        if (this.queued > 0) this.reportOutage();
        await this.sleep(this.queued > 0 ? 1000 : null, this.queued === 0);
        continue;
      }
      const fromMemory = this.mem.length > this.head;
      let lines: SpillLine[] = [];
      let batch: VipflowEvent[];
      if (fromMemory) batch = this.mem.slice(this.head, this.head + this.window);
      else {
        lines = await this.spill.read(this.window);
        batch = lines.flatMap((l) => (l.event ? [l.event] : []));
      }
      const r = batch.length > 0 ? await this.o.transport.send(batch) : { acked: 0 };
      this.statsCounters.delivered += r.acked;
      if (fromMemory) this.dropFromMemory(r.acked);
      else this.consumeSpill(lines, r.acked);
      if (r.acked === batch.length) {
        backoff = this.o.retryMinMs ?? 100;
        if (this.downSince !== null && this.queued === 0) {
          this.log.info({ downMs: Date.now() - this.downSince, delivered: this.statsCounters.delivered }, 'outbox: bus reachable again; backlog delivered');
          this.downSince = null;
        }
        continue;
      }
      this.statsCounters.failures++;
      this.reportOutage(r.error);
      await this.sleep(backoff, false);
      backoff = Math.min(backoff * 2, this.o.retryMaxMs ?? 5000);
    }
  }

  private reportOutage(error?: unknown): void {
    const now = Date.now();
    if (this.downSince === null) {
      this.downSince = now;
      this.lastReport = now;
      this.log.warn({ err: error, ...this.stats() }, 'outbox: bus unavailable; events are queued');
    } else if (now - this.lastReport >= (this.o.reportEveryMs ?? 10_000)) {
      this.lastReport = now;
      this.log.warn({ downMs: now - this.downSince, ...this.stats() }, 'outbox: bus still unavailable; events queued');
    }
  }

  private dropFromMemory(n: number): void {
    this.head += n;
    if (this.head === this.mem.length) {
      this.mem = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.mem.length) {
      this.mem = this.mem.slice(this.head);
      this.head = 0;
    }
  }

  /** Consumes the lines holding the first `acked` valid events, plus corrupt lines between them. */
  private consumeSpill(lines: SpillLine[], acked: number): void {
    let valid = 0;
    let taken = 0;
    for (const l of lines) {
      if (l.event) {
        if (valid === acked) break;
        valid++;
      } else {
        this.statsCounters.corrupt++;
        this.log.warn({ file: this.spill.path, end: l.end }, 'outbox: skipping a corrupt spill line');
      }
      taken++;
    }
    if (taken > 0) this.spill.consume(lines[taken - 1]!.end, taken);
  }

  /**
   * Stops draining (waiting for the send in flight), then writes every undelivered
   * event, memory first, to the spill file for the next start. Events enqueued
   * afterwards are appended to that file synchronously.
   */
  async close(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.wake();
    await this.loop;
    await this.spill.settle();
    await this.stateChain;
    const memLines = this.mem
      .slice(this.head)
      .map((e) => JSON.stringify(e) + '\n')
      .join('');
    const rest = this.spill.remaining();
    this.spill.close();
    this.closed = true;
    writeFileDurable(this.spill.path, Buffer.concat([Buffer.from(memLines), rest]));
    // A clean stop records the exact next sequence: no gap after a restart.
    writeFileDurable(this.statePath, JSON.stringify({ version: 1, seqReserved: this.nextSeq, spillOffset: 0 }));
    const left = this.queued;
    if (left > 0) this.log.info({ events: left, file: this.spill.path }, 'outbox: undelivered events saved for the next start');
  }
}
