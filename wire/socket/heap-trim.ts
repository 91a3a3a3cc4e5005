/** Memory handed back to the kernel (wire/native/src/heap_trim.c). */
import { nativeWire } from './native.js';

/** glibc's malloc_trim(0) for every arena: true when some memory was released. */
export function returnFreedHeap(): boolean {
  return nativeWire().mallocTrim();
}

/**
 * Drops this process's page-table entries for each page-aligned range
 * (madvise MADV_DONTNEED), on libuv's thread pool, in order until one fails:
 * how many were released, and the failure's errno name. Only for clean,
 * read-only, private file mappings, whose pages come back unchanged from the
 * page cache; daemon/executable-pages.ts picks those.
 */
export function releaseMappedPages(ranges: readonly { start: bigint; length: bigint }[]): Promise<{ released: number; error: string | null }> {
  return nativeWire().releaseMappedPages(BigUint64Array.from(ranges.flatMap((r) => [r.start, r.length])));
}
