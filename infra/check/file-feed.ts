/**
 * The track_file values the checker runner's FILE_CHECKs read: infra/track's
 * TrackFiles watcher (inotify on the directory, keepalived's strtol reading,
 * init_file) behind the runner's TrackFileFeed port. keepalived's checker
 * process watches its track_files itself; this feed lets the daemon give the
 * checkers their own watcher, or share the VRRP side's by implementing the
 * same two methods over it.
 */
import type { Logger } from '../../core/logger.js';
import type { TrackFile } from '../../config/model.js';
import { TrackFiles } from '../track/files.js';
import type { TrackFileFeed } from './runner.js';

export interface WatchedTrackFiles extends TrackFileFeed {
  stop(): void;
}

/** Watches `defs` at once (values are read before it returns); stop() ends the watches. */
export function watchTrackFiles(defs: readonly TrackFile[], o: { log: Logger; settleMs?: number }): WatchedTrackFiles {
  const listeners = new Set<(name: string, value: number) => void>();
  const files = new TrackFiles({
    log: o.log,
    ...(o.settleMs !== undefined ? { settleMs: o.settleMs } : {}),
    onValue: (name, value) => {
      for (const l of [...listeners]) l(name, value);
    },
  });
  files.start(defs, { reload: false });
  return {
    value: (name) => files.value(name),
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    stop: () => files.stop(),
  };
}
