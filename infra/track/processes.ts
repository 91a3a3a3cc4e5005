/**
 * Counts the processes each vrrp_track_process matches and runs keepalived's
 * quorum rules on the counts (actors/track-process).
 *
 * keepalived hears every fork, exec, comm change and exit from the kernel's
 * netlink proc connector. vipflow cannot open that socket without its native
 * addon, so it scans /proc instead:
 * - a full scan (every /proc/PID/stat, plus /proc/PID/cmdline when some tracked
 *   process needs the full command) every `scanMs` (default 1000 ms), which
 *   sees new processes up to that late;
 * - a check of only the counted PIDs (kill(pid, 0), one syscall each) every
 *   `checkMs` (default 100 ms), which sees a counted process end within that
 *   time and then rescans at once. A process left a zombie by a parent that
 *   does not reap it stops counting at the next full scan.
 * A process is taken as forked (fork_delay applies) when its parent is a counted
 * process of the same tracker; anything else started by exec and counts at once,
 * as in keepalived. Within one scan, new processes are counted before ended ones
 * are removed, so a restart seen in a single scan does not flap the quorum.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Logger } from '../../core/logger.js';
import { processExists } from '../../core/process-exists.js';
import type { TrackProcess } from '../../config/model.js';
import { matchesProcess, processMatcher, ProcessQuorum, type ProcessMatcher, type ProcessSample, type QuorumClock } from '../../actors/track-process/index.js';

export interface TrackProcessStatus {
  name: string;
  count: number;
  quorum: boolean;
  pids: number[];
}

export interface TrackProcessesOptions {
  log: Logger;
  onQuorum: (name: string, up: boolean) => void;
  scanMs?: number;
  checkMs?: number;
  clock?: QuorumClock;
  /** The process table; /proc by default (tests pass a fake one). */
  readProcesses?: (needCmdline: boolean) => ProcessSample[];
  /** Whether a PID still exists; kill(pid, 0) by default. */
  alive?: (pid: number) => boolean;
}

interface Entry {
  def: TrackProcess;
  matcher: ProcessMatcher;
  pids: Set<number>;
  quorum: ProcessQuorum;
}

const realClock: QuorumClock = { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (id) => clearTimeout(id as NodeJS.Timeout) };

export class TrackProcesses {
  private readonly entries = new Map<string, Entry>();
  private readonly log: Logger;
  private scanTimer: NodeJS.Timeout | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly o: TrackProcessesOptions) {
    this.log = o.log.child({ component: 'track-process' });
  }

  /** Starts tracking `defs` (names already tracked are left alone); the first count is taken before it returns. */
  start(defs: readonly TrackProcess[]): void {
    const fresh = defs.filter((d) => !this.entries.has(d.name));
    if (fresh.length === 0) return;
    const matchers = fresh.map((def) => ({ def, matcher: processMatcher(def) }));
    const table = this.read(matchers.some((m) => m.matcher.fullCommand));
    for (const { def, matcher } of matchers) {
      const pids = new Set(table.filter((p) => matchesProcess(matcher, p)).map((p) => p.pid));
      const quorumMax = def.quorumMax ?? Number.MAX_SAFE_INTEGER;
      // keepalived: quorum_max 0 alone means "up while none runs".
      const quorum = def.quorumMax === 0 ? 0 : def.quorum;
      const settings = { quorum, quorumMax, forkDelayMs: ms(def.forkDelay ?? def.delay), terminateDelayMs: ms(def.terminateDelay ?? def.delay) };
      const entry: Entry = {
        def,
        matcher,
        pids,
        quorum: new ProcessQuorum(settings, pids.size, this.o.clock ?? realClock, (up) => {
          this.log.info({ trackProcess: def.name, count: entry.pids.size, quorum: up }, up ? 'track process quorum gained' : 'track process quorum lost');
          try {
            this.o.onQuorum(def.name, up);
          } catch (err) {
            this.log.error({ err, trackProcess: def.name }, 'track process listener failed');
          }
        }),
      };
      this.entries.set(def.name, entry);
      this.log.info({ trackProcess: def.name, count: pids.size, quorum: entry.quorum.state.haveQuorum }, 'tracking process');
    }
    if (!this.scanTimer) {
      this.scanTimer = setInterval(() => this.scan(), this.o.scanMs ?? 1000);
      this.checkTimer = setInterval(() => this.check(), this.o.checkMs ?? 100);
      this.scanTimer.unref();
      this.checkTimer.unref();
    }
  }

  /** Stops tracking these names (a reload changed them); start() counts them again. */
  forget(names: readonly string[]): void {
    for (const name of names) {
      this.entries.get(name)?.quorum.stop();
      this.entries.delete(name);
    }
  }

  quorum(name: string): boolean | undefined {
    return this.entries.get(name)?.quorum.state.haveQuorum;
  }

  status(): TrackProcessStatus[] {
    return [...this.entries.values()].map((e) => ({
      name: e.def.name,
      count: e.pids.size,
      quorum: e.quorum.state.haveQuorum,
      pids: [...e.pids].sort((a, b) => a - b),
    }));
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.scanTimer);
    clearInterval(this.checkTimer);
    for (const e of this.entries.values()) e.quorum.stop();
  }

  /** One full scan: counts every tracker again and feeds the differences to its quorum. */
  scan(): void {
    if (this.stopped || this.entries.size === 0) return;
    const table = this.read([...this.entries.values()].some((e) => e.matcher.fullCommand));
    for (const e of this.entries.values()) {
      const now = new Map(table.filter((p) => matchesProcess(e.matcher, p)).map((p) => [p.pid, p]));
      const before = e.pids;
      const added = [...now.values()].filter((p) => !before.has(p.pid));
      const gone = [...before].filter((pid) => !now.has(pid));
      if (added.length === 0 && gone.length === 0) continue;
      for (const p of added) {
        e.pids.add(p.pid);
        e.quorum.added(before.has(p.ppid));
      }
      for (const pid of gone) {
        e.pids.delete(pid);
        e.quorum.removed();
      }
    }
  }

  private check(): void {
    const alive = this.o.alive ?? processExists;
    for (const e of this.entries.values()) {
      for (const pid of e.pids) {
        if (!alive(pid)) return this.scan();
      }
    }
  }

  private read(needCmdline: boolean): ProcessSample[] {
    try {
      return (this.o.readProcesses ?? readProc)(needCmdline);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'cannot read the process table');
      return [];
    }
  }
}

function ms(seconds: number | undefined): number {
  return seconds === undefined ? 0 : Math.round(seconds * 1000);
}

/** comm, state and ppid from /proc/PID/stat ("pid (comm) S ppid ..."; comm may hold spaces and parentheses). */
function parseStat(text: string): { comm: string; state: string; ppid: number } | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const rest = text.slice(close + 2).split(' ');
  return { comm: text.slice(open + 1, close), state: rest[0] ?? '', ppid: Number(rest[1] ?? 0) };
}

function readProc(needCmdline: boolean): ProcessSample[] {
  const out: ProcessSample[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^[1-9][0-9]*$/.test(name)) continue;
    try {
      const st = parseStat(readFileSync(`/proc/${name}/stat`, 'latin1'));
      if (!st) continue;
      const cmdline = needCmdline ? readFileSync(`/proc/${name}/cmdline`, 'latin1') : '';
      out.push({ pid: Number(name), ppid: st.ppid, comm: st.comm, cmdline, zombie: st.state === 'Z' });
    } catch {
      // ended while we looked
    }
  }
  return out;
}
