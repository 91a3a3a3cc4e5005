/**
 * Statements to a tree of keyword nodes. A `{` (on the keyword's line or on
 * a later one, as keepalived allows) opens a block owned by the statement
 * just before it; `}` closes it. Which keywords take a block is the keyword
 * tables' business (config/keepalived/keywords.ts); here braces only have to
 * balance, and every imbalance is reported where it happens.
 */
import type { DiagnosticSink } from '../diagnostics.js';
import type { Statement, Token } from './reader.js';

export interface Node {
  keyword: Token;
  args: Token[];
  /** present when a `{ ... }` followed the statement */
  block?: Node[];
  open?: Token;
}

function isBrace(s: Statement, brace: '{' | '}'): boolean {
  return s.length === 1 && !s[0]!.quoted && s[0]!.text === brace;
}

export function buildTree(statements: readonly Statement[], sink: DiagnosticSink): Node[] {
  const root: Node[] = [];
  // A frame per open brace; `owner` undefined for a stray `{` whose contents stay in the parent.
  const stack: { owner?: Node; children: Node[]; open: Token }[] = [];
  let children = root;
  let last: Node | undefined;
  for (const s of statements) {
    if (isBrace(s, '{')) {
      const open = s[0]!;
      if (last && !last.block) {
        last.block = [];
        last.open = open;
        stack.push({ owner: last, children, open });
        children = last.block;
      } else {
        sink.error(open, "unexpected '{' (no keyword before it opens a block)", { text: '{' });
        stack.push({ children, open });
      }
      last = undefined;
      continue;
    }
    if (isBrace(s, '}')) {
      const frame = stack.pop();
      if (!frame) sink.error(s[0]!, "extra '}' with no block to close", { text: '}' });
      else children = frame.children;
      last = undefined;
      continue;
    }
    const node: Node = { keyword: s[0]!, args: s.slice(1) };
    children.push(node);
    last = node;
  }
  for (let k = stack.length - 1; k >= 0; k--) {
    const f = stack[k]!;
    const what = f.owner ? `'${f.owner.keyword.text}'` : 'block';
    sink.error(f.open, `missing '}': ${what} opened here is never closed`, { text: '{' });
  }
  return root;
}
