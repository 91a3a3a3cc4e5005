/**
 * Schema validation of virtual servers, remembered between loads: a raw
 * virtual server that is the same data as the one at its position in the
 * last load gets that load's validated object back without validating again.
 * Validation is a pure function of the raw block (no global default reaches a
 * virtual server), and a 2,000 / 37,000 configuration spends most of its
 * schema time there, so a reload that changes one real server validates one
 * virtual server. The configuration worker keeps one across reloads.
 */
import { sameData } from '../core/same-data.js';
import { VirtualServerSchema, type VirtualServer } from './model.js';

export interface SchemaIssue {
  path: PropertyKey[];
  message: string;
  code: string;
  input?: unknown;
}

export class VirtualServerReuse {
  private raws: readonly unknown[] = [];
  private parsed: readonly (VirtualServer | undefined)[] = [];

  /** Every virtual server validated (or reused), or the issues with paths from the model root. */
  validate(raws: readonly unknown[]): { ok: true; value: VirtualServer[] } | { ok: false; issues: SchemaIssue[] } {
    const value: (VirtualServer | undefined)[] = [];
    const issues: SchemaIssue[] = [];
    raws.forEach((raw, i) => {
      const before = this.parsed[i];
      if (before !== undefined && sameData(raw, this.raws[i])) {
        value.push(before);
        return;
      }
      const r = VirtualServerSchema.safeParse(raw);
      if (r.success) value.push(r.data);
      else {
        value.push(undefined);
        for (const issue of r.error.issues) issues.push({ ...issue, path: ['virtualServers', i, ...issue.path] });
      }
    });
    this.raws = raws;
    this.parsed = value;
    if (issues.length > 0) return { ok: false, issues };
    return { ok: true, value: value as VirtualServer[] };
  }
}
