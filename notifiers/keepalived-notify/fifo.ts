/**
 * keepalived's notify_fifo / vrrp_notify_fifo: one line per event written
 * to a named pipe that some reader may (or may not) be draining.
 *
 * Opened O_RDWR | O_NONBLOCK like keepalived: holding our own read end
 * means open() never waits for a reader and a write never raises EPIPE when
 * there is none; O_NONBLOCK means a full pipe (reader gone or slow) returns
 * EAGAIN at once and the line is dropped and counted, so the event loop is
 * never blocked by the FIFO.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, closeSync, constants, fstatSync, openSync, unlinkSync, writeSync } from 'node:fs';
import type { Logger } from '../../core/logger.js';

export class NotifyFifo {
  /** Lines dropped because the pipe was full (no reader draining it). */
  dropped = 0;
  written = 0;

  private constructor(
    readonly path: string,
    private fd: number | null,
    private readonly created: boolean,
    private readonly log: Logger,
  ) {}

  /**
   * Creates the FIFO (mode 0644, owned by `owner` when given) unless it
   * exists, and opens it. Refuses, as null with a log line, a path that is
   * not a FIFO or is owned by someone else than us or `owner`: an existing
   * file there may have been planted.
   */
  static open(path: string, log: Logger, owner?: { uid: number; gid: number }): NotifyFifo | null {
    const flog = log.child({ fifo: path });
    let created = false;
    const made = spawnSync('mkfifo', ['-m', '0644', path], { encoding: 'utf8', timeout: 5000 });
    if (made.status === 0) {
      created = true;
      if (owner) {
        try {
          chownSync(path, owner.uid, owner.gid);
        } catch (err) {
          flog.warn({ err }, 'cannot set the notify fifo owner');
        }
      }
    }
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    } catch (err) {
      flog.error({ err, mkfifo: made.stderr?.trim() }, 'cannot open the notify fifo: not used');
      if (created) unlinkQuiet(path);
      return null;
    }
    const st = fstatSync(fd);
    const ours = process.getuid?.() ?? 0;
    if (!st.isFIFO() || (st.uid !== ours && st.uid !== owner?.uid)) {
      flog.error({ isFifo: st.isFIFO(), owner: st.uid }, 'notify fifo path is not a fifo we own: not used');
      closeSync(fd);
      return null;
    }
    flog.info({ created }, 'notify fifo open');
    return new NotifyFifo(path, fd, created, flog);
  }

  /** Writes one whole line; never blocks; a full pipe drops the line. */
  write(line: string): void {
    if (this.fd === null) return;
    try {
      // Lines are far below PIPE_BUF (4096), so each write is atomic: whole or EAGAIN.
      writeSync(this.fd, line);
      this.written++;
    } catch (err) {
      this.dropped++;
      if (this.dropped === 1 || this.dropped % 1000 === 0)
        this.log.warn({ code: (err as NodeJS.ErrnoException).code, dropped: this.dropped }, 'notify fifo full or unwritable: line dropped');
    }
  }

  /** Closes our ends; removes the FIFO if we created it (so a reader looping on reopen cannot reopen it). */
  close(): void {
    if (this.fd === null) return;
    if (this.created) unlinkQuiet(this.path);
    closeSync(this.fd);
    this.fd = null;
  }
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
