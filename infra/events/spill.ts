/**
 * The outbox's overflow on disk: an append-only JSON-lines file plus a read offset.
 *
 * Lines are appended from a memory buffer by one asynchronous write at a time
 * (coalescing whatever arrived meanwhile), so append() itself costs a
 * JSON.stringify and an array push. Fsync policy 'batch' (default): each coalesced
 * write is followed by fdatasync, on libuv's thread pool, never on the caller's
 * thread; a crash loses at most the write in flight. 'never' leaves it to the kernel.
 *
 * The read offset (bytes already acknowledged) lives in the outbox state file;
 * when everything is consumed the file is truncated to zero.
 */
import { appendFileSync, closeSync, fdatasync, fstatSync, ftruncate, openSync, read, readFileSync, write } from 'node:fs';
import { promisify } from 'node:util';
import type { Logger } from '../../core/logger.js';
import { parseEvent, type VipflowEvent } from './schema.js';

/** Writes all of data (write(2) may write less on a nearly full disk). */
const writeP = (fd: number, data: Buffer): Promise<void> =>
  new Promise((resolve, reject) =>
    write(fd, data, (err, n) => (err ? reject(err) : n < data.length ? writeP(fd, data.subarray(n)).then(resolve, reject) : resolve())),
  );
const datasyncP = promisify(fdatasync);
const truncateP = promisify(ftruncate);
const readP = (fd: number, buf: Buffer, len: number, pos: number): Promise<number> =>
  new Promise((resolve, reject) => read(fd, buf, 0, len, pos, (err, n) => (err ? reject(err) : resolve(n))));

export type FsyncPolicy = 'batch' | 'never';

/** One line read back: the event (null when the line was torn or corrupt) and the byte offset after it. */
export interface SpillLine {
  event: VipflowEvent | null;
  end: number;
}

const READ_CHUNK = 1 << 20;

export class SpillFile {
  /** Lines appended and not yet consumed (buffered ones included). */
  pending = 0;
  private buffer: string[] = [];
  private flushQueued = false;
  private writeOffset: number;
  private readOffset: number;
  private chain: Promise<void> = Promise.resolve();
  private readonly appendFd: number;
  private readonly readFd: number;

  /**
   * Opens (creating if needed) the file, synchronously: called once at startup.
   * @param offset the persisted read offset; beyond the end of the file means the file was replaced, so 0.
   */
  constructor(
    readonly path: string,
    offset: number,
    private readonly fsync: FsyncPolicy,
    private readonly log: Logger,
    /** Persists the read offset; awaited before the file is truncated. */
    private readonly onConsumed: () => Promise<void>,
  ) {
    this.appendFd = openSync(path, 'a');
    this.readFd = openSync(path, 'r');
    let size = fstatSync(this.appendFd).size;
    this.readOffset = offset <= size ? offset : 0;
    if (size > 0) {
      const tail = readFileSync(path).subarray(this.readOffset);
      for (const b of tail) if (b === 0x0a) this.pending++;
      // A torn last line (crash mid-write) is closed so that it reads as one corrupt line.
      if (tail.length > 0 && tail[tail.length - 1] !== 0x0a) {
        appendFileSync(path, '\n');
        size += 1;
        this.pending++;
      }
    }
    this.writeOffset = size;
  }

  get offset(): number {
    return this.readOffset;
  }

  append(line: string): void {
    this.buffer.push(line);
    this.pending++;
    if (!this.flushQueued) {
      this.flushQueued = true;
      this.enqueue(() => this.flush());
    }
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const p = this.chain.then(task);
    this.chain = p.catch(() => undefined);
    return p;
  }

  private async flush(): Promise<void> {
    this.flushQueued = false;
    if (this.buffer.length === 0) return;
    const lines = this.buffer;
    this.buffer = [];
    const data = Buffer.from(lines.join('\n') + '\n');
    for (let attempt = 0; ; attempt++) {
      try {
        await writeP(this.appendFd, data);
        if (this.fsync === 'batch') await datasyncP(this.appendFd);
        this.writeOffset += data.length;
        return;
      } catch (err) {
        // Disk full or I/O error: keep the lines and retry; losing them would break the outbox's promise.
        if (attempt === 0) this.log.error({ err, file: this.path, lines: lines.length }, 'outbox spill write failed; retrying');
        await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** attempt)));
      }
    }
  }

  /** Up to `max` lines from the read offset, after everything appended so far is on disk. */
  read(max: number): Promise<SpillLine[]> {
    let out: SpillLine[] = [];
    return this.enqueue(async () => {
      await this.flush();
      out = await this.readLines(max);
    }).then(() => out);
  }

  private async readLines(max: number): Promise<SpillLine[]> {
    const out: SpillLine[] = [];
    let pos = this.readOffset;
    let chunk = READ_CHUNK;
    while (out.length < max && pos < this.writeOffset) {
      const len = Math.min(chunk, this.writeOffset - pos);
      const buf = Buffer.allocUnsafe(len);
      const n = await readP(this.readFd, buf, len, pos);
      if (n === 0) break;
      let start = 0;
      let found = false;
      for (let i = 0; i < n && out.length < max; i++) {
        if (buf[i] !== 0x0a) continue;
        const r = parseEvent(buf.subarray(start, i).toString('utf8'));
        out.push({ event: r.ok ? r.event : null, end: pos + i + 1 });
        start = i + 1;
        found = true;
      }
      // A line longer than the chunk: read more at once. A line without its newline
      // cannot be here (writes end with one; the constructor closes a torn tail).
      if (!found) {
        if (len === this.writeOffset - pos) break;
        chunk *= 2;
      }
      pos += start;
    }
    return out;
  }

  /** Marks lines up to `end` (byte offset after the last one) as delivered. */
  consume(end: number, lines: number): void {
    this.readOffset = end;
    this.pending -= lines;
    void this.onConsumed();
    if (this.pending === 0) {
      void this.enqueue(async () => {
        if (this.pending !== 0 || this.buffer.length > 0) return;
        // Offset 0 reaches the state file before the truncation: a crash in between
        // resends delivered lines (JetStream drops them as duplicates) rather than
        // skipping lines appended after the truncation.
        this.readOffset = 0;
        await this.onConsumed();
        await truncateP(this.appendFd, 0);
        this.writeOffset = 0;
      });
    }
  }

  /** Waits for every buffered line to reach the file. */
  async settle(): Promise<void> {
    await this.enqueue(() => this.flush());
  }

  /** The unconsumed part of the file (after settle()). */
  remaining(): Buffer {
    return readFileSync(this.path).subarray(this.readOffset);
  }

  close(): void {
    closeSync(this.appendFd);
    closeSync(this.readFd);
  }
}
