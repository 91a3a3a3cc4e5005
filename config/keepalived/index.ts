/**
 * keepalived.conf → validated model. Stages: reader (text → statements),
 * tree (braces → blocks), keyword tables (blocks → raw model), schema
 * (raw → model, with defaults), semantic checks. Every stage reports into one
 * diagnostic list; nothing throws on bad input. A model is returned only when
 * there is no error.
 */
import { DiagnosticSink, type Diagnostic, type SourcePos } from '../diagnostics.js';
import { checkModel, snake, type CheckOptions } from '../check.js';
import { ConfigSchema, type VipflowConfig } from '../model.js';
import type { SchemaIssue, VirtualServerReuse } from '../virtual-server-reuse.js';
import { keepalivedRange, rawVersionOf, type VersionOf } from '../ranges.js';
import { Mapper, type FieldOrigin, type OriginLookup, type Raw } from './mapper.js';
import { KEYWORD_HOMES, ROOT } from './keywords.js';
import { alreadyReported } from './knock-on.js';
import { KeepalivedReader, type ReadOptions } from './reader.js';
import { applyKeepalivedRemovals } from './removals.js';
import { warnUnactedFields } from './unacted-fields.js';
import { TreeBuilder } from './tree.js';

export type { ReadOptions } from './reader.js';
export type { FieldOrigin, OriginLookup } from './mapper.js';

export interface KeepalivedLoadOptions extends ReadOptions {
  /** validated virtual servers kept from the last load (a reload validates only the changed ones) */
  reuse?: VirtualServerReuse;
  /** passed to the semantic checks */
  interfaceAddresses?: CheckOptions['interfaceAddresses'];
  lbBackend?: CheckOptions['lbBackend'];
  /** the host to check the config against (undefined: no host checks) */
  host?: CheckOptions['host'];
}

export interface KeepalivedLoadResult {
  model?: VipflowConfig;
  diagnostics: Diagnostic[];
  /** where each model field came from (dot-joined model path → source) */
  origins: OriginLookup;
  /** the raw model before validation (for tools; undefined when the file was unreadable) */
  raw?: Raw;
}

function valueAt(raw: Raw, path: readonly PropertyKey[]): unknown {
  let v: unknown = raw;
  for (const seg of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[seg] : undefined;
  return v;
}

/** Maps schema issues to positions through the origins recorded while mapping. */
function schemaDiagnostics(
  issues: readonly { path: PropertyKey[]; message: string; code: string; input?: unknown }[],
  origins: OriginLookup,
  file: string,
  sink: DiagnosticSink,
  versionOf?: VersionOf,
  raw: Raw = {},
): void {
  const before = sink.items;
  for (const issue of issues) {
    const segs = issue.path.map(String);
    let origin: FieldOrigin | undefined;
    let depth = segs.length;
    for (; depth > 0 && !origin; depth--) origin = origins.get(segs.slice(0, depth).join('.'));
    const exact = origin !== undefined && depth + 1 === segs.length;
    const pos: SourcePos = origin?.token ?? { file, line: 0, column: 0 };
    const last = segs.at(-1) ?? '';
    // zod reports an absent enum as an invalid option: absent is what matters here.
    const absent = (issue.code === 'invalid_type' || issue.code === 'invalid_value') && valueAt(raw, issue.path) === undefined;
    if (!exact && absent) {
      if (origin && alreadyReported(before, raw, origins, origin.token, snake(last))) continue;
      // A block without a name (authentication { }) is named by its keyword alone.
      const owner = origin ? (origin.token.text === origin.keyword ? origin.keyword : `${origin.keyword} ${origin.token.text}`) : 'configuration';
      sink.error(pos, `${owner}: missing '${snake(last)}'`, { text: origin?.token.text ?? '' });
    } else if (origin) {
      const bounds = exact ? keepalivedRange(issue, versionOf) : undefined;
      sink.error(pos, `invalid value '${origin.token.text}' for '${origin.keyword}': ${bounds ?? issue.message}`, { text: origin.token.text });
    } else {
      sink.error(pos, `${segs.join('.') || 'configuration'}: ${issue.message}`);
    }
  }
}

/** The schema over the raw model; with `reuse`, the virtual servers apart through it. */
function validate(raw: Raw, reuse: VirtualServerReuse | undefined): { success: true; data: VipflowConfig } | { success: false; issues: SchemaIssue[] } {
  if (reuse === undefined || !Array.isArray(raw.virtualServers)) {
    const r = ConfigSchema.safeParse(raw);
    return r.success ? { success: true, data: r.data } : { success: false, issues: r.error.issues };
  }
  const rest = ConfigSchema.safeParse({ ...raw, virtualServers: [] });
  const vss = reuse.validate(raw.virtualServers as unknown[]);
  const issues = [...(rest.success ? [] : rest.error.issues), ...(vss.ok ? [] : vss.issues)];
  if (!rest.success || !vss.ok) return { success: false, issues };
  return { success: true, data: { ...rest.data, virtualServers: vss.value } };
}

/** Reader → tree → keyword tables, one top-level block at a time. */
class Pipeline {
  readonly sink = new DiagnosticSink();
  readonly raw: Raw = {};
  readonly mapper = new Mapper(this.sink, this.raw, KEYWORD_HOMES);
  private readonly tree = new TreeBuilder(this.sink, (node) => this.mapper.walk([node], ROOT, this.raw, 'the top level'));
  readonly reader: KeepalivedReader;

  constructor(options: ReadOptions) {
    this.reader = new KeepalivedReader(this.sink, { ...options, onStatement: (s) => this.tree.push(s) });
  }

  /** Schema validation and semantic checks after the last statement. */
  finish(file: string, options: KeepalivedLoadOptions): KeepalivedLoadResult {
    this.tree.finish();
    const { sink, mapper, raw } = this;
    applyKeepalivedRemovals(mapper, raw);
    warnUnactedFields(mapper, raw);
    const parsed = validate(raw, options.reuse);
    if (!parsed.success) {
      schemaDiagnostics(parsed.issues, mapper.origins, file, sink, rawVersionOf(raw), raw);
      return { diagnostics: sink.items, origins: mapper.origins, raw };
    }
    sink.add(
      checkModel(parsed.data, {
        origins: mapper.origins,
        file,
        interfaceAddresses: options.interfaceAddresses,
        host: options.host,
        lbBackend: options.lbBackend,
      }),
    );
    const out: KeepalivedLoadResult = { diagnostics: sink.items, origins: mapper.origins, raw };
    if (sink.errorCount === 0) out.model = parsed.data;
    return out;
  }
}

/** Loads a keepalived.conf file and its includes. */
export function loadKeepalivedFile(path: string, options: KeepalivedLoadOptions = {}): KeepalivedLoadResult & { unreadable?: boolean } {
  const p = new Pipeline(options);
  if (!p.reader.readPath(path)) return { diagnostics: p.sink.items, origins: { get: () => undefined }, unreadable: true };
  return p.finish(path, options);
}

/** Loads keepalived.conf text; `file` names it in diagnostics and anchors relative includes. */
export function loadKeepalivedText(text: string, file = 'keepalived.conf', options: KeepalivedLoadOptions = {}): KeepalivedLoadResult {
  const p = new Pipeline(options);
  p.reader.readText(text, file);
  return p.finish(file, options);
}
