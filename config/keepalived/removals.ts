/**
 * What keepalived 2.2.7 drops from a parsed configuration before it runs,
 * done to the raw model the same way and with a warning each, so a file
 * keepalived starts with also starts here and means the same thing:
 *
 * - a vrrp_script without `script` is removed ("No script set for
 *   vrrp_script X - removing", vrrp_parser.c vrrp_vscript_end_handler), and
 *   so are a track_file without `file` and a vrrp_track_process without
 *   `process`;
 * - a track_script / track_file / track_process entry naming nothing defined
 *   is dropped ("track script X not found, ignoring...", vrrp_track.c);
 * - a sync-group member that is no instance, or is already in an earlier
 *   group, is dropped, and a group left without members is removed
 *   (vrrp_sync.c vrrp_sync_set_group, vrrp.c vrrp_complete_init);
 * - a virtual_server fwmark's `protocol` is ignored (a warning only: the load
 *   balancer's fwmark services match every protocol already).
 *
 * Runs between the keyword tables and the schema, so the semantic checks see
 * the configuration keepalived would run.
 */
import { didYouMean } from '../diagnostics.js';
import { dropOtherFamilyAddresses, dropOwnInterfaceTracking } from './instance-removals.js';
import { settleVirtualServers } from './lvs-entries.js';
import { DEFINITIONS_BEFORE } from './track-entries.js';
import type { Mapper, Raw } from './mapper.js';
import type { Token } from './reader.js';

const TRACK_KINDS = [
  { key: 'trackScripts', keyword: 'track_script', defined: 'vrrpScripts', definedBy: 'vrrp_script' },
  { key: 'trackFiles', keyword: 'track_file', defined: 'trackFiles', definedBy: 'track_file' },
  { key: 'trackProcesses', keyword: 'track_process', defined: 'trackProcesses', definedBy: 'vrrp_track_process' },
] as const;

const COMPLETE: Record<string, string> = { vrrpScripts: 'script', trackFiles: 'file', trackProcesses: 'process' };

function firstIndexByName(defs: Raw[], field: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  defs.forEach((d, i) => {
    if (!out.has(String(d.name)) && (field === undefined || d[field] !== undefined)) out.set(String(d.name), i);
  });
  return out;
}

function list(raw: Raw, key: string): Raw[] {
  const v = raw[key];
  return Array.isArray(v) ? (v as Raw[]) : [];
}

function names(raw: Raw, key: string): string[] {
  return list(raw, key).map((x) => String(x.name));
}

