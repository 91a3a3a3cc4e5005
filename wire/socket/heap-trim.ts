/** Memory handed back to the kernel (wire/native/src/heap_trim.c). */
import { nativeWire } from './native.js';

/** glibc's malloc_trim(0) for every arena: true when some memory was released. */
export function returnFreedHeap(): boolean {
  return nativeWire().mallocTrim();
}

/**
 * Drops this process's page-table entries for page-aligned [start, start + length)
 * (madvise MADV_DONTNEED): null, or an errno name. Only for a clean, read-only,
 * private file mapping, whose pages come back unchanged from the page cache;
 * daemon/executable-pages.ts picks those.
 */
export function releaseMappedPages(start: bigint, length: bigint): string | null {
  return nativeWire().releaseMappedPages(start, length);
}
