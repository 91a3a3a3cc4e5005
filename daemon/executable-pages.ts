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

interface Mapping extends MappingRange {
  perms: string;
  path: string;
  anonymousKiB: number;
  lockedKiB: number;
}

const HEADER = /^([0-9a-f]+)-([0-9a-f]+) ([-rwxsp]{4}) \S+ \S+ \S+ *(.*)$/;
const KIB_FIELD = /^(Rss|Anonymous|Locked):\s+(\d+) kB$/;

/** The mappings of `executable` in /proc/PID/smaps text that {@link releaseExecutablePages} may release. */
export function releasableMappings(smaps: string, executable: string): MappingRange[] {
  const mappings: Mapping[] = [];
  let current: Mapping | null = null;
  for (const line of smaps.split('\n')) {
    const header = HEADER.exec(line);
    if (header) {
      const start = BigInt(`0x${header[1]!}`);
      current = {
        start,
        length: BigInt(`0x${header[2]!}`) - start,
        perms: header[3]!,
        path: header[4]!,
        residentKiB: 0,
        // Unknown until read: a mapping whose fields are missing is never released.
        anonymousKiB: -1,
        lockedKiB: -1,
      };
      mappings.push(current);
      continue;
    }
    const field = current && KIB_FIELD.exec(line);
    if (!current || !field) continue;
    const kib = Number(field[2]);
    if (field[1] === 'Rss') current.residentKiB = kib;
    else if (field[1] === 'Anonymous') current.anonymousKiB = kib;
    else current.lockedKiB = kib;
  }
  return mappings
    .filter(
      (m) =>
        m.path === executable && m.perms[1] === '-' && m.perms[3] === 'p' && m.anonymousKiB === 0 && m.lockedKiB === 0 && m.residentKiB > 0 && m.length > 0n,
    )
    .map(({ start, length, residentKiB }) => ({ start, length, residentKiB }));
}

export interface ExecutablePagesDeps {
  smaps: () => Promise<string>;
  executable: string;
  release: (start: bigint, length: bigint) => string | null;
}

export interface ExecutablePagesResult {
  /** What smaps showed resident in the released mappings before. */
  releasedKiB: number;
  mappings: number;
  /** The first failure's errno name, e.g. EINVAL; the mappings before it were released. */
  failed: string | null;
}

/** /proc/self/exe is the file the kernel maps, symlinks resolved, as smaps names it. */
const hostDeps = (): ExecutablePagesDeps => ({
  smaps: () => readFile('/proc/self/smaps', 'utf8'),
  executable: readlinkSync('/proc/self/exe'),
  release: releaseMappedPages,
});

/** Releases the executable's resident pages ({@link releasableMappings}); smaps is read off the loop. */
export async function releaseExecutablePages(deps: ExecutablePagesDeps = hostDeps()): Promise<ExecutablePagesResult> {
  const ranges = releasableMappings(await deps.smaps(), deps.executable);
  let releasedKiB = 0;
  let mappings = 0;
  for (const r of ranges) {
    const failed = deps.release(r.start, r.length);
    if (failed !== null) return { releasedKiB, mappings, failed };
    releasedKiB += r.residentKiB;
    mappings++;
  }
  return { releasedKiB, mappings, failed: null };
}
