/**
 * keepalived.conf → validated model. Stages: reader (text → statements),
 * tree (braces → blocks), keyword tables (blocks → raw model), schema
 * (raw → model, with defaults), semantic checks. Every stage reports into one
 * diagnostic list; nothing throws on bad input. A model is returned only when
 * there is no error.
 */
import { DiagnosticSink, type Diagnostic, type SourcePos } from '../diagnostics.js';
import { checkModel, type CheckOptions } from '../check.js';
import { ConfigSchema, type VipflowConfig } from '../model.js';
import { Mapper, type FieldOrigin, type Raw } from './mapper.js';
import { ROOT } from './keywords.js';
import { KeepalivedReader, type ReadOptions } from './reader.js';
import { buildTree } from './tree.js';

export type { ReadOptions } from './reader.js';
export type { FieldOrigin } from './mapper.js';

export interface KeepalivedLoadOptions extends ReadOptions {
  /** passed to the semantic checks */
  interfaceAddresses?: CheckOptions['interfaceAddresses'];
}

export interface KeepalivedLoadResult {
  model?: VipflowConfig;
  diagnostics: Diagnostic[];
  /** where each model field came from (dot-joined model path → source) */
  origins: ReadonlyMap<string, FieldOrigin>;
  /** the raw model before validation (for tools; undefined when the file was unreadable) */
  raw?: Raw;
}

function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Maps schema issues to positions through the origins recorded while mapping. */
function schemaDiagnostics(issues: readonly { path: PropertyKey[]; message: string; code: string; input?: unknown }[], origins: ReadonlyMap<string, FieldOrigin>, file: string, sink: DiagnosticSink): void {
  for (const issue of issues) {
    const segs = issue.path.map(String);
    let origin: FieldOrigin | undefined;
    let depth = segs.length;
    for (; depth > 0 && !origin; depth--) origin = origins.get(segs.slice(0, depth).join('.'));
    const exact = origin !== undefined && depth + 1 === segs.length;
    const pos: SourcePos = origin?.pos ?? { file, line: 0, column: 0 };
    const last = segs.at(-1) ?? '';
    if (!exact && issue.code === 'invalid_type' && issue.input === undefined) {
      const owner = origin ? `${origin.keyword} ${origin.text}` : 'configuration';
      sink.error(pos, `${owner}: missing '${snake(last)}'`, { text: origin?.text ?? '' });
    } else if (origin) {
      sink.error(pos, `invalid value '${origin.text}' for '${origin.keyword}': ${issue.message}`, { text: origin.text });
    } else {
      sink.error(pos, `${segs.join('.') || 'configuration'}: ${issue.message}`);
    }
  }
}

function finish(reader: KeepalivedReader, sink: DiagnosticSink, file: string, options: KeepalivedLoadOptions): KeepalivedLoadResult {
  const tree = buildTree(reader.statements, sink);
  const mapper = new Mapper(sink);
  const raw: Raw = {};
  mapper.walk(tree, ROOT, raw, '', 'the top level');
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    schemaDiagnostics(parsed.error.issues, mapper.origins, file, sink);
    return { diagnostics: sink.items, origins: mapper.origins, raw };
  }
  const checks = checkModel(parsed.data, { origins: mapper.origins, file, interfaceAddresses: options.interfaceAddresses });
  sink.items.push(...checks);
  const ok = sink.errorCount === 0;
  return ok ? { model: parsed.data, diagnostics: sink.items, origins: mapper.origins, raw } : { diagnostics: sink.items, origins: mapper.origins, raw };
}

/** Loads a keepalived.conf file and its includes. */
export function loadKeepalivedFile(path: string, options: KeepalivedLoadOptions = {}): KeepalivedLoadResult & { unreadable?: boolean } {
  const sink = new DiagnosticSink();
  const reader = new KeepalivedReader(sink, options);
  if (!reader.readPath(path)) return { diagnostics: sink.items, origins: new Map(), unreadable: true };
  return finish(reader, sink, path, options);
}

/** Loads keepalived.conf text; `file` names it in diagnostics and anchors relative includes. */
export function loadKeepalivedText(text: string, file = 'keepalived.conf', options: KeepalivedLoadOptions = {}): KeepalivedLoadResult {
  const sink = new DiagnosticSink();
  const reader = new KeepalivedReader(sink, options);
  reader.readText(text, file);
  return finish(reader, sink, file, options);
}
