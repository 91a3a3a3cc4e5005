/**
 * Telling a knock-on error from a real one: `virtual_router_id abc` is
 * reported where it is written, and the schema then finds the instance
 * without a virtual_router_id. The second message adds nothing, and a user
 * fixing errors top-down would chase it, so it is left out.
 */
import type { Diagnostic } from '../diagnostics.js';
import type { OriginLookup, Raw } from './mapper.js';

/** Start lines of every top-level block in `file` (instances, scripts, virtual servers...), sorted. */
function blockStarts(raw: Raw, origins: OriginLookup, file: string): number[] {
  const lines: number[] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (!Array.isArray(value)) continue;
    value.forEach((_, i) => {
      const t = origins.get(`${key}.${i}`)?.token;
      if (t && t.file === file) lines.push(t.line);
    });
  }
  return lines.sort((a, b) => a - b);
}

/**
 * Whether `keyword` is the one that sets model field `field` (its snake_case
 * name): the same word, or a block's prefixed form of it (auth_type sets
 * type, auth_pass sets password).
 */
function sets(keyword: string, field: string): boolean {
  if (keyword === field || keyword.endsWith(`_${field}`)) return true;
  const last = keyword.split('_').at(-1) ?? '';
  return last.length >= 3 && field.startsWith(last);
}

/**
 * Whether an error about the keyword that sets `field` (snake_case) was
 * already reported inside the block that starts at `block`: its value was
 * invalid or missing, or the keyword was misspelled and the hint names it.
 */
export function alreadyReported(
  reported: readonly Diagnostic[],
  raw: Raw,
  origins: OriginLookup,
  block: { file: string; line: number },
  field: string,
): boolean {
  const next = blockStarts(raw, origins, block.file).find((l) => l > block.line) ?? Infinity;
  const names = (text: string | undefined): string[] => [...(text ?? '').matchAll(/'([a-z0-9_]+)'/g)].map((m) => m[1]!);
  return reported.some(
    (d) =>
      d.severity === 'error' &&
      d.file === block.file &&
      d.line >= block.line &&
      d.line < next &&
      [...names(d.message), ...names(d.hint)].some((k) => sets(k, field)),
  );
}
