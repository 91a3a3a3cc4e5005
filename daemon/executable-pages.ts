/**
 * The node binary's pages that only start-up used, handed back. Starting Node
 * and loading the daemon touch some 40 MiB of the executable (the dynamic
 * linker's relocations, V8's snapshot and builtins, ICU data, the module
 * loader and compiler); a running daemon keeps touching about a quarter of it,
 * yet every page touched once stays mapped and counted in the RSS until memory
 * pressure reclaims it. Releasing the mappings drops only this process's
 * page-table entries: the pages stay in the page cache, and those still in use
 * come back at their next touch with a minor fault.
 *
 * Only the executable: the kernel refuses writes to a running program's file
 * (ETXTBSY), so what comes back is what was there; a shared library can be
 * rewritten in place. Only private mappings that are not writable, hold no
 * anonymous page (a page written since mapping, as relocated data is: releasing
 * it would bring back the file's bytes) and are not locked.
 */
import { readFile } from 'node:fs/promises';
import { readlinkSync } from 'node:fs';
import { releaseMappedPages } from '../wire/socket/index.js';

export interface MappingRange {
  start: bigint;
  length: bigint;
  residentKiB: number;
}

const HEADER = /^([0-9a-f]+)-([0-9a-f]+) ([-rwxsp]{4}) \S+ \S+ \S+ *(.*)$/;
const KIB_FIELD = /^(Rss|Anonymous|Locked):\s+(\d+) kB$/;
/** The start of a mapping's block: its address range. */
const NEXT_HEADER = /^[0-9a-f]+-[0-9a-f]+ /;

/**
 * The mappings of `executable` in /proc/PID/smaps text that
 * {@link releaseExecutablePages} may release. Only the executable's blocks are
 * parsed (found by its path), since smaps lists every V8 heap page too and
 * this runs on the event loop.
 */
export function releasableMappings(smaps: string, executable: string): MappingRange[] {
  const found: MappingRange[] = [];
  const needle = ` ${executable}\n`;
  for (let at = smaps.indexOf(needle); at >= 0; at = smaps.indexOf(needle, at + needle.length)) {
    const lineStart = smaps.lastIndexOf('\n', at) + 1;
    const header = HEADER.exec(smaps.slice(lineStart, at + needle.length - 1));
    if (!header || header[4] !== executable) continue;
    const start = BigInt(`0x${header[1]!}`);
    const length = BigInt(`0x${header[2]!}`) - start;
    const perms = header[3]!;
    let residentKiB = 0;
    // Unknown until read: a mapping whose fields are missing is never released.
    let anonymousKiB = -1;
    let lockedKiB = -1;
    let lineAt = at + needle.length;
    while (lineAt < smaps.length) {
      const end = smaps.indexOf('\n', lineAt);
      const line = smaps.slice(lineAt, end < 0 ? smaps.length : end);
      if (NEXT_HEADER.test(line)) break;
      const field = KIB_FIELD.exec(line);
      if (field) {
        const kib = Number(field[2]);
        if (field[1] === 'Rss') residentKiB = kib;
        else if (field[1] === 'Anonymous') anonymousKiB = kib;
        else lockedKiB = kib;
      }
      if (end < 0) break;
      lineAt = end + 1;
    }
    if (perms[1] === '-' && perms[3] === 'p' && anonymousKiB === 0 && lockedKiB === 0 && residentKiB > 0 && length > 0n)
      found.push({ start, length, residentKiB });
  }
  return found;
}

export interface ExecutablePagesDeps {
  smaps: () => Promise<string>;
  executable: string;
  /** Releases the ranges in order until one fails (off the event loop). */
  release: (ranges: readonly MappingRange[]) => Promise<{ released: number; error: string | null }>;
}

export interface ExecutablePagesResult {
  /** What smaps showed resident in the released mappings before. */
  releasedKiB: number;
  mappings: number;
  /** The first failure's errno name, e.g. EINVAL; the mappings before it were released. */
  failed: string | null;
  /** Time on the event loop: finding the mappings in smaps (the read and the madvise calls run on the thread pool). */
  loopMs: number;
}

/** /proc/self/exe is the file the kernel maps, symlinks resolved, as smaps names it. */
const hostDeps = (): ExecutablePagesDeps => ({
  smaps: () => readFile('/proc/self/smaps', 'utf8'),
  executable: readlinkSync('/proc/self/exe'),
  release: releaseMappedPages,
});

/** Releases the executable's resident pages ({@link releasableMappings}). */
export async function releaseExecutablePages(deps: ExecutablePagesDeps = hostDeps()): Promise<ExecutablePagesResult> {
  const smaps = await deps.smaps();
  const started = performance.now();
  const ranges = releasableMappings(smaps, deps.executable);
  const loopMs = Math.round((performance.now() - started) * 100) / 100;
  const { released, error } = await deps.release(ranges);
  const releasedKiB = ranges.slice(0, released).reduce((n, r) => n + r.residentKiB, 0);
  return { releasedKiB, mappings: released, failed: error, loopMs };
}
