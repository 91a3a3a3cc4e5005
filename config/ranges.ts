/**
 * Range errors in keepalived's terms: a user who wrote `priority 300` wants
 * the bounds keepalived itself enforces (vrrp_parser.c and vrrp.c of the
 * version vipflow follows), not a schema library's "expected number to be
 * <=255". Both loaders (keepalived.conf and vipflow.config.ts) ask here
 * before falling back to the validator's text.
 */

/** The keepalived release whose bounds these are. */
export const KEEPALIVED_VERSION = '2.2.7';

export interface RangeIssue {
  code: string;
  path: readonly PropertyKey[];
  input?: unknown;
}

/** The VRRP version an instance runs, for advert_int's version-dependent bounds (undefined: not known). */
export type VersionOf = (instanceIndex: number) => 2 | 3 | undefined;

/** keepalived's accepted values for advert_int, by VRRP version. */
export function advertIntBounds(version: 2 | 3 | undefined): string {
  if (version === 2) return 'whole seconds 1 to 255 for VRRPv2';
  if (version === 3) return '0.01 to 40.95 seconds in steps of 0.01 for VRRPv3';
  return '1 to 255 whole seconds for VRRPv2, 0.01 to 40.95 seconds for VRRPv3';
}

/** Bounds of a vrrp_instance field, as keepalived states them; undefined for fields without a known range. */
function instanceBounds(field: string, version: 2 | 3 | undefined): string | undefined {
  switch (field) {
    case 'priority':
      // vrrp_prio_handler accepts 1..VRRP_PRIO_OWNER; 255 also makes the instance start as MASTER.
      return '1 to 255 (255 is for the address owner)';
    case 'virtualRouterId':
      return '1 to 255';
    case 'advertInt':
      return advertIntBounds(version);
    case 'preemptDelay':
      return '0 to 1000 seconds';
    case 'unicastTtl':
      return '0 to 255';
    default:
      return undefined;
  }
}

/**
 * "keepalived 2.2.7 accepts ..." for a too_big / too_small issue on a field
 * keepalived bounds; undefined for any other issue.
 */
export function keepalivedRange(issue: RangeIssue, versionOf: VersionOf = () => undefined): string | undefined {
  if (issue.code !== 'too_big' && issue.code !== 'too_small') return undefined;
  const p = issue.path.map(String);
  let bounds: string | undefined;
  if (p.length === 3 && p[0] === 'vrrpInstances') bounds = instanceBounds(p[2]!, versionOf(Number(p[1])));
  else if (p.length === 3 && p[0] === 'vrrpScripts' && p[2] === 'weight') bounds = '-253 to 253';
  else if (p.at(-1) === 'weight' && p.at(-3)?.startsWith('track')) bounds = '-254 to 254';
  return bounds === undefined ? undefined : `keepalived ${KEEPALIVED_VERSION} accepts ${bounds}`;
}

/** The VRRP version of each instance in an unvalidated model (raw keepalived mapping or a typed config's input). */
export function rawVersionOf(input: unknown): VersionOf {
  const rec = (x: unknown): Record<string, unknown> | undefined => (x !== null && typeof x === 'object' ? (x as Record<string, unknown>) : undefined);
  const root = rec(input);
  const global = rec(root?.global)?.vrrpVersion;
  const instances = root?.vrrpInstances;
  return (k) => {
    const inst = Array.isArray(instances) ? rec(instances[k]) : undefined;
    // keepalived runs IPv6 instances as VRRPv3 whatever vrrp_version says.
    const vips = inst?.virtualIpaddress;
    const first = Array.isArray(vips) ? rec(vips[0])?.address : undefined;
    if (inst?.family === 6 || (typeof first === 'string' && first.includes(':'))) return 3;
    const v = inst?.version ?? global ?? 2;
    return v === 2 || v === 3 ? v : undefined;
  };
}
