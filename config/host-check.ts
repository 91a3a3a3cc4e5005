/**
 * Checks of a model against the host it will run on: interfaces, their
 * addresses, the scripts and the users that run them. Pure: the facts come in
 * as plain data (HostFacts), read by the caller (infra/host/host-facts.ts).
 * Severities follow keepalived 2.2.7 as measured in a namespace: it refuses
 * to start only when an instance's interface does not exist (without
 * dynamic_interfaces); for everything else here it warns and carries on.
 */
import type { Severity } from './diagnostics.js';
import type { Script, VipflowConfig } from './model.js';
import { inSubnet, parseCidr, type Cidr } from './net.js';

/** A file as seen by stat(2); `missing` holds the reason when it cannot be read. */
export type FileFact = { missing: string } | { missing?: undefined; mode: number; uid: number; gid: number; isFile: boolean };

/** A user account: its ids and every group it is in. */
export interface UserFact {
  uid: number;
  gid: number;
  groups: readonly number[];
}

export interface HostFacts {
  /** Every interface of the host (its network namespace) with its addresses as ADDR/PREFIX. */
  interfaces: Readonly<Record<string, readonly string[]>>;
  /** stat of an absolute path; undefined: not asked (path checks are skipped). */
  file?: (path: string) => FileFact;
  /** A user by name; undefined result: no such user. Absent: user checks are skipped. */
  user?: (name: string) => UserFact | undefined;
}

/** One host finding: the model path it is about and what to say. */
export interface HostFinding {
  severity: Severity;
  path: string;
  message: string;
}

/** The program a script line runs: its first word, unquoted (keepalived splits the line the same way). */
export function scriptProgram(command: string): string {
  const m = /^\s*(?:"([^"]*)"|'([^']*)'|(\S+))/.exec(command);
  return m?.[1] ?? m?.[2] ?? m?.[3] ?? '';
}

/** Whether `user` may execute a file (root: any execute bit, as execve allows). */
export function executableBy(file: { mode: number; uid: number; gid: number }, user: UserFact): boolean {
  if (user.uid === 0) return (file.mode & 0o111) !== 0;
  if (file.uid === user.uid) return (file.mode & 0o100) !== 0;
  if (file.gid === user.gid || user.groups.includes(file.gid)) return (file.mode & 0o010) !== 0;
  return (file.mode & 0o001) !== 0;
}

/** Every script of the model with its model path and what keepalived calls it. */
function scriptsOf(model: VipflowConfig): { path: string; what: string; script: Script }[] {
  const out: { path: string; what: string; script: Script }[] = [];
  const notify = (owner: string, path: string, n: Record<string, Script | undefined>): void => {
    for (const [k, s] of Object.entries(n)) if (s) out.push({ path: `${path}.notify.${k}`, what: `${owner} notify script`, script: s });
  };
  const g = model.global;
  if (g.notifyFifoScript) out.push({ path: 'global.notifyFifoScript', what: 'notify_fifo_script', script: g.notifyFifoScript });
  if (g.vrrpNotifyFifoScript) out.push({ path: 'global.vrrpNotifyFifoScript', what: 'vrrp_notify_fifo_script', script: g.vrrpNotifyFifoScript });
  model.vrrpInstances.forEach((i, k) => notify(`vrrp_instance ${i.name}`, `vrrpInstances.${k}`, i.notify));
  model.vrrpSyncGroups.forEach((g, k) => notify(`vrrp_sync_group ${g.name}`, `vrrpSyncGroups.${k}`, g.notify));
  model.vrrpScripts.forEach((s, k) => out.push({ path: `vrrpScripts.${k}.script`, what: `vrrp_script ${s.name}`, script: s.script }));
  model.virtualServers.forEach((vs, k) => {
    const p = `virtualServers.${k}`;
    if (vs.quorumUp) out.push({ path: `${p}.quorumUp`, what: 'quorum_up', script: vs.quorumUp });
    if (vs.quorumDown) out.push({ path: `${p}.quorumDown`, what: 'quorum_down', script: vs.quorumDown });
    vs.realServers.forEach((rs, j) => {
      const r = `${p}.realServers.${j}`;
      if (rs.notifyUp) out.push({ path: `${r}.notifyUp`, what: 'notify_up', script: rs.notifyUp });
      if (rs.notifyDown) out.push({ path: `${r}.notifyDown`, what: 'notify_down', script: rs.notifyDown });
      rs.checkers.forEach((c, i) => {
        if (c.type === 'MISC_CHECK') out.push({ path: `${r}.checkers.${i}.miscPath`, what: 'MISC_CHECK misc_path', script: c.miscPath });
      });
    });
  });
  return out;
}

