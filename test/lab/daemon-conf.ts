/**
 * Test-local keepalived.conf text for the daemon lab tests: the same text
 * is given to vipflow and to keepalived, so both read one configuration.
 */
export interface InstanceConf {
  name?: string;
  vrid: number;
  version: 2 | 3;
  priority: number;
  /** Seconds (fractions only for v3). */
  advertInt: number;
  vips: string[];
  /** virtual_ipaddress_excluded: follow the Master, not listed in adverts. */
  excludedVips?: string[];
  state?: 'MASTER' | 'BACKUP';
  nopreempt?: boolean;
  /** v2 PASS authentication. */
  password?: string;
  unicastSource?: string;
  unicastPeers?: string[];
  interface?: string;
  /** More lines inside the instance block (vipflow's own keywords, e.g. handover_drain). */
  extra?: string[];
}

export function instanceBlock(i: InstanceConf): string {
  return [
    `vrrp_instance ${i.name ?? `VI_${i.vrid}`} {`,
    `  state ${i.state ?? 'BACKUP'}`,
    `  interface ${i.interface ?? 'eth0'}`,
    `  virtual_router_id ${i.vrid}`,
    `  version ${i.version}`,
    `  priority ${i.priority}`,
    `  advert_int ${i.advertInt}`,
    ...(i.nopreempt ? ['  nopreempt'] : []),
    ...(i.password !== undefined ? ['  authentication {', '    auth_type PASS', `    auth_pass ${i.password}`, '  }'] : []),
    ...(i.unicastSource ? [`  unicast_src_ip ${i.unicastSource}`] : []),
    ...(i.unicastPeers ? ['  unicast_peer {', ...i.unicastPeers.map((p) => `    ${p}`), '  }'] : []),
    '  virtual_ipaddress {',
    ...i.vips.map((v) => `    ${v}`),
    '  }',
    ...(i.excludedVips ? ['  virtual_ipaddress_excluded {', ...i.excludedVips.map((v) => `    ${v}`), '  }'] : []),
    ...(i.extra ?? []).map((l) => `  ${l}`),
    '}',
  ].join('\n');
}

/** A whole file: global_defs with a router_id, then the instances. */
export function confFile(routerId: string, instances: InstanceConf[]): string {
  return ['global_defs {', `  router_id ${routerId}`, '}', ...instances.map(instanceBlock), ''].join('\n');
}
