/** Freed malloc memory handed back to the kernel (wire/native/src/heap_trim.c). */
import { nativeWire } from './native.js';

/** glibc's malloc_trim(0) for every arena: true when some memory was released. */
export function returnFreedHeap(): boolean {
  return nativeWire().mallocTrim();
}
