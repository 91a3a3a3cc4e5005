/**
 * How a run reads: the timeline (virtual ms, node, instance, what happened)
 * and each expectation as PASS, or FAIL with expected against actual and the
 * time it went wrong; or the same as one JSON document.
 */
import type { Outcome } from './expect.js';
import type { SimResult } from './run.js';

function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((l, i) => (i === 0 ? l : prefix + l))
    .join('\n');
}

export function formatText(r: SimResult, outcomes: readonly Outcome[]): string {
  const nodeWidth = Math.max(4, ...r.timeline.map((l) => l.node.length));
  const instWidth = Math.max(8, ...r.timeline.map((l) => l.instance.length));
  const out: string[] = [`scenario ${r.name}: seed ${r.seed}, until ${r.until} ms`];
  out.push(`${'ms'.padStart(12)}  ${'node'.padEnd(nodeWidth)}  ${'instance'.padEnd(instWidth)}  what`);
  for (const l of r.timeline) out.push(`${l.at.toFixed(3).padStart(12)}  ${l.node.padEnd(nodeWidth)}  ${l.instance.padEnd(instWidth)}  ${l.text}`);
  out.push('');
  for (const o of outcomes) {
    if (o.ok) {
      out.push(`PASS ${o.title}`);
      continue;
    }
    out.push(`FAIL ${o.title}${o.at !== undefined ? ` at ${o.at.toFixed(3)} ms` : ''}`);
    out.push(`  expected: ${indent(o.expected, '            ')}`);
    out.push(`  actual:   ${indent(o.actual, '            ')}`);
  }
  const failed = outcomes.filter((o) => !o.ok).length;
  out.push(`${outcomes.length - failed} of ${outcomes.length} expectation(s) met`);
  return out.join('\n') + '\n';
}

export function formatJson(r: SimResult, outcomes: readonly Outcome[]): string {
  return (
    JSON.stringify(
      {
        scenario: r.name,
        seed: r.seed,
        until: r.until,
        ok: outcomes.every((o) => o.ok),
        timeline: r.timeline,
        workflowRuns: r.runs,
        expectations: outcomes,
      },
      null,
      2,
    ) + '\n'
  );
}
