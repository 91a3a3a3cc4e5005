/**
 * keepalived.conf text with virtual servers, real servers and their checkers,
 * for the checker benchmark (bench/checkers.ts): the same text feeds the
 * in-process runner, the checker child (check-child.ts) and the daemon.
 */

export type BenchCheckerType = 'TCP_CHECK' | 'HTTP_GET';

export interface BenchRealServer {
  address: string;
  port: number;
  type: BenchCheckerType;
  weight?: number;
  /** overrides the timing's connect_timeout for this real server's checker */
  connectTimeoutS?: number;
}

export interface BenchVirtualServer {
  address: string;
  port: number;
  realServers: BenchRealServer[];
}

export interface CheckTiming {
  delayLoopS: number;
  connectTimeoutS: number;
  retry: number;
  delayBeforeRetryS: number;
  /** undefined: keepalived's default (the checker's delay_loop) */
  warmupS?: number;
  /** HTTP_GET's url path */
  path?: string;
}

function checker(type: BenchCheckerType, t: CheckTiming, connectTimeoutS = t.connectTimeoutS): string {
  const common = [
    `            connect_timeout ${connectTimeoutS}`,
    `            retry ${t.retry}`,
    `            delay_before_retry ${t.delayBeforeRetryS}`,
    ...(t.warmupS !== undefined ? [`            warmup ${t.warmupS}`] : []),
  ];
  if (type === 'TCP_CHECK') return ['        TCP_CHECK {', ...common, '        }'].join('\n');
  return [
    '        HTTP_GET {',
    '            url {',
    `                path ${t.path ?? '/'}`,
    '                status_code 200',
    '            }',
    ...common,
    '        }',
  ].join('\n');
}

/** One keepalived.conf: global_defs and the virtual servers, each real server with one checker. */
export function checkConf(virtualServers: readonly BenchVirtualServer[], timing: CheckTiming): string {
  const parts: string[] = ['global_defs {\n    router_id chkbench\n}\n'];
  for (const vs of virtualServers) {
    const rs = vs.realServers.map((r) =>
      [`    real_server ${r.address} ${r.port} {`, `        weight ${r.weight ?? 1}`, checker(r.type, timing, r.connectTimeoutS), '    }'].join('\n'),
    );
    parts.push(
      [
        `virtual_server ${vs.address} ${vs.port} {`,
        `    delay_loop ${timing.delayLoopS}`,
        '    lb_algo rr',
        '    lb_kind NAT',
        '    protocol TCP',
        ...rs,
        '}',
        '',
      ].join('\n'),
    );
  }
  return parts.join('');
}

/** The n-th address (0-based) of a /16 block given as its first two bytes, skipping .0 and .255 host bytes. */
export function nthAddress(prefix: string, n: number): string {
  const third = Math.floor(n / 254);
  if (third > 255) throw new Error(`address ${n} does not fit ${prefix}.0.0/16`);
  return `${prefix}.${third}.${(n % 254) + 1}`;
}

/**
 * `servers` real servers spread over `virtualServers` virtual servers (as
 * evenly as they divide), real server k at rsAddress(k):rsPort(k) with type(k).
 */
export function spread(
  virtualServers: number,
  servers: number,
  vsAddress: (i: number) => string,
  rs: (k: number) => BenchRealServer,
  vsPort = 80,
): BenchVirtualServer[] {
  const out: BenchVirtualServer[] = [];
  let k = 0;
  for (let i = 0; i < virtualServers; i++) {
    const n = Math.floor(servers / virtualServers) + (i < servers % virtualServers ? 1 : 0);
    const realServers: BenchRealServer[] = [];
    for (let j = 0; j < n; j++) realServers.push(rs(k++));
    out.push({ address: vsAddress(i), port: vsPort, realServers });
  }
  return out;
}
