/**
 * Deep equality for plain data (objects, arrays, primitives), as configs and
 * plans are. node:util's isDeepStrictEqual also handles prototypes, Maps,
 * cycles and more, and costs ~6x as much: a reload compares tens of thousands
 * of small objects.
 */
export function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameData(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = Object.keys(ra);
  if (keys.length !== Object.keys(rb).length) return false;
  for (const k of keys) if (!Object.hasOwn(rb, k) || !sameData(ra[k], rb[k])) return false;
  return true;
}
