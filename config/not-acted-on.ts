/**
 * Which load warnings name a keyword vipflow parses but does not act on yet
 * (the keyword tables' "does not act on it yet", routes and rules kept but
 * not managed). The daemon keeps this list for `vipflow status`, so a running
 * node shows what of its file it ignores, not only its start-up log.
 */
import type { Diagnostic } from './diagnostics.js';

const NOT_ACTED_ON = /vipflow does not (act on|manage)/;

/** `keyword (file:line)` for each not-acted-on warning, in file order. */
export function notActedOn(diagnostics: readonly Diagnostic[]): string[] {
  return diagnostics
    .filter((d) => d.severity === 'warning' && NOT_ACTED_ON.test(d.message))
    .map((d) => `${d.text ?? /'([^']+)'/.exec(d.message)?.[1] ?? '?'} (${d.file}:${d.line})`);
}