/** Applies keepalived's removals to `raw` in place; each one is a warning at the removed text. */
export function applyKeepalivedRemovals(m: Mapper, raw: Raw): void {
  const where = (path: string): Token | undefined => m.origins.get(path)?.token;
  const warn = (path: string, text: string, message: string, hint: { hint?: string } = {}): void => {
    const tok = where(path);
    if (tok) m.sink.warning(tok, message, { text, ...hint });
  };

  // Where each tracked object was first defined, before anything is removed: a reference counts only a definition above it.
  // A definition keepalived drops as incomplete (no script, file or process) never existed for the lookup.
  const firstDefined = new Map(TRACK_KINDS.map((k) => [k.defined, firstIndexByName(list(raw, k.defined), COMPLETE[k.defined])]));

  // keepalived finds tracked objects by name from the top, so a later definition of a name is never used ("script is not used").
  for (const kind of TRACK_KINDS) {
    const defs = list(raw, kind.defined);
    const first = firstDefined.get(kind.defined)!;
    const field = COMPLETE[kind.defined]!;
    const isLater = (d: Raw, i: number): boolean => d[field] !== undefined && first.get(String(d.name)) !== i;
    if (!defs.some(isLater)) continue;
    defs.forEach((d, i) => {
      if (isLater(d, i))
        warn(
          `${kind.defined}.${i}`,
          String(d.name),
          `${kind.definedBy} '${String(d.name)}' is already defined above; this one is never used, as in keepalived, which finds the first`,
        );
    });
    raw[kind.defined] = defs.filter((d, i) => !isLater(d, i));
  }

  // Scripts first: an instance tracking a removed script then finds nothing, as in keepalived.
  const scripts = list(raw, 'vrrpScripts');
  if (scripts.some((s) => s.script === undefined)) {
    scripts.forEach((s, i) => {
      if (s.script === undefined)
        warn(
          `vrrpScripts.${i}`,
          String(s.name),
          `vrrp_script '${String(s.name)}' has no 'script'; removed (keepalived: "No script set for vrrp_script - removing")`,
        );
    });
    raw.vrrpScripts = scripts.filter((s) => s.script !== undefined);
  }

  // track_file_end_handler / vrrp_tprocess_end_handler: a tracker without its file or process is dropped, and then found by nobody.
  for (const [key, field, keyword, says] of [
    ['trackFiles', 'file', 'track_file', 'No file set for track_file - ignoring'],
    ['trackProcesses', 'process', 'vrrp_track_process', 'track process process name not specified'],
  ] as const) {
    const trackers = list(raw, key);
    if (!trackers.some((x) => x[field] === undefined)) continue;
    trackers.forEach((x, i) => {
      if (x[field] === undefined) warn(`${key}.${i}`, String(x.name), `${keyword} '${String(x.name)}' has no '${field}'; removed (keepalived: "${says}")`);
    });
    raw[key] = trackers.filter((x) => x[field] !== undefined);
  }

  const owners: [string, Raw[]][] = [
    ['vrrpInstances', list(raw, 'vrrpInstances')],
    ['vrrpSyncGroups', list(raw, 'vrrpSyncGroups')],
  ];
  for (const kind of TRACK_KINDS) {
    const defined = names(raw, kind.defined);
    const known = new Set(defined);
    for (const [ownerKey, objs] of owners) {
      objs.forEach((o, k) => {
        const refs = list(o, kind.key);
        const definedAbove = (r: Raw): boolean => {
          const before = (r as Record<symbol, number | undefined>)[DEFINITIONS_BEFORE];
          const at = firstDefined.get(kind.defined)!.get(String(r.name));
          return at !== undefined && (before === undefined || at < before);
        };
        if (refs.every((r) => known.has(String(r.name)) && definedAbove(r))) return;
        refs.forEach((r, i) => {
          const name = String(r.name);
          if (known.has(name) && !definedAbove(r))
            warn(
              `${ownerKey}.${k}.${kind.key}.${i}`,
              name,
              `${kind.keyword} '${name}' of ${String(o.name)} names a ${kind.definedBy} defined further down; ignored, as keepalived does: it looks the name up while reading, so a later definition is "not found, ignoring"`,
            );
          else if (!known.has(name))
            warn(
              `${ownerKey}.${k}.${kind.key}.${i}`,
              name,
              `${kind.keyword} '${name}' of ${String(o.name)} is not defined by any ${kind.definedBy} block; ignored (keepalived: "not found, ignoring")`,
              didYouMean(name, defined),
            );
        });
        o[kind.key] = refs.filter((r) => known.has(String(r.name)) && definedAbove(r));
      });
    }
  }

  settleSyncGroups(m, raw, where);

  dropOtherFamilyAddresses(m, raw, where);
  dropOwnInterfaceTracking(m, raw, where);
  settleVirtualServers(m, raw, where);

  // check_parser.c: a fwmark service matches whatever the mark covers, so keepalived drops its protocol with a warning.
  list(raw, 'virtualServers').forEach((vs, k) => {
    const target = vs.target as Raw | undefined;
    if (target?.kind === 'fwmark' && vs.protocol !== undefined)
      warn(
        `virtualServers.${k}.protocol`,
        'protocol',
        `'protocol' is ignored for virtual_server fwmark ${String(target.fwmark)} (keepalived: "protocol specified for fwmark - protocol will be ignored")`,
      );
  });
}

function settleSyncGroups(m: Mapper, raw: Raw, where: (path: string) => Token | undefined): void {
  const groups = list(raw, 'vrrpSyncGroups');
  if (groups.length === 0) return;
  const instances = names(raw, 'vrrpInstances');
  const defined = new Set(instances);
  const owner = new Map<string, string>();
  const kept: Raw[] = [];
  groups.forEach((g, k) => {
    const gname = String(g.name);
    const members = Array.isArray(g.group) ? (g.group as string[]) : [];
    const out: string[] = [];
    members.forEach((member, i) => {
      const tok = where(`vrrpSyncGroups.${k}.group.${i}`);
      if (!defined.has(member)) {
        if (tok)
          m.sink.warning(tok, `vrrp_sync_group ${gname} names '${member}', which is no vrrp_instance; ignored (keepalived: "doesn't exist - ignoring")`, {
            text: member,
            ...didYouMean(member, instances),
          });
        return;
      }
      if (owner.has(member)) {
        if (tok)
          m.sink.warning(
            tok,
            `vrrp_instance '${member}' is already in vrrp_sync_group ${owner.get(member)!}; ignored in ${gname} (keepalived: "cannot exist in more than one sync group")`,
            { text: member },
          );
        return;
      }
      owner.set(member, gname);
      if (tok) m.at(out, out.length, tok, 'group');
      out.push(member);
    });
    const self = where(`vrrpSyncGroups.${k}`);
    if (out.length === 0) {
      if (self)
        m.sink.warning(self, `vrrp_sync_group '${gname}' has no members; removed (keepalived: "Sync group has no virtual router(s). removing")`, {
          text: gname,
        });
      return;
    }
    if (out.length === 1 && self)
      m.sink.warning(self, `vrrp_sync_group '${gname}' has only 1 member (keepalived warns: "this probably isn't what you want")`, { text: gname });
    g.group = out;
    kept.push(g);
  });
  raw.vrrpSyncGroups = kept;
}
