/**
 * Checks a scenario's expectations against a run (run.ts). Each outcome says
 * what was expected and what happened, with the virtual time it went wrong,
 * so a failing plan reads as a diff.
 */
import type { NodeStatus } from '../lan.js';
import type { Expectation } from './model.js';
import type { SimResult, TimelineLine } from './run.js';

export interface Outcome {
  /** One line naming the expectation, e.g. `single-master vrid 51 (grace 1000 ms)`. */
  title: string;
  ok: boolean;
  expected: string;
  actual: string;
  /** Virtual ms where it first went wrong. */
  at?: number;
}

const ms = (n: number) => `${n.toFixed(3)} ms`;

/** A timeline line without its time, as sequence patterns match it. */
export function lineText(l: TimelineLine): string {
  return `${l.node}${l.instance === '-' ? '' : ` ${l.instance}`} ${l.text}`;
}

function words(text: string): string {
  return text
    .split(/\s+/)
    .filter((w) => w !== '')
    .join(' ');
}

/** Whether `line` holds `pattern` from a word's start to a word's end (punctuation may follow). */
function matches(pattern: string, line: string): boolean {
  for (let i = line.indexOf(pattern); i >= 0; i = line.indexOf(pattern, i + 1)) {
    const before = i === 0 ? ' ' : line[i - 1]!;
    const after = line[i + pattern.length] ?? ' ';
    if (before === ' ' && /[\s,;:)]/.test(after)) return true;
  }
  return false;
}

function stateAt(r: SimResult, ref: string, at: number): NodeStatus {
  let state: NodeStatus = 'initialize';
  for (const t of r.transitions) {
    if (t.at > at) break;
    if (t.ref === ref) state = t.to;
  }
  return state;
}

function resolveRef(r: SimResult, target: string): string | string[] {
  if (target.includes('/')) return r.refs.includes(target) ? target : [];
  const mine = r.refs.filter((x) => x.startsWith(`${target}/`));
  return mine.length === 1 ? mine[0]! : mine;
}

function singleMaster(r: SimResult, e: Extract<Expectation, { expect: 'single-master' }>): Outcome {
  const title = `single-master${e.vrid !== undefined ? ` vrid ${e.vrid}` : ''} (grace ${e.grace} ms, after ${e.after} ms)`;
  const masters = new Map<string, Set<string>>();
  const since = new Map<string, number>();
  const bad: { key: string; from: number; to: number; who: string[] }[] = [];
  const close = (key: string, at: number, who: string[]) => {
    const from = since.get(key);
    if (from === undefined) return;
    since.delete(key);
    if (at - from > e.grace && at > e.after) bad.push({ key, from, to: at, who });
  };
  for (const t of r.transitions) {
    if (e.vrid !== undefined && t.vrid !== e.vrid) continue;
    const key = `VRID ${t.vrid} on ${t.segment} (IPv${t.family})`;
    let set = masters.get(key);
    if (!set) masters.set(key, (set = new Set()));
    const before = [...set];
    if (t.to === 'master') set.add(t.ref);
    else set.delete(t.ref);
    if (set.size > 1 && !since.has(key)) since.set(key, t.at);
    if (set.size <= 1) close(key, t.at, before);
  }
  for (const [key, set] of masters) if (since.has(key)) close(key, r.until, [...set]);
  bad.sort((a, b) => a.from - b.from);
  const first = bad[0];
  if (!first) return { title, ok: true, expected: 'at most one Master per VRID and segment', actual: 'never more than one beyond the grace' };
  return {
    title,
    ok: false,
    expected: `at most one Master for ${first.key} (overlaps up to ${e.grace} ms)`,
    actual: `${first.who.join(' and ')} Master together from ${ms(first.from)} to ${ms(first.to)} (${ms(first.to - first.from)})${bad.length > 1 ? `; ${bad.length - 1} more such period(s)` : ''}`,
    at: first.from,
  };
}