function checkInterfaces(model: VipflowConfig, host: HostFacts, out: HostFinding[]): void {
  const exists = (name: string): boolean => Object.hasOwn(host.interfaces, name);
  // keepalived 2.2.7 stops with "Non-existent interface specified in configuration" for
  // any interface it cannot find, unless dynamic_interfaces lets the instance wait in FAULT.
  const missing: Severity = model.global.dynamicInterfaces ? 'warning' : 'error';
  const missingTail = model.global.dynamicInterfaces
    ? 'the instance stays in FAULT until it appears (dynamic_interfaces)'
    : 'keepalived refuses to start ("Non-existent interface specified in configuration")';
  model.vrrpInstances.forEach((inst, k) => {
    const p = `vrrpInstances.${k}`;
    // keepalived checks every interface the instance names (its own, track_interface, a VIP's dev) the same way.
    inst.trackInterfaces.forEach((t, i) => {
      if (!exists(t.name))
        out.push({
          severity: missing,
          path: `${p}.trackInterfaces.${i}`,
          message: `track_interface ${t.name} of vrrp_instance ${inst.name} does not exist on this host: ${missingTail}`,
        });
    });
    inst.virtualIpaddress.forEach((vip, i) => {
      if (vip.dev !== undefined && !exists(vip.dev)) {
        out.push({
          severity: missing,
          path: `${p}.virtualIpaddress.${i}`,
          message: `interface ${vip.dev} for virtual_ipaddress ${vip.address} does not exist on this host: ${missingTail}`,
        });
      }
    });
    const name = inst.interface ?? model.global.defaultInterface;
    if (name === undefined) return;
    if (!exists(name)) {
      out.push({
        severity: missing,
        path: inst.interface !== undefined ? `${p}.interface` : p,
        message: `interface ${name} for vrrp_instance ${inst.name} does not exist on this host: ${missingTail}`,
      });
      return;
    }
    const known = host.interfaces[name] ?? [];
    const nets = known.map((a) => parseCidr(a)).filter((c): c is Cidr => c !== undefined);
    let owned = inst.virtualIpaddress.length > 0;
    inst.virtualIpaddress.forEach((vip, i) => {
      const onOther = vip.dev !== undefined && vip.dev !== name;
      if (!nets.some((n) => n.address === vip.address)) owned = false;
      if (onOther) return;
      // A host route (/32, /128, or no prefix, which keepalived reads as one) needs no subnet of its own.
      const hostLength = vip.address.includes(':') ? 128 : 32;
      if (vip.prefix === undefined || vip.prefix === hostLength) return;
      if (!nets.some((n) => inSubnet(vip.address, n))) {
        out.push({
          severity: 'warning',
          path: `${p}.virtualIpaddress.${i}`,
          message: `virtual_ipaddress ${vip.address} is outside every subnet of ${name} (${known.join(', ') || 'no addresses'}); keepalived adds it anyway, as /${vip.prefix} of its own`,
        });
      }
    });
    if (inst.priority === 255 && !owned) {
      out.push({
        severity: 'warning',
        path: `${p}.priority`,
        message: `priority 255 means address owner, but ${name} does not hold every VIP of vrrp_instance ${inst.name}: a peer with the addresses would still lose to it`,
      });
    }
  });
}

/**
 * keepalived's default script user: script_user, else keepalived_script when
 * that account exists, else root; but with enable_script_security there is no
 * root fallback (lib/notify.c get_default_script_user: "Unable to set default
 * user keepalived_script for script"), and undefined says so.
 */
function defaultScriptUser(model: VipflowConfig, user: (name: string) => UserFact | undefined): string | undefined {
  if (model.global.scriptUser) return model.global.scriptUser.user;
  if (user('keepalived_script') !== undefined) return 'keepalived_script';
  return model.global.enableScriptSecurity ? undefined : 'root';
}

