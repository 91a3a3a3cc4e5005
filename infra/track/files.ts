/**
 * Watches keepalived track_files: reads each file's value at start and again
 * whenever its directory reports the file written, created, replaced, renamed
 * or removed (fs.watch on the directory, which is inotify, as keepalived uses).
 * A removed or unreadable file is 0; a number keepalived would refuse (beyond
 * ±2^31) is logged and the previous value kept.
 *
 * Difference from keepalived: keepalived reacts to IN_CLOSE_WRITE (a writer
 * closing the file), which libuv does not report; vipflow re-reads on
 * IN_MODIFY instead, after a short quiet time (`settleMs`) so that `echo 5 > f`
 * (truncate, then write) is read once, as 5, not first as an empty file (0).
 *
 * init_file creates a missing file with its value at start (and at a reload);
 * with `overwrite` it also replaces an existing regular file, at start only.
 */
import { closeSync, openSync, readSync, realpathSync, statSync, watch, writeFileSync, constants, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from '../../core/logger.js';
import type { TrackFile } from '../../config/model.js';
import { parseFileValue, TRACK_FILE_READ_BYTES } from '../../actors/track-file/index.js';

export interface TrackFileStatus {
  name: string;
  file: string;
  value: number;
  /** Reads that changed nothing or something; a refused number counts in `ignored`. */
  reads: number;
  ignored: number;
  watching: boolean;
}

export interface TrackFilesOptions {
  log: Logger;
  onValue: (name: string, value: number, previous: number) => void;
  /** Quiet time after the last change event before the file is read. Default 20 ms. */
  settleMs?: number;
}

interface Entry {
  def: TrackFile;
  path: string;
  value: number;
  reads: number;
  ignored: number;
  watching: boolean;
  timer: NodeJS.Timeout | undefined;
}

export class TrackFiles {
  private readonly entries = new Map<string, Entry>();
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly log: Logger;
  private stopped = false;

  constructor(private readonly o: TrackFilesOptions) {
    this.log = o.log.child({ component: 'track-file' });
  }

  /** Starts watching `defs` (names already watched are left alone); values are read before it returns. */
  start(defs: readonly TrackFile[], opts: { reload: boolean }): void {
    for (const def of defs) {
      if (this.entries.has(def.name)) continue;
      if (def.initFile) this.initFile(def, opts.reload);
      const path = realPath(def.file);
      const entry: Entry = { def, path, value: 0, reads: 0, ignored: 0, watching: false, timer: undefined };
      this.entries.set(def.name, entry);
      this.read(entry, false);
      entry.watching = this.watchDir(dirname(path));
      if (!entry.watching) this.log.error({ trackFile: def.name, file: def.file }, 'track file directory cannot be watched: value stays as read at start');
    }
  }

  /** Stops following these names (a reload changed them); start() reads them again. */
  forget(names: readonly string[]): void {
    for (const name of names) {
      clearTimeout(this.entries.get(name)?.timer);
      this.entries.delete(name);
    }
  }

  value(name: string): number | undefined {
    return this.entries.get(name)?.value;
  }

  status(): TrackFileStatus[] {
    return [...this.entries.values()].map((e) => ({
      name: e.def.name,
      file: e.path,
      value: e.value,
      reads: e.reads,
      ignored: e.ignored,
      watching: e.watching,
    }));
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    for (const e of this.entries.values()) clearTimeout(e.timer);
  }

  private initFile(def: TrackFile, reload: boolean): void {
    const init = def.initFile!;
    let exists = false;
    try {
      const st = statSync(def.file);
      exists = true;
      if (!init.overwrite || reload) return;
      if (!st.isFile()) {
        this.log.error({ trackFile: def.name, file: def.file }, 'cannot initialise track file: not a regular file');
        return;
      }
    } catch {
      // missing: created below
    }
    try {
      writeFileSync(def.file, `${init.value}\n`);
      this.log.info({ trackFile: def.name, file: def.file, value: init.value, replaced: exists }, 'track file initialised');
    } catch (err) {
      this.log.error({ trackFile: def.name, file: def.file, err: (err as Error).message }, 'unable to initialise track file');
    }
  }

  private watchDir(dir: string): boolean {
    if (this.watchers.has(dir)) return true;
    try {
      const w = watch(dir, { persistent: false }, (_event, filename) => {
        if (filename === null) return this.changedAll(dir);
        for (const e of this.entries.values()) if (e.path === resolve(dir, filename.toString())) this.changed(e);
      });
      w.on('error', (err) => this.log.error({ dir, err: err.message }, 'track file directory watch failed'));
      this.watchers.set(dir, w);
      return true;
    } catch {
      return false;
    }
  }

  private changedAll(dir: string): void {
    for (const e of this.entries.values()) if (dirname(e.path) === dir) this.changed(e);
  }

  private changed(e: Entry): void {
    if (this.stopped) return;
    clearTimeout(e.timer);
    e.timer = setTimeout(() => {
      e.timer = undefined;
      if (!this.stopped) this.read(e, true);
    }, this.o.settleMs ?? 20);
  }

  private read(e: Entry, notify: boolean): void {
    e.reads++;
    const parsed = parseFileValue(readHead(e.path));
    if (!parsed.ok) {
      e.ignored++;
      this.log.warn({ trackFile: e.def.name, file: e.path, reason: parsed.reason }, 'track file value ignored');
      return;
    }
    if (parsed.value === e.value) return;
    const previous = e.value;
    e.value = parsed.value;
    this.log.info({ trackFile: e.def.name, value: e.value, previous }, 'track file value changed');
    if (!notify) return;
    try {
      this.o.onValue(e.def.name, e.value, previous);
    } catch (err) {
      this.log.error({ err, trackFile: e.def.name }, 'track file listener failed');
    }
  }
}

/** The file's real path (keepalived resolves symlinks, or the directory of a missing file). */
function realPath(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    try {
      return resolve(realpathSync(dirname(resolve(file))), basename(file));
    } catch {
      return resolve(file);
    }
  }
}

/** The file's first bytes, or null when it cannot be opened (missing counts as 0). Non-blocking: a FIFO must not stall the daemon. */
function readHead(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const buf = Buffer.alloc(TRACK_FILE_READ_BYTES);
    const n = readSync(fd, buf, 0, buf.length, null);
    return buf.subarray(0, n).toString('latin1');
  } catch {
    return '';
  } finally {
    closeSync(fd);
  }
}
