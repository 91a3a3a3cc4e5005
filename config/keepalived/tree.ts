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

/**
 * Builds the tree statement by statement. `onTopLevel` receives each
 * top-level node once it is complete (its block closed, or the next
 * top-level statement began), so a caller can map and drop it at once.
 */
export class TreeBuilder {
  readonly root: Node[] = [];
  // A frame per open brace; `owner` undefined for a stray `{` whose contents stay in the parent.
  private readonly stack: { owner?: Node; children: Node[]; open: Token }[] = [];
  private children: Node[];
  private last: Node | undefined;
  private pendingRoot: Node | undefined;

  constructor(
    private readonly sink: DiagnosticSink,
    private readonly onTopLevel?: (node: Node) => void,
  ) {
    this.children = this.root;
  }

  /** Takes ownership of `s` (its array becomes a node's argument list). */
  push(s: Statement): void {
    if (isBrace(s, '{')) {
      const open = s[0]!;
      const last = this.last;
      if (last && !last.block) {
        last.block = [];
        last.open = open;
        this.stack.push({ owner: last, children: this.children, open });
        this.children = last.block;
      } else {
        this.sink.error(open, "unexpected '{' (no keyword before it opens a block)", { text: '{' });
        this.stack.push({ children: this.children, open });
      }
      this.last = undefined;
      return;
    }
    if (isBrace(s, '}')) {
      const frame = this.stack.pop();
      if (!frame) this.sink.error(s[0]!, "extra '}' with no block to close", { text: '}' });
      else this.children = frame.children;
      this.last = undefined;
      if (this.stack.length === 0) this.flushRoot();
      return;
    }
    // The statement array becomes the argument list: one array fewer per line.
    const node: Node = { keyword: (s as Token[]).shift()!, args: s };
    if (this.stack.length === 0) {
      this.flushRoot();
      this.pendingRoot = node;
    }
    if (!this.onTopLevel || this.stack.length > 0) this.children.push(node);
    this.last = node;
  }

  /** Ends input: reports unclosed blocks, hands over the last top-level node. */
  finish(): Node[] {
    for (let k = this.stack.length - 1; k >= 0; k--) {
      const f = this.stack[k]!;
      const what = f.owner ? `'${f.owner.keyword.text}'` : 'block';
      this.sink.error(f.open, `missing '}': ${what} opened here is never closed`, { text: '{' });
    }
    this.flushRoot();
    return this.root;
  }

  private flushRoot(): void {
    const n = this.pendingRoot;
    this.pendingRoot = undefined;
    if (n && this.onTopLevel) this.onTopLevel(n);
  }
}

export function buildTree(statements: readonly Statement[], sink: DiagnosticSink): Node[] {
  const b = new TreeBuilder(sink);
  for (const s of statements) b.push(s);
  return b.finish();
}