function checkScripts(model: VipflowConfig, host: HostFacts, out: HostFinding[]): void {
  const user = host.user;
  const globalUser = model.global.scriptUser?.user;
  if (user && globalUser !== undefined && user(globalUser) === undefined) {
    out.push({
      severity: 'warning',
      path: 'global.scriptUser',
      message: `script_user ${globalUser} does not exist on this host: keepalived removes every script without a user of its own`,
    });
  }
  const fallback = user ? defaultScriptUser(model, user) : undefined;
  let unsecured: { path: string; what: string } | undefined;
  for (const { path, what, script } of scriptsOf(model)) {
    const name = script.user ?? fallback;
    const account = user && name !== undefined ? user(name) : undefined;
    if (user && name === undefined) {
      out.push({
        severity: 'warning',
        path,
        message: `${what}: no script_user is set and no keepalived_script account exists, and enable_script_security allows no root fallback: keepalived removes the script ("Unable to set default user keepalived_script for script"), and vipflow does not run it`,
      });
      continue;
    }
    if (user && script.user !== undefined && account === undefined) {
      out.push({ severity: 'warning', path, message: `${what}: user ${script.user} does not exist on this host (keepalived cannot set the script's uid/gid)` });
    }
    const program = scriptProgram(script.command);
    if (!host.file || !program.startsWith('/')) {
      // keepalived finds a bare name on PATH; that counts as a script it will run.
      if (host.file && program !== '') unsecured ??= { path, what };
      continue;
    }
    const fact = host.file(program);
    if (fact.missing === undefined && fact.isFile) unsecured ??= { path, what };
    if (fact.missing !== undefined) {
      out.push({ severity: 'warning', path, message: `${what}: ${program} cannot be accessed (${fact.missing}); keepalived disables it and carries on` });
    } else if (!fact.isFile) {
      out.push({ severity: 'warning', path, message: `${what}: ${program} is not a regular file; keepalived disables it` });
    } else if (account !== undefined && !executableBy(fact, account)) {
      out.push({ severity: 'warning', path, message: `${what}: ${program} is not executable by ${name} (uid ${account.uid}); keepalived disables it` });
    }
  }
  // vrrp.c / check_data.c: keepalived runs the scripts it found anyway, and `keepalived -t` fails on this.
  if (unsecured && !model.global.enableScriptSecurity)
    out.push({
      severity: 'warning',
      path: unsecured.path,
      message: `scripts run (the first: ${unsecured.what}) but enable_script_security is not set: keepalived runs them and logs "SECURITY VIOLATION - scripts are being executed but script_security not enabled", and so does vipflow; set it to refuse scripts that a non-root user could change`,
    });
}

/**
 * The vrrp_scripts keepalived 2.2.7 disables at start on this host: the
 * program is missing, not a file or not executable by the user it runs as,
 * or that user does not exist. Its instances then run as if they did not
 * track it ("track script X not found, ignoring").
 */
export function unrunnableScripts(model: VipflowConfig, host: HostFacts): string[] {
  const { file, user } = host;
  if (!file || !user) return [];
  const fallback = defaultScriptUser(model, user);
  return model.vrrpScripts
    .filter((s) => {
      const name = s.script.user ?? fallback;
      if (name === undefined) return true;
      const account = user(name);
      // keepalived removes a script left without a user by a missing script_user; one naming a missing user of its own is kept.
      if (account === undefined) return s.script.user === undefined;
      const program = scriptProgram(s.script.command);
      if (!program.startsWith('/')) return false;
      const fact = file(program);
      return fact.missing !== undefined || !fact.isFile || !executableBy(fact, account);
    })
    .map((s) => s.name);
}

/** The model without these vrrp_scripts and every track_script entry naming them (what keepalived runs after disabling them). */
export function withoutScripts(model: VipflowConfig, names: readonly string[]): VipflowConfig {
  if (names.length === 0) return model;
  const gone = new Set(names);
  const keep = <T extends { trackScripts: { name: string }[] }>(o: T): T => ({ ...o, trackScripts: o.trackScripts.filter((r) => !gone.has(r.name)) });
  return {
    ...model,
    vrrpScripts: model.vrrpScripts.filter((s) => !gone.has(s.name)),
    vrrpInstances: model.vrrpInstances.map(keep),
    vrrpSyncGroups: model.vrrpSyncGroups.map(keep),
  };
}

/** Every finding about the model on this host. */
export function hostFindings(model: VipflowConfig, host: HostFacts): HostFinding[] {
  const out: HostFinding[] = [];
  checkInterfaces(model, host, out);
  checkScripts(model, host, out);
  return out;
}
