/** CPU time and resident memory of processes, from /proc (Linux). */
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every mainstream Linux build. */
const CLOCK_TICKS_PER_S = 100;

/** utime + stime of a process in ms, or null when it is gone. */
export function cpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(rest[11]) + Number(rest[12])) * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return null;
  }
}

/** VmRSS in KiB, or null when the process is gone. */
export function rssKiB(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export interface ResidentKiB {
  rss: number;
  /** Of rss: anonymous memory, and pages of mapped files (such as the node binary). */
  anon: number;
  file: number;
}

/** VmRSS, RssAnon and RssFile in KiB from one read of /proc/<pid>/status, or null when the process is gone. */
export function residentKiB(pid: number): ResidentKiB | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    const [rss, anon, file] = [field('VmRSS'), field('RssAnon'), field('RssFile')];
    return rss && anon && file ? { rss: Number(rss[1]), anon: Number(anon[1]), file: Number(file[1]) } : null;
  } catch {
    return null;
  }
}

/** Sum over processes; null when any of them is gone (a figure for part of a daemon would mislead). */
export function sum(pids: readonly number[], read: (pid: number) => number | null): number | null {
  let total = 0;
  for (const p of pids) {
    const v = read(p);
    if (v === null) return null;
    total += v;
  }
  return total;
}

/**
 * Time on CPU in ms, summed over every thread of a process, from
 * /proc/<pid>/task/<tid>/schedstat (ns, the scheduler's own accounting), or
 * null when the process is gone. utime + stime count in 10 ms ticks, so a
 * daemon using 1 ms a second reads 0 or 1 tick per 10 s window; this reads
 * nanoseconds. A thread that exits inside the window takes its time with it
 * (Node's and keepalived's threads live as long as the process).
 */
export function onCpuMs(pid: number): number | null {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  let ns = 0;
  for (const tid of tids) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return ns / 1e6;
}