function vipHeld(r: SimResult, e: Extract<Expectation, { expect: 'vip-held' }>): Outcome {
  const title = `vip-held ${e.address} within ${e.within} ms`;
  const expected = `${e.address} held by a node, never unheld longer than ${e.within} ms${e.after ? ` after ${ms(e.after)}` : ''}`;
  if (!r.vipEverHeld(e.address)) return { title, ok: false, expected, actual: `no node ever held ${e.address}`, at: 0 };
  const gaps = r.vipGaps(e.address, e.after).filter((g) => g.to - g.from > e.within);
  const g = gaps[0];
  if (!g) return { title, ok: true, expected, actual: 'held throughout' };
  return { title, ok: false, expected, actual: `no node held it from ${ms(g.from)} to ${ms(g.to)} (${ms(g.to - g.from)})`, at: g.from };
}

function workflowRuns(r: SimResult, e: Extract<Expectation, { expect: 'workflow-runs' }>): Outcome {
  const title = `workflow-runs ${e.workflow}${e.node ? ` on ${e.node}` : ''}`;
  const runs = r.runs.filter((x) => x.workflow === e.workflow && (e.node === undefined || x.node === e.node));
  const expected = `${e.times} run(s) of ${e.workflow}${e.node ? ` for events of ${e.node}` : ''}`;
  const list = runs.map((x) => `${x.node}/${x.instance} at ${ms(x.at)} ${x.status}`).join(', ');
  if (runs.length === e.times) return { title, ok: true, expected, actual: `${runs.length} run(s)${list ? `: ${list}` : ''}` };
  const at = runs.length > e.times ? runs[e.times]!.at : undefined;
  return { title, ok: false, expected, actual: `${runs.length} run(s)${list ? `: ${list}` : ''}`, ...(at !== undefined ? { at } : {}) };
}

function sequence(r: SimResult, e: Extract<Expectation, { expect: 'sequence' }>): Outcome {
  const title = `sequence of ${e.events.length} event(s)`;
  const lines = r.timeline.map((l) => ({ l, w: words(lineText(l)) }));
  let pos = 0;
  let lastAt = 0;
  for (const [k, pattern] of e.events.entries()) {
    const p = words(pattern);
    const found = lines.findIndex((x, i) => i >= pos && matches(p, x.w));
    if (found < 0) {
      const anywhere = lines.find((x) => matches(p, x.w));
      return {
        title,
        ok: false,
        expected: e.events.map((x, i) => `${i === k ? '>' : ' '} ${x}`).join('\n'),
        actual:
          `matched ${k} of ${e.events.length}; no line matches '${pattern}' after ${ms(lastAt)}` +
          (anywhere ? ` (one does earlier, at ${ms(anywhere.l.at)}: ${lineText(anywhere.l)})` : '') +
          (lines
            .slice(pos, pos + 5)
            .map((x) => `\n  then: ${ms(x.l.at)} ${lineText(x.l)}`)
            .join('') || '\n  then: (end of the timeline)'),
        at: lastAt,
      };
    }
    pos = found + 1;
    lastAt = lines[found]!.l.at;
  }
  return { title, ok: true, expected: e.events.join(' … '), actual: `all matched, the last at ${ms(lastAt)}` };
}

function state(r: SimResult, e: Extract<Expectation, { expect: 'state' }>): Outcome {
  const title = `state ${e.node} at ${e.at} ms`;
  const ref = resolveRef(r, e.node);
  if (typeof ref !== 'string')
    return {
      title,
      ok: false,
      expected: `${e.node} ${e.state}`,
      actual: ref.length === 0 ? `no instance ${e.node}` : `${e.node} runs ${ref.join(', ')}: name one`,
      at: e.at,
    };
  const s = stateAt(r, ref, e.at);
  return {
    title,
    ok: s === e.state,
    expected: `${ref} ${e.state} at ${ms(e.at)}`,
    actual: `${ref} ${s} at ${ms(e.at)}`,
    ...(s === e.state ? {} : { at: e.at }),
  };
}

/** Every expectation's outcome, in the scenario's order. */
export function checkExpectations(r: SimResult, expectations: readonly Expectation[]): Outcome[] {
  return expectations.map((e) => {
    switch (e.expect) {
      case 'single-master':
        return singleMaster(r, e);
      case 'vip-held':
        return vipHeld(r, e);
      case 'workflow-runs':
        return workflowRuns(r, e);
      case 'sequence':
        return sequence(r, e);
      case 'state':
        return state(r, e);
    }
  });
}
