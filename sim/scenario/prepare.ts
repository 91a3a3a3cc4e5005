/**
 * From a checked scenario to what the engine runs: each node's configuration
 * model and its interfaces. Inline configurations are parsed here (pure); a
 * configuration file is read by the caller (cli/simulate.ts) and handed in
 * as a model, so the engine never touches the disk.
 */
import { defineConfig } from '../../config/define.js';
import { loadKeepalivedText } from '../../config/keepalived/index.js';
import type { VipflowConfig, VipflowConfigInput } from '../../config/model.js';
import type { ScriptHealth } from '../../actors/track-script/index.js';
import type { GroupMembers, Workflow } from '../../workflows/define.js';
import type { HostInterfaceSpec } from '../host.js';
import type { Scenario } from './model.js';

export interface PreparedNode {
  name: string;
  model: VipflowConfig;
  interfaces: HostInterfaceSpec[];
  scripts: Record<string, ScriptHealth>;
}

export interface PreparedScenario {
  scenario: Scenario;
  nodes: PreparedNode[];
  /** The configuration each `reload` fault loads, by its index in `scenario.faults`. */
  reloads: ReadonlyMap<number, VipflowConfig>;
  /** What the worker runs: the scenario's workflows module and every node's configured workflows. */
  workflows: Workflow[];
  /** Sync group members across the nodes, for workflows triggered `on.group`. */
  groups: GroupMembers;
}

/** A configuration given inline: keepalived.conf text or a typed configuration. Never throws. */
export function inlineConfig(source: {
  keepalived?: string | undefined;
  vipflow?: VipflowConfigInput | undefined;
}): { ok: true; model: VipflowConfig } | { ok: false; error: string } {
  if (source.keepalived !== undefined) {
    const r = loadKeepalivedText(source.keepalived, 'inline keepalived.conf');
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    if (!r.model || errors.length > 0) return { ok: false, error: errors.map((d) => `line ${d.line}: ${d.message}`).join('; ') || 'rejected' };
    return { ok: true, model: r.model };
  }
  try {
    return { ok: true, model: defineConfig(source.vipflow ?? {}) };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * A node's interfaces: those the scenario gives, else every interface its
 * instances run on, each on segment `lan0`. An interface without an address
 * gets 198.18.S.N/24 (S the segment's index, N the node's, from 1) and
 * fe80::N/64, so every node on one segment shares a subnet.
 */
export function nodeInterfaces(scenario: Scenario, nodeIndex: number, model: VipflowConfig, segments: string[]): HostInterfaceSpec[] {
  const name = Object.keys(scenario.nodes)[nodeIndex]!;
  const given = scenario.nodes[name]!.interfaces;
  const names = given ? Object.keys(given) : [...new Set(model.vrrpInstances.flatMap((i) => (i.interface === undefined ? [] : [i.interface])))];
  return names.map((iface) => {
    const spec = given?.[iface];
    const segment = spec?.segment ?? 'lan0';
    if (!segments.includes(segment)) segments.push(segment);
    const address = spec?.address;
    const addresses =
      address === undefined
        ? [`198.18.${segments.indexOf(segment)}.${nodeIndex + 1}/24`, `fe80::${(nodeIndex + 1).toString(16)}/64`]
        : typeof address === 'string'
          ? [address]
          : address;
    return { name: iface, segment, addresses };
  });
}

/** Every vrrp_script of the model at `up`, then the scenario's own start values. */
export function startScripts(model: VipflowConfig, given: Readonly<Record<string, 'up' | 'down'>> | undefined): Record<string, ScriptHealth> {
  const scripts: Record<string, ScriptHealth> = {};
  for (const s of model.vrrpScripts) scripts[s.name] = 'up';
  return { ...scripts, ...given };
}

/** Names in the faults and expectations that no node, instance or interface has; every one as a message. */
export function checkReferences(scenario: Scenario, nodes: readonly PreparedNode[]): string[] {
  const errors: string[] = [];
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const target = (where: string, ref: string) => {
    const [node, instance] = ref.split('/', 2) as [string, string | undefined];
    const n = byName.get(node);
    if (!n) errors.push(`${where}: no node '${node}' (nodes: ${[...byName.keys()].join(', ')})`);
    else if (instance !== undefined && !n.model.vrrpInstances.some((i) => i.name === instance))
      errors.push(`${where}: node '${node}' has no instance '${instance}'`);
  };
  if (scenario.segments)
    for (const n of nodes)
      for (const i of n.interfaces)
        if (!scenario.segments.includes(i.segment ?? 'lan0')) errors.push(`nodes.${n.name}.interfaces.${i.name}: segment '${i.segment}' is not in segments`);
  for (const n of nodes)
    for (const inst of n.model.vrrpInstances)
      if (inst.interface !== undefined && !n.interfaces.some((i) => i.name === inst.interface))
        errors.push(`nodes.${n.name}: instance ${inst.name} runs on ${inst.interface}, which the node has not`);
  scenario.faults.forEach((f, i) => {
    const where = `faults.${i} (${f.do})`;
    if ('node' in f) target(where, f.node);
    if ((f.do === 'link-down' || f.do === 'link-up') && f.interface !== undefined) {
      const n = byName.get(f.node);
      if (n && !n.interfaces.some((x) => x.name === f.interface)) errors.push(`${where}: node '${f.node}' has no interface '${f.interface}'`);
    }
    if (f.do === 'partition') for (const g of f.groups) for (const n of g) target(where, n);
    if (f.do === 'advert-loss') for (const n of [f.from, f.to]) if (n !== undefined) target(where, n);
    if (f.do === 'script') {
      const n = byName.get(f.node);
      if (n && !n.model.vrrpScripts.some((x) => x.name === f.script)) errors.push(`${where}: node '${f.node}' defines no vrrp_script '${f.script}'`);
    }
  });
  scenario.expect.forEach((e, i) => {
    if (e.expect === 'state') target(`expect.${i} (state)`, e.node);
    if (e.expect === 'workflow-runs' && e.node !== undefined) target(`expect.${i} (workflow-runs)`, e.node);
  });
  return errors;
}
