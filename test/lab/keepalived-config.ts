/**
 * Test-local builder for the small keepalived configs the lab tests run.
 * Not a general keepalived.conf writer (config/ owns that).
 */
export interface KeepalivedInstance {
  name: string;
  vrid: number;
  version: 2 | 3;
  priority: number;
  /** Seconds; keepalived accepts fractions for VRRPv3. */
  advertInt: number;
  vips: string[];
  unicastSource?: string;
  unicastPeers?: string[];
}

export function keepalivedConfig(routerId: string, instances: KeepalivedInstance[]): string {
  const blocks = instances.map((i) =>
    [
      `vrrp_instance ${i.name} {`,
      '  state BACKUP',
      '  interface eth0',
      `  virtual_router_id ${i.vrid}`,
      `  version ${i.version}`,
      `  priority ${i.priority}`,
      `  advert_int ${i.advertInt}`,
      ...(i.unicastSource ? [`  unicast_src_ip ${i.unicastSource}`] : []),
      ...(i.unicastPeers ? ['  unicast_peer {', ...i.unicastPeers.map((p) => `    ${p}`), '  }'] : []),
      '  virtual_ipaddress {',
      ...i.vips.map((v) => `    ${v}`),
      '  }',
      '}',
    ].join('\n'),
  );
  return [`global_defs {`, `  router_id ${routerId}`, '}', ...blocks, ''].join('\n');
}
